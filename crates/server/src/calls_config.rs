//! The `[calls]` section of the configuration: call timers, ICE servers and TURN credentials,
//! and the built-in TURN relay. Environment variables are `PARLEY_CALLS_<KEY>` (e.g.
//! `PARLEY_CALLS_TURN_SECRET`); flags and [`crate::Config::set`] take `calls.<key>`.

use crate::config_error::ConfigError;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CallsConfig {
    /// Calls on or off (off: `call.*` frames answer an error and `/v1/calls/ice` 404).
    pub enabled: bool,
    /// A call nobody answers ends with `no_answer` after this many seconds.
    pub no_answer_secs: u64,
    /// A party whose heartbeat (`call.heartbeat`, sent every few seconds) stops is dropped
    /// after this many seconds; a call left with one party ends.
    pub heartbeat_grace_secs: u64,
    /// The longest call, seconds (it then ends `completed`); TURN credentials outlive it.
    pub max_call_secs: u64,
    /// People in one call (the conversation's members; a mesh: at most 4).
    pub max_parties: usize,
    /// Lifetime of the TURN credentials `GET /v1/calls/ice` hands out, seconds (longer than
    /// `max_call_secs`).
    pub credential_ttl_secs: u64,
    /// The TURN REST shared secret (at least 32 bytes). Unset: a random one per process
    /// (enough for the built-in relay of one node; set it for coturn or several nodes).
    pub turn_secret: Option<String>,
    /// TURN URLs handed to clients (an external coturn, e.g.
    /// `turn:turn.example.org:3478?transport=udp`). Empty: the built-in relay's.
    pub turn_urls: Vec<String>,
    /// STUN URLs handed to clients besides the TURN ones (none by default: no third party).
    pub stun_urls: Vec<String>,
    /// The built-in TURN relay on or off (`--no-turn`).
    pub turn_enabled: bool,
    /// Where the built-in relay listens (UDP only: the crate has no TCP listener). Empty: port
    /// 3478 on the host of `listen` (`--turn-listen`).
    pub turn_listen: String,
    /// The address clients and peers reach the relay at (announced in URLs and relay
    /// candidates). Empty: the host of `turn_listen`.
    pub turn_public_ip: String,
    /// Relay ports, `MIN-MAX` (empty: any free port).
    pub turn_relay_ports: String,
    /// Test only: let the relay send to private, loopback and link-local peers. A relay that
    /// may reach them is an open proxy into the server's network; never set it in production.
    pub turn_allow_private_peers: bool,
}

impl Default for CallsConfig {
    fn default() -> CallsConfig {
        CallsConfig {
            enabled: true,
            no_answer_secs: 30,
            heartbeat_grace_secs: 20,
            max_call_secs: 8 * 3600,
            max_parties: 4,
            credential_ttl_secs: 12 * 3600,
            turn_secret: None,
            turn_urls: Vec::new(),
            stun_urls: Vec::new(),
            turn_enabled: true,
            turn_listen: String::new(),
            turn_public_ip: String::new(),
            turn_relay_ports: String::new(),
            turn_allow_private_peers: false,
        }
    }
}

const KEYS: &[&str] = &[
    "enabled",
    "no_answer_secs",
    "heartbeat_grace_secs",
    "max_call_secs",
    "max_parties",
    "credential_ttl_secs",
    "turn_secret",
    "turn_urls",
    "stun_urls",
    "turn_enabled",
    "turn_listen",
    "turn_public_ip",
    "turn_relay_ports",
    "turn_allow_private_peers",
];

fn boolean(v: &str) -> Result<bool, ConfigError> {
    match v.trim() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        _ => Err(ConfigError(format!("not a boolean: {v:?}"))),
    }
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

