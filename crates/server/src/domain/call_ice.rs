//! ICE servers for calls, with time-limited TURN credentials in the TURN REST form: username
//! `expiry:user_id` (expiry in Unix seconds), password the base64 HMAC-SHA1 of the username
//! keyed with the shared secret. The built-in relay (and an external coturn with
//! `use-auth-secret` and the same `static-auth-secret`) checks them without a database.

use crate::domain::ids::UserId;
use crate::domain::{DomainError, DomainResult};
use crate::AppState;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Serialize;
use std::sync::RwLock;
use utoipa::ToSchema;

type HmacSha1 = Hmac<sha1::Sha1>;

/// The TURN REST password of `username` under `secret`.
pub fn turn_password(secret: &[u8], username: &str) -> String {
    // HMAC takes a key of any length (`new_from_slice` only fails for fixed-size MACs).
    let Ok(mut mac) = <HmacSha1 as Mac>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks a TURN REST username at `now_secs`: `Some((user_id, password))` when it has not
/// expired and names a user.
pub fn check_username(secret: &[u8], username: &str, now_secs: i64) -> Option<(String, String)> {
    let (expiry, user) = username.split_once(':')?;
    let expiry: i64 = expiry.parse().ok()?;
    if expiry <= now_secs || user.is_empty() || user.len() > 128 {
        return None;
    }
    Some((user.to_string(), turn_password(secret, username)))
}

/// The shared secret and the TURN URLs this node hands out.
pub struct TurnSecret {
    secret: Vec<u8>,
    urls: RwLock<Vec<String>>,
}

impl TurnSecret {
    /// The configured secret, or a random one for this process.
    pub fn new(configured: Option<&str>, urls: Vec<String>) -> TurnSecret {
        let secret = match configured {
            Some(s) => s.as_bytes().to_vec(),
            None => {
                let mut b = vec![0u8; 32];
                let _ = getrandom::getrandom(&mut b);
                b
            }
        };
        TurnSecret {
            secret,
            urls: RwLock::new(urls),
        }
    }
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }
    /// The TURN URLs handed to clients.
    pub fn urls(&self) -> Vec<String> {
        self.urls.read().map(|u| u.clone()).unwrap_or_default()
    }
    /// Announces the built-in relay's URLs (when no external ones are configured).
    pub fn set_urls(&self, urls: Vec<String>) {
        if let Ok(mut u) = self.urls.write() {
            *u = urls;
        }
    }
}

/// One ICE server, as `RTCPeerConnection` takes it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// `GET /v1/calls/ice`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IceConfig {
    /// Pass as `new RTCPeerConnection({iceServers})`.
    pub ice_servers: Vec<IceServer>,
    /// Lifetime of the TURN credentials, seconds (longer than the longest call).
    pub ttl_secs: u64,
    /// When they expire, Unix ms.
    pub expires_at: i64,
    /// Whether a TURN relay is offered (a call may still connect directly without one).
    pub relay: bool,
}

/// ICE servers for `me`, with TURN credentials valid `credential_ttl_secs`.
pub fn ice_for(s: &AppState, me: &UserId) -> DomainResult<IceConfig> {
    let cfg = &s.inner.config.calls;
    if !cfg.enabled {
        return Err(DomainError::not_found("calls"));
    }
    let ttl = cfg.credential_ttl_secs;
    let expiry = s.now_ms().div_euclid(1000) + i64::try_from(ttl).unwrap_or(i64::MAX / 2);
    let turn = &s.inner.turn;
    let urls = turn.urls();
    let mut servers = Vec::new();
    if !urls.is_empty() {
        let username = format!("{expiry}:{}", me.as_str());
        servers.push(IceServer {
            credential: Some(turn_password(turn.secret(), &username)),
            username: Some(username),
            urls: urls.clone(),
        });
    }
    if !cfg.stun_urls.is_empty() {
        servers.push(IceServer {
            urls: cfg.stun_urls.clone(),
            username: None,
            credential: None,
        });
    }
    Ok(IceConfig {
        ice_servers: servers,
        ttl_secs: ttl,
        expires_at: expiry.saturating_mul(1000),
        relay: !urls.is_empty(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_rest_credentials_match_a_fixed_hmac_sha1_vector() {
        // Computed independently: python3 -c "import hmac,hashlib,base64;
        // print(base64.b64encode(hmac.new(b'north-wind-shared-secret-0123456789',
        // b'1700000000:mei', hashlib.sha1).digest()).decode())"
        let secret = b"north-wind-shared-secret-0123456789";
        assert_eq!(
            turn_password(secret, "1700000000:mei"),
            "qBiFjfdcvHQnWKzwmj85hCj1IBk="
        );
        // RFC 2202 test case 2 (HMAC-SHA1 of "what do ya want for nothing?" keyed "Jefe").
        assert_eq!(
            turn_password(b"Jefe", "what do ya want for nothing?"),
            base64::engine::general_purpose::STANDARD
                .encode(hex_bytes("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"))
        );
    }

    #[test]
    fn expired_or_malformed_usernames_are_refused() {
        let secret = b"s";
        assert!(check_username(secret, "1700000000:mei", 1_700_000_001).is_none());
        assert!(check_username(secret, "1700000000:mei", 1_700_000_000).is_none());
        let (user, pass) = check_username(secret, "1700000000:mei", 1_699_999_999).unwrap();
        assert_eq!(user, "mei");
        assert_eq!(pass, turn_password(secret, "1700000000:mei"));
        assert!(check_username(secret, "mei", 0).is_none());
        assert!(check_username(secret, "soon:mei", 0).is_none());
        assert!(check_username(secret, "1700000000:", 0).is_none());
    }

    fn hex_bytes(h: &str) -> Vec<u8> {
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect()
    }
}
