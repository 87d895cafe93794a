//! Server configuration in layers: defaults, a TOML file, `PARLEY_*` environment variables,
//! then command-line flags (applied by the caller with [`Config::set`]).

use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Database URL (`sqlite://FILE`, `sqlite::memory:`, `postgres://...`).
    pub database: String,
    /// The operator key for the integration API (`PARLEY_ADMIN_KEY`). No key: integration API off.
    pub admin_key: Option<String>,
    /// A policy TOML file (default: the built-in policy).
    pub policy: Option<String>,
    /// Allowed CORS origins (`*` for any). Empty: no CORS headers.
    pub cors_origins: Vec<String>,
    /// Demo mode (`parley demo`): the home page lists the demo users and anyone may sign in as
    /// one of them (`/v1/demo/*`). Never set it on a real deployment.
    pub demo: bool,
    /// Limit of a request body, bytes.
    pub max_body_bytes: usize,
    /// Limit of a message body, bytes.
    pub max_message_bytes: usize,
    /// Token lifetime when the integration does not say, seconds.
    pub token_ttl_secs: i64,
    /// Per-user rate limit: sustained requests per second and burst.
    pub user_rate_per_sec: f64,
    pub user_burst: f64,
    /// Per-operator-key rate limit.
    pub key_rate_per_sec: f64,
    pub key_burst: f64,
    /// The reasons a user can give when reporting (operator-defined, shown in this order).
    pub report_reasons: Vec<ReportReason>,
    /// How long an enforcement can be appealed, days (DSA art. 20: at least six months).
    pub appeal_window_days: u32,
    /// Shifts the server's clock for trust-and-safety times (strikes, restrictions, appeal
    /// windows), seconds. 0 in production; tests and drills use it to age records.
    pub clock_offset_secs: i64,
    /// Serve `GET /metrics` without the admin key (for a scraper on a private network).
    pub metrics_public: bool,
    /// How long a token lookup or a sender's context (members, stages, plans) is cached,
    /// seconds (0: no caching). Changes made through the API invalidate at once.
    pub cache_ttl_secs: u64,
    /// Bound of each cache (entries).
    pub cache_max_entries: usize,
    /// Cross-message evasion: how many of a sender's recent messages per conversation are
    /// scanned joined with a new one (0: off).
    pub window_messages: usize,
    /// ... and how old they may be, seconds.
    pub window_secs: u64,
    /// How many (conversation, sender) windows are kept in memory.
    pub window_max_entries: usize,
    /// Time to receive a request's headers, seconds, counted from the moment the connection
    /// is ready for a request: on a new connection and between the requests of a keep-alive
    /// connection (so it is also the keep-alive idle timeout).
    pub header_read_timeout_secs: u64,
    /// Time to receive a whole request body once the headers are in, seconds.
    pub body_read_timeout_secs: u64,
    /// Open connections (WebSockets included) per client IP address. Over the cap a
    /// connection is served one request and closed, and only `/v1/health` answers on it.
    pub max_connections_per_ip: usize,
    /// A WebSocket is pinged after this many seconds without a frame from the client...
    pub ws_ping_secs: u64,
    /// ... and closed when nothing (a pong or any frame) came from it for this long.
    pub ws_dead_peer_secs: u64,
    /// Client frames refused by the user's rate limit before the socket is closed (4008).
    pub ws_flood_frames: u32,
    /// At most one typing fan-out per (conversation, sender) per this many milliseconds.
    pub typing_interval_ms: u64,
    /// Failed authentications per client IP: sustained per second and burst; beyond them a
    /// failure answers 429 instead of 401.
    pub auth_failures_per_sec: f64,
    pub auth_failure_burst: f64,
    /// Files in conversations (`[files]`; see [`crate::files_config`]).
    pub files: crate::files_config::FilesConfig,
    /// Voice and video calls (`[calls]`; see [`crate::calls_config`]).
    pub calls: crate::calls_config::CallsConfig,
    /// User tokens the marketplace mints (see [`crate::jwt`]): the HS256 shared secret
    /// (`PARLEY_JWT_SECRET`, at least 32 bytes)...
    pub jwt_secret: Option<String>,
    /// ... Ed25519 or P-256 public keys in PEM (`PARLEY_JWT_PUBLIC_KEYS`: the PEM blocks)...
    pub jwt_public_keys: Vec<String>,
    /// ... a JWKS file of such keys (`PARLEY_JWT_JWKS_FILE`)...
    pub jwt_jwks_file: Option<String>,
    /// ... and the `iss` every token must carry (none: not checked).
    pub jwt_issuer: Option<String>,
    /// Webhooks may target loopback, private, link-local and metadata addresses
    /// (`PARLEY_WEBHOOK_ALLOW_PRIVATE_TARGETS`; off: such targets are refused).
    pub webhook_allow_private_targets: bool,
    /// Run this node's webhook delivery worker (tests drive deliveries themselves).
    pub webhook_delivery: bool,
    /// Origins whose pages may frame the embeddable chat (`/embed`, `<parley-chat>`), e.g.
    /// `https://market.example` (`PARLEY_EMBED_ORIGINS`, comma-separated; CSP `frame-ancestors`
    /// sources). Empty: no page may (under `parley demo`, this server's own pages may).
    pub embed_origins: Vec<String>,
    /// NATS server URL(s) for several nodes (`nats://host:4222`, comma-separated for a cluster;
    /// `PARLEY_NATS_URL`, `--nats`). None: one node, the in-process bus (see `docs/deploy.md`).
    pub nats_url: Option<String>,
    /// With NATS: how often every socket's position is checked against the database, seconds
    /// (catches a lost publish; 0: never).
    pub position_check_secs: u64,
}