impl CallsConfig {
    /// Overrides from `PARLEY_CALLS_*` variables.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        for key in KEYS {
            let var = format!("PARLEY_CALLS_{}", key.to_ascii_uppercase());
            if let Some(v) = get(&var) {
                self.set(key, &v)
                    .map_err(|e| ConfigError(format!("{var}: {}", e.0)))?;
            }
        }
        Ok(())
    }

    /// Sets one key from a string (lists are comma-separated).
    pub fn set(&mut self, key: &str, v: &str) -> Result<(), ConfigError> {
        fn num<T: std::str::FromStr>(v: &str) -> Result<T, ConfigError> {
            v.trim()
                .parse()
                .map_err(|_| ConfigError(format!("not a number: {v:?}")))
        }
        match key {
            "enabled" => self.enabled = boolean(v)?,
            "no_answer_secs" => self.no_answer_secs = num(v)?,
            "heartbeat_grace_secs" => self.heartbeat_grace_secs = num(v)?,
            "max_call_secs" => self.max_call_secs = num(v)?,
            "max_parties" => self.max_parties = num(v)?,
            "credential_ttl_secs" => self.credential_ttl_secs = num(v)?,
            "turn_secret" => self.turn_secret = Some(v.to_string()).filter(|s| !s.is_empty()),
            "turn_urls" => self.turn_urls = list(v),
            "stun_urls" => self.stun_urls = list(v),
            "turn_enabled" => self.turn_enabled = boolean(v)?,
            "turn_listen" => self.turn_listen = v.trim().to_string(),
            "turn_public_ip" => self.turn_public_ip = v.trim().to_string(),
            "turn_relay_ports" => self.turn_relay_ports = v.trim().to_string(),
            "turn_allow_private_peers" => self.turn_allow_private_peers = boolean(v)?,
            _ => return Err(ConfigError(format!("unknown setting calls.{key}"))),
        }
        Ok(())
    }

    /// The relay port range, when one is set.
    pub fn relay_ports(&self) -> Result<Option<(u16, u16)>, ConfigError> {
        if self.turn_relay_ports.is_empty() {
            return Ok(None);
        }
        let bad = || {
            ConfigError(format!(
                "calls.turn_relay_ports must be MIN-MAX (1024 to 65535), not {:?}",
                self.turn_relay_ports
            ))
        };
        let (a, b) = self.turn_relay_ports.split_once('-').ok_or_else(bad)?;
        let (a, b): (u16, u16) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if a < 1024 || a > b {
            return Err(bad());
        }
        Ok(Some((a, b)))
    }

    /// Checks the values that have bounds.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.no_answer_secs == 0 || self.heartbeat_grace_secs == 0 || self.max_call_secs == 0 {
            return Err(ConfigError(
                "calls.no_answer_secs, calls.heartbeat_grace_secs and calls.max_call_secs must be positive"
                    .into(),
            ));
        }
        if !(2..=4).contains(&self.max_parties) {
            return Err(ConfigError("calls.max_parties must be 2 to 4".into()));
        }
        if self.credential_ttl_secs <= self.max_call_secs {
            return Err(ConfigError(
                "calls.credential_ttl_secs must be longer than calls.max_call_secs".into(),
            ));
        }
        if self.turn_secret.as_ref().is_some_and(|k| k.len() < 32) {
            return Err(ConfigError(
                "calls.turn_secret must be at least 32 bytes".into(),
            ));
        }
        self.relay_ports()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_env_and_bounds() {
        let mut c = CallsConfig::default();
        assert_eq!(c.no_answer_secs, 30);
        assert!(c.check().is_ok());
        c.apply_env(|k| match k {
            "PARLEY_CALLS_TURN_URLS" => Some("turn:a:3478, turns:b:5349".into()),
            "PARLEY_CALLS_TURN_RELAY_PORTS" => Some("50000-50100".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.turn_urls, ["turn:a:3478", "turns:b:5349"]);
        assert_eq!(c.relay_ports().unwrap(), Some((50000, 50100)));
        c.set("turn_relay_ports", "9-1").unwrap();
        assert!(c.check().is_err());
        c.set("turn_relay_ports", "").unwrap();
        c.set("credential_ttl_secs", "10").unwrap();
        assert!(c.check().is_err());
        c.set("credential_ttl_secs", "100000").unwrap();
        c.set("turn_secret", "short").unwrap();
        assert!(c.check().is_err());
        assert!(c.set("nope", "1").is_err());
    }
}
