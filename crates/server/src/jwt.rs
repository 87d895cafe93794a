//! User tokens the marketplace mints itself: JWTs signed with HS256 (the shared `jwt_secret`),
//! or EdDSA / ES256 (public keys in `jwt_public_keys` or a JWKS file, `jwt_jwks_file`).
//!
//! A token carries `sub` (the user id), `aud` = `parley`, `iat`, `exp` (at most
//! [`MAX_LIFETIME_SECS`] after `iat`) and, when `jwt_issuer` is set, that `iss`. It is verified
//! from its signature and claims alone, on any node, without reading the database. Revocation is
//! by time: `DELETE /v1/users/{id}/tokens` sets the user's "tokens valid after" time; tokens
//! issued at or before it (by `iat`, in whole seconds) are refused. Every node keeps those
//! times in memory ([`crate::Caches`]), learns new ones through the bus
//! ([`crate::Invalidation::TokensValidAfter`]) and re-reads the last day's from the store
//! every `cache_ttl_secs` (a node that missed a bus message catches up).
//!
//! Signatures are checked by the `jsonwebtoken` crate (RustCrypto); nothing here is crypto.

use crate::config_error::ConfigError;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// The audience a token must name.
pub const AUDIENCE: &str = "parley";
/// The longest lifetime (`exp - iat`) accepted, seconds (24 hours).
pub const MAX_LIFETIME_SECS: i64 = 24 * 3600;
/// Clock skew allowed on `exp` and `iat`, seconds.
pub const LEEWAY_SECS: i64 = 30;
/// How long a "tokens valid after" time matters, ms: longer than any token it could refuse lives.
pub const FLOOR_KEEP_MS: i64 = (MAX_LIFETIME_SECS + 2 * LEEWAY_SECS) * 1000;
/// The longest JWT read, bytes.
pub const MAX_JWT_BYTES: usize = 4096;
/// The shortest shared secret accepted, bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// One key a token may be signed with.
struct Key {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

/// The configured keys (none: JWTs are not accepted).
pub struct Verifier {
    keys: Vec<Key>,
    issuer: Option<String>,
}

/// A verified token.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub user_id: String,
    /// `iat`, Unix ms.
    pub issued_at: i64,
    /// `exp`, Unix ms.
    pub expires_at: i64,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    iat: i64,
}

/// Whether a bearer credential has the shape of a JWT (three base64url parts, a JSON header).
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.bytes().filter(|b| *b == b'.').count() == 2
}

/// Public keys from PEM text: one or more `-----BEGIN PUBLIC KEY-----` blocks (Ed25519 or P-256).
pub fn split_pem_blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let from = &rest[start..];
        let Some(end) = from.find("-----END ") else {
            break;
        };
        let tail = &from[end + "-----END ".len()..];
        let close = tail.find("-----").map_or(tail.len(), |i| i + 5);
        let len = end + "-----END ".len() + close;
        out.push(from[..len].to_string());
        rest = &from[len..];
    }
    out
}

fn pem_key(pem: &str) -> Result<Key, ConfigError> {
    let bytes = pem.as_bytes();
    if let Ok(key) = DecodingKey::from_ed_pem(bytes) {
        return Ok(Key {
            kid: None,
            alg: Algorithm::EdDSA,
            key,
        });
    }
    match DecodingKey::from_ec_pem(bytes) {
        Ok(key) => Ok(Key {
            kid: None,
            alg: Algorithm::ES256,
            key,
        }),
        Err(e) => Err(ConfigError(format!(
            "jwt_public_keys: not an Ed25519 or P-256 public key in PEM ({e})"
        ))),
    }
}

fn jwks_keys(path: &str) -> Result<Vec<Key>, ConfigError> {
    let src = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("jwt_jwks_file {path}: {e}")))?;
    let set: JwkSet = serde_json::from_str(&src)
        .map_err(|e| ConfigError(format!("jwt_jwks_file {path}: {e}")))?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        let alg = match &jwk.algorithm {
            AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                Algorithm::EdDSA
            }
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            _ => {
                return Err(ConfigError(format!(
                    "jwt_jwks_file {path}: only Ed25519 (OKP) and P-256 (EC) keys are accepted"
                )))
            }
        };
        let key = DecodingKey::from_jwk(jwk)
            .map_err(|e| ConfigError(format!("jwt_jwks_file {path}: {e}")))?;
        keys.push(Key {
            kid: jwk.common.key_id.clone(),
            alg,
            key,
        });
    }
    Ok(keys)
}