/// One reason a user can give when reporting.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReportReason {
    /// Stable id sent by clients (`spam`).
    pub id: String,
    /// What people read ("Spam or advertising").
    pub label: String,
    /// Queue priority of a report with this reason (0..=100, higher first).
    #[serde(default = "default_report_priority")]
    pub priority: i64,
}

fn default_report_priority() -> i64 {
    30
}

/// The default report reasons.
pub fn default_report_reasons() -> Vec<ReportReason> {
    [
        ("contact_info", "Shares or asks for contact details", 40),
        ("off_platform", "Asks to move off the platform", 40),
        ("spam", "Spam or advertising", 20),
        ("harassment", "Harassment or abuse", 60),
        ("scam", "Scam or fraud", 70),
        ("other", "Something else", 10),
    ]
    .into_iter()
    .map(|(id, label, priority)| ReportReason {
        id: id.into(),
        label: label.into(),
        priority,
    })
    .collect()
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: "127.0.0.1:8080".into(),
            database: "sqlite://parley.db".into(),
            admin_key: None,
            policy: None,
            cors_origins: Vec::new(),
            demo: false,
            max_body_bytes: 64 * 1024,
            max_message_bytes: 16 * 1024,
            token_ttl_secs: 30 * 24 * 3600,
            user_rate_per_sec: 50.0,
            user_burst: 200.0,
            key_rate_per_sec: 2000.0,
            key_burst: 5000.0,
            report_reasons: default_report_reasons(),
            appeal_window_days: 180,
            clock_offset_secs: 0,
            metrics_public: false,
            cache_ttl_secs: 30,
            cache_max_entries: 100_000,
            window_messages: 4,
            window_secs: 300,
            window_max_entries: 100_000,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 30,
            max_connections_per_ip: 512,
            ws_ping_secs: 25,
            ws_dead_peer_secs: 60,
            ws_flood_frames: 100,
            typing_interval_ms: 1000,
            auth_failures_per_sec: 1.0,
            auth_failure_burst: 20.0,
            files: Default::default(),
            calls: Default::default(),
            jwt_secret: None,
            jwt_public_keys: Vec::new(),
            jwt_jwks_file: None,
            jwt_issuer: None,
            nats_url: None,
            position_check_secs: 2,
            webhook_allow_private_targets: false,
            webhook_delivery: true,
            embed_origins: Vec::new(),
        }
    }
}