impl Verifier {
    /// The keys of the configuration; `None` when no key is configured.
    pub fn from_config(c: &crate::Config) -> Result<Option<Verifier>, ConfigError> {
        let mut keys = Vec::new();
        if let Some(secret) = &c.jwt_secret {
            if secret.len() < MIN_SECRET_BYTES {
                return Err(ConfigError(format!(
                    "jwt_secret is {} bytes; it must be at least {MIN_SECRET_BYTES}",
                    secret.len()
                )));
            }
            let key = DecodingKey::from_secret(secret.as_bytes())
                .map_err(|e| ConfigError(format!("jwt_secret: {e}")))?;
            keys.push(Key {
                kid: None,
                alg: Algorithm::HS256,
                key,
            });
        }
        for pem in &c.jwt_public_keys {
            keys.push(pem_key(pem)?);
        }
        if let Some(path) = &c.jwt_jwks_file {
            keys.extend(jwks_keys(path)?);
        }
        if keys.is_empty() {
            return Ok(None);
        }
        Ok(Some(Verifier {
            keys,
            issuer: c.jwt_issuer.clone(),
        }))
    }

    /// Checks the signature and the claims at `now_ms` (the floor is checked by the caller).
    pub fn verify(&self, token: &str, now_ms: i64) -> Option<Verified> {
        if token.len() > MAX_JWT_BYTES {
            return None;
        }
        let header = jsonwebtoken::decode_header(token).ok()?;
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS as u64;
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
            validation.required_spec_claims.insert("iss".into());
        }
        let claims = self
            .keys
            .iter()
            .filter(|k| k.alg == header.alg)
            .filter(|k| match (&header.kid, &k.kid) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            })
            .find_map(|k| jsonwebtoken::decode::<Claims>(token, &k.key, &validation).ok())?
            .claims;
        let now = now_ms.div_euclid(1000);
        let lifetime = claims.exp.checked_sub(claims.iat)?;
        if claims.sub.is_empty()
            || !(0..=MAX_LIFETIME_SECS).contains(&lifetime)
            || claims.iat > now + LEEWAY_SECS
            || claims.exp > now + MAX_LIFETIME_SECS + LEEWAY_SECS
        {
            return None;
        }
        Some(Verified {
            user_id: claims.sub,
            issued_at: claims.iat.checked_mul(1000)?,
            expires_at: claims.exp.checked_mul(1000)?,
        })
    }
}

/// Whether a token issued at `issued_at` (Unix ms, whole seconds) is refused by the user's
/// "tokens valid after" time `floor` (Unix ms): issued in the floor's second or before.
pub fn revoked(issued_at: i64, floor: Option<i64>) -> bool {
    floor.is_some_and(|f| issued_at <= f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    const SECRET: &str = "a-shared-secret-of-at-least-32-bytes!";

    fn verifier() -> Verifier {
        let c = crate::Config {
            jwt_secret: Some(SECRET.into()),
            ..crate::Config::default()
        };
        Verifier::from_config(&c).unwrap().unwrap()
    }

    fn mint(claims: serde_json::Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn claims_are_checked() {
        let v = verifier();
        let now = 1_800_000_000i64;
        let ok = mint(json!({"sub": "u1", "aud": "parley", "iat": now, "exp": now + 600}));
        assert!(looks_like_jwt(&ok));
        let got = v.verify(&ok, now * 1000).unwrap();
        assert_eq!(got.user_id, "u1");
        assert_eq!(got.expires_at, (now + 600) * 1000);
        let too_long = mint(json!({"sub": "u1", "aud": "parley", "iat": now, "exp": now + 86401}));
        assert!(v.verify(&too_long, now * 1000).is_none());
        let no_iat = mint(json!({"sub": "u1", "aud": "parley", "exp": now + 60}));
        assert!(v.verify(&no_iat, now * 1000).is_none());
        let other_aud = mint(json!({"sub": "u1", "aud": "x", "iat": now, "exp": now + 60}));
        assert!(v.verify(&other_aud, now * 1000).is_none());
        let future =
            mint(json!({"sub": "u1", "aud": "parley", "iat": now + 3600, "exp": now + 3700}));
        assert!(v.verify(&future, now * 1000).is_none());
        assert!(revoked(now * 1000, Some(now * 1000 + 500)));
        assert!(!revoked((now + 1) * 1000, Some(now * 1000 + 500)));
    }

    #[test]
    fn pem_blocks_split() {
        let two = "-----BEGIN PUBLIC KEY-----\nAAA\n-----END PUBLIC KEY-----\n-----BEGIN PUBLIC KEY-----\nBBB\n-----END PUBLIC KEY-----";
        let b = split_pem_blocks(two);
        assert_eq!(b.len(), 2);
        assert!(b[1].contains("BBB") && b[1].ends_with("KEY-----"));
    }

    #[test]
    fn a_short_secret_is_refused() {
        let c = crate::Config {
            jwt_secret: Some("short".into()),
            ..crate::Config::default()
        };
        assert!(Verifier::from_config(&c).is_err());
    }
}