/// A setting that moved into the policy file.
const REMOVED_STRIKES_KEY: &str = "strikes_for_integration_texts";
const REMOVED_STRIKES_HINT: &str = " (strikes_for_integration_texts moved to the policy: list the surfaces that give strikes in [escalation] surfaces, e.g. surfaces = [\"message\", \"profile\"])";

pub use crate::config_error::ConfigError;

/// The shortest operator key the server accepts, bytes.
pub const MIN_ADMIN_KEY_BYTES: usize = 32;

impl Config {
    /// Refuses settings that would make the server unsafe or unable to work: an operator key
    /// shorter than [`MIN_ADMIN_KEY_BYTES`], zero timeouts or caps.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(k) = &self.admin_key {
            if k.len() < MIN_ADMIN_KEY_BYTES {
                return Err(ConfigError(format!(
                    "admin_key is {} bytes; it must be at least {MIN_ADMIN_KEY_BYTES} (e.g. `openssl rand -hex 32`)",
                    k.len()
                )));
            }
        }
        for o in &self.embed_origins {
            let ok = o == "'self'"
                || ((o.starts_with("https://") || o.starts_with("http://"))
                    && !o.chars().any(|c| c.is_whitespace() || ";,'\"".contains(c)));
            if !ok {
                return Err(ConfigError(format!(
                    "embed_origins: {o:?} is not an origin (https://host[:port] or 'self')"
                )));
            }
        }
        for (key, v) in [
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("body_read_timeout_secs", self.body_read_timeout_secs),
            ("max_connections_per_ip", self.max_connections_per_ip as u64),
            ("ws_ping_secs", self.ws_ping_secs),
            ("ws_dead_peer_secs", self.ws_dead_peer_secs),
        ] {
            if v == 0 {
                return Err(ConfigError(format!("{key} must be at least 1")));
            }
        }
        self.calls.check()?;
        Ok(())
    }

    /// Defaults, then the TOML file if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut c = match file {
            Some(p) => {
                let src = std::fs::read_to_string(p)
                    .map_err(|e| ConfigError(format!("{}: {e}", p.display())))?;
                toml::from_str::<Config>(&src).map_err(|e| {
                    let hint = if e.to_string().contains(REMOVED_STRIKES_KEY) {
                        REMOVED_STRIKES_HINT
                    } else {
                        ""
                    };
                    ConfigError(format!("{}: {e}{hint}", p.display()))
                })?
            }
            None => Config::default(),
        };
        c.apply_env(|k| std::env::var(k).ok())?;
        Ok(c)
    }

    /// Overrides from `PARLEY_*` variables (read through `get`, so tests need no real env).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if get("PARLEY_STRIKES_FOR_INTEGRATION_TEXTS").is_some() {
            return Err(ConfigError(format!(
                "PARLEY_STRIKES_FOR_INTEGRATION_TEXTS is no longer a setting{REMOVED_STRIKES_HINT}"
            )));
        }
        for key in [
            "listen",
            "database",
            "admin_key",
            "policy",
            "cors_origins",
            "max_body_bytes",
            "max_message_bytes",
            "token_ttl_secs",
            "user_rate_per_sec",
            "user_burst",
            "key_rate_per_sec",
            "key_burst",
            "appeal_window_days",
            "clock_offset_secs",
            "metrics_public",
            "cache_ttl_secs",
            "cache_max_entries",
            "window_messages",
            "window_secs",
            "window_max_entries",
            "header_read_timeout_secs",
            "body_read_timeout_secs",
            "max_connections_per_ip",
            "ws_ping_secs",
            "ws_dead_peer_secs",
            "ws_flood_frames",
            "typing_interval_ms",
            "auth_failures_per_sec",
            "auth_failure_burst",
            "jwt_secret",
            "jwt_public_keys",
            "jwt_jwks_file",
            "jwt_issuer",
            "nats_url",
            "position_check_secs",
            "webhook_allow_private_targets",
            "webhook_delivery",
            "embed_origins",
        ] {
            let var = format!("PARLEY_{}", key.to_ascii_uppercase());
            if let Some(v) = get(&var) {
                self.set(key, &v)
                    .map_err(|e| ConfigError(format!("{var}: {}", e.0)))?;
            }
        }
        self.files.apply_env(&get)?;
        self.calls.apply_env(&get)?;
        Ok(())
    }

    /// Sets one key from a string (environment variables and flags).
    pub fn set(&mut self, key: &str, v: &str) -> Result<(), ConfigError> {
        fn num<T: std::str::FromStr>(v: &str) -> Result<T, ConfigError> {
            v.trim()
                .parse()
                .map_err(|_| ConfigError(format!("not a number: {v:?}")))
        }
        fn boolean(v: &str) -> Result<bool, ConfigError> {
            match v.trim() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" | "" => Ok(false),
                _ => Err(ConfigError(format!("not a boolean: {v:?}"))),
            }
        }
        match key {
            "listen" => self.listen = v.to_string(),
            "database" => self.database = v.to_string(),
            "admin_key" => self.admin_key = Some(v.to_string()).filter(|s| !s.is_empty()),
            "policy" => self.policy = Some(v.to_string()).filter(|s| !s.is_empty()),
            "cors_origins" => {
                self.cors_origins = v
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
            "max_body_bytes" => self.max_body_bytes = num(v)?,
            "max_message_bytes" => self.max_message_bytes = num(v)?,
            "token_ttl_secs" => self.token_ttl_secs = num(v)?,
            "user_rate_per_sec" => self.user_rate_per_sec = num(v)?,
            "user_burst" => self.user_burst = num(v)?,
            "key_rate_per_sec" => self.key_rate_per_sec = num(v)?,
            "key_burst" => self.key_burst = num(v)?,
            "appeal_window_days" => self.appeal_window_days = num(v)?,
            "clock_offset_secs" => self.clock_offset_secs = num(v)?,
            "metrics_public" => self.metrics_public = boolean(v)?,
            "webhook_allow_private_targets" => self.webhook_allow_private_targets = boolean(v)?,
            "webhook_delivery" => self.webhook_delivery = boolean(v)?,
            "embed_origins" => {
                self.embed_origins = v
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
            "cache_ttl_secs" => self.cache_ttl_secs = num(v)?,
            "cache_max_entries" => self.cache_max_entries = num(v)?,
            "window_messages" => self.window_messages = num(v)?,
            "window_secs" => self.window_secs = num(v)?,
            "window_max_entries" => self.window_max_entries = num(v)?,
            "header_read_timeout_secs" => self.header_read_timeout_secs = num(v)?,
            "body_read_timeout_secs" => self.body_read_timeout_secs = num(v)?,
            "max_connections_per_ip" => self.max_connections_per_ip = num(v)?,
            "ws_ping_secs" => self.ws_ping_secs = num(v)?,
            "ws_dead_peer_secs" => self.ws_dead_peer_secs = num(v)?,
            "ws_flood_frames" => self.ws_flood_frames = num(v)?,
            "typing_interval_ms" => self.typing_interval_ms = num(v)?,
            "auth_failures_per_sec" => self.auth_failures_per_sec = num(v)?,
            "auth_failure_burst" => self.auth_failure_burst = num(v)?,
            "jwt_secret" => self.jwt_secret = Some(v.to_string()).filter(|s| !s.is_empty()),
            "jwt_public_keys" => self.jwt_public_keys = crate::jwt::split_pem_blocks(v),
            "jwt_jwks_file" => self.jwt_jwks_file = Some(v.to_string()).filter(|s| !s.is_empty()),
            "jwt_issuer" => self.jwt_issuer = Some(v.to_string()).filter(|s| !s.is_empty()),
            "nats_url" => self.nats_url = Some(v.trim().to_string()).filter(|s| !s.is_empty()),
            "position_check_secs" => self.position_check_secs = num(v)?,
            k if k.starts_with("files.") => self.files.set(&k["files.".len()..], v)?,
            k if k.starts_with("calls.") => self.calls.set(&k["calls.".len()..], v)?,
            _ => return Err(ConfigError(format!("unknown setting {key}"))),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        let mut c: Config = toml::from_str("listen = \"0.0.0.0:1\"\nuser_burst = 3.0\n").unwrap();
        assert_eq!(c.listen, "0.0.0.0:1");
        c.apply_env(|k| match k {
            "PARLEY_LISTEN" => Some("127.0.0.1:2".into()),
            "PARLEY_ADMIN_KEY" => Some("k".repeat(32)),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:2");
        assert_eq!(c.admin_key.as_deref(), Some("k".repeat(32).as_str()));
        assert!(c.validate().is_ok());
        c.set("admin_key", "short").unwrap();
        assert!(c.validate().unwrap_err().0.contains("at least 32"));
        assert_eq!(c.user_burst, 3.0);
        c.set("listen", "127.0.0.1:3").unwrap();
        assert_eq!(c.listen, "127.0.0.1:3");
        assert!(c.set("user_burst", "x").is_err());
        assert!(toml::from_str::<Config>("nope = 1").is_err());
    }

    #[test]
    fn report_reasons_are_operator_defined() {
        let c = Config::default();
        let ids: Vec<&str> = c.report_reasons.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "contact_info",
                "off_platform",
                "spam",
                "harassment",
                "scam",
                "other"
            ]
        );
        assert_eq!(c.appeal_window_days, 180);
        let c: Config = toml::from_str(
            "appeal_window_days = 200\n[[report_reasons]]\nid = \"fake_review\"\nlabel = \"Fake review\"\n",
        )
        .unwrap();
        assert_eq!(c.report_reasons.len(), 1);
        assert_eq!(c.report_reasons[0].priority, 30);
        assert_eq!(c.appeal_window_days, 200);
        let mut c = Config::default();
        c.set("clock_offset_secs", "-86400").unwrap();
        assert_eq!(c.clock_offset_secs, -86400);
    }

    #[test]
    fn the_removed_strikes_setting_points_to_the_policy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parley.toml");
        std::fs::write(&path, "strikes_for_integration_texts = true\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("[escalation] surfaces"), "{err}");
        let mut c = Config::default();
        let err = c
            .apply_env(|k| (k == "PARLEY_STRIKES_FOR_INTEGRATION_TEXTS").then(|| "true".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("[escalation] surfaces"), "{err}");
        assert!(c.set("strikes_for_integration_texts", "true").is_err());
    }

    #[test]
    fn nats_settings_come_in_layers() {
        let mut c: Config = toml::from_str("nats_url = \"nats://a:4222\"\n").unwrap();
        assert_eq!(c.nats_url.as_deref(), Some("nats://a:4222"));
        assert_eq!(c.position_check_secs, 2);
        c.apply_env(|k| match k {
            "PARLEY_NATS_URL" => Some("nats://b:4222,nats://c:4222".into()),
            "PARLEY_POSITION_CHECK_SECS" => Some("5".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.nats_url.as_deref(), Some("nats://b:4222,nats://c:4222"));
        assert_eq!(c.position_check_secs, 5);
        c.set("nats_url", " ").unwrap();
        assert_eq!(c.nats_url, None, "empty: one node");
        assert!(c.set("position_check_secs", "soon").is_err());
    }
}
