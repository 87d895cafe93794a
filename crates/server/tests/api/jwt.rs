//! Tokens the marketplace mints itself (issue 16): HS256, EdDSA and ES256 JWTs accepted on
//! every node without a database read; expired, wrong audience or issuer, too long a lifetime
//! and revoked ("tokens valid after") refused; stored tokens keep working.

use super::security::{closed_by_server, two_nodes};
use super::*;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};

const SECRET: &str = "the-marketplace-shared-secret-32+bytes";
const ISSUER: &str = "https://market.example";

const ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIMi7bD5XS9WfUmxlblDFyds9VIWqtfk/aD6L6SP2ax4A
-----END PRIVATE KEY-----
";
const ED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAU7MUageMWHJpfUtvCGXpfFXtQEKLq+WFFIsCcneXpP0=
-----END PUBLIC KEY-----
";
const EC_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXqKpZ6PdL+nMOPiD
FWMpHKMBbGqUkMnb77DagC2l0wqhRANCAAS0ExUDJYrdnSBWA1Lgr3GwWrRr/M/l
s/unYicwkqNvbHflPaFAmexUEc+JdBv6pvrBOE0h4zpvRIv5Yb6uB8Ip
-----END PRIVATE KEY-----
";
const EC_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEtBMVAyWK3Z0gVgNS4K9xsFq0a/zP
5bP7p2InMJKjb2x35T2hQJnsVBHPiXQb+qb6wThNIeM6b0SL+WG+rgfCKQ==
-----END PUBLIC KEY-----
";

fn jwt_config(c: &mut Config) {
    c.jwt_secret = Some(SECRET.into());
    c.jwt_public_keys = vec![ED_PUBLIC.into(), EC_PUBLIC.into()];
    c.jwt_issuer = Some(ISSUER.into());
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A token for `sub` issued at `iat` and living `ttl` seconds, with these changes to the claims.
fn mint(alg: Algorithm, sub: &str, iat: i64, ttl: i64, tweak: impl FnOnce(&mut Value)) -> String {
    let mut claims =
        json!({"sub": sub, "aud": "parley", "iss": ISSUER, "iat": iat, "exp": iat + ttl});
    tweak(&mut claims);
    let key = match alg {
        Algorithm::HS256 => EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()).unwrap(),
        Algorithm::ES256 => EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap(),
        _ => unreachable!(),
    };
    encode(&Header::new(alg), &claims, &key).unwrap()
}

async fn status(s: &Server, tok: &str) -> StatusCode {
    s.call(Method::GET, "/v1/conversations", Some(tok), None)
        .await
        .0
}

/// Node `a` takes the operator's calls, node `b` the users'; they share the database and the bus.
async fn flow(a: &Server, b: &Server, stored: &str) {
    let c = a.conversation(&["avery", "diego"]).await;
    let now = now_secs();
    // Accepted: each algorithm, on the node that did not see the user's creation.
    for alg in [Algorithm::HS256, Algorithm::EdDSA, Algorithm::ES256] {
        let t = mint(alg, "diego", now, 3600, |_| {});
        assert_eq!(status(b, &t).await, StatusCode::OK, "{alg:?}");
    }
    let tok = mint(Algorithm::HS256, "diego", now - 5, 600, |_| {});
    let (st, v) = b.post(&tok, &c, "hello from a minted token", "j1").await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["message"]["author_id"], "diego", "{v}");
    let (st, v) = b.call(Method::GET, "/v1/me", Some(&tok), None).await;
    assert_eq!(
        (st, v["id"].as_str()),
        (StatusCode::OK, Some("diego")),
        "{v}"
    );

    // Refused: expired, wrong audience, wrong issuer, no audience, too long a lifetime, another
    // key, a future issue time, a public key used as an HMAC secret.
    let refused = [
        ("expired", mint(Algorithm::HS256, "diego", now - 7200, 3600, |_| {})),
        ("wrong audience", mint(Algorithm::HS256, "diego", now, 600, |c| c["aud"] = json!("other"))),
        ("wrong issuer", mint(Algorithm::EdDSA, "diego", now, 600, |c| c["iss"] = json!("https://evil.example"))),
        ("no audience", mint(Algorithm::HS256, "diego", now, 600, |c| { c.as_object_mut().unwrap().remove("aud"); })),
        ("lifetime over 24 h", mint(Algorithm::ES256, "diego", now, 24 * 3600 + 60, |_| {})),
        ("issued in the future", mint(Algorithm::HS256, "diego", now + 3600, 600, |_| {})),
        ("another key", encode(&Header::new(Algorithm::HS256), &json!({"sub": "diego", "aud": "parley", "iss": ISSUER, "iat": now, "exp": now + 60}), &EncodingKey::from_secret(b"another-secret-another-secret-12345").unwrap()).unwrap()),
        ("public key as HMAC secret", encode(&Header::new(Algorithm::HS256), &json!({"sub": "diego", "aud": "parley", "iss": ISSUER, "iat": now, "exp": now + 60}), &EncodingKey::from_secret(ED_PUBLIC.as_bytes()).unwrap()).unwrap()),
    ];
    for (why, t) in &refused {
        assert_eq!(status(b, t).await, StatusCode::UNAUTHORIZED, "{why}");
    }

    // Revoked: a socket opened with a minted token on node b closes when node a revokes.
    let mut ws = b.ws(&tok, None).await;
    assert_eq!(
        status(b, stored).await,
        StatusCode::OK,
        "stored tokens keep working"
    );
    let (st, v) = a
        .call(Method::DELETE, "/v1/users/diego/tokens", Some(ADMIN), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (code, reason) = closed_by_server(&mut ws, Duration::from_secs(5)).await;
    assert_eq!((code, reason.as_str()), (4002, "token revoked"));
    for node in [a, b] {
        assert_eq!(status(node, &tok).await, StatusCode::UNAUTHORIZED);
        assert_eq!(status(node, stored).await, StatusCode::UNAUTHORIZED);
    }
    // A token issued after the revocation's second works.
    let fresh = mint(Algorithm::EdDSA, "diego", now_secs() + 1, 600, |_| {});
    assert_eq!(status(b, &fresh).await, StatusCode::OK);
    // Other users' tokens are untouched.
    let avery = mint(Algorithm::HS256, "avery", now, 600, |_| {});
    assert_eq!(status(b, &avery).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_minted_tokens_on_two_nodes_sqlite() {
    let (nodes, dir) = two_nodes(jwt_config).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let [_, _, diego, ..] = seed(a).await;
    flow(a, b, &diego).await;
    // A node started after the revocation knows it before its first request.
    let db = format!("sqlite://{}", dir.path().join("n.db").display());
    let late = start(Some(db), None, jwt_config).await;
    let old = mint(Algorithm::HS256, "diego", now_secs() - 60, 600, |_| {});
    assert_eq!(status(&late, &old).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_minted_tokens_postgres() {
    let Some(url) = postgres_url("operator_minted_tokens_postgres").await else {
        return;
    };
    let s = start(Some(url.clone()), None, jwt_config).await;
    let [_, _, diego, ..] = seed(&s).await;
    flow(&s, &s, &diego).await;
    let late = start(Some(url), None, jwt_config).await;
    let old = mint(Algorithm::HS256, "diego", now_secs() - 60, 600, |_| {});
    assert_eq!(status(&late, &old).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_file_and_bad_key_settings() {
    let dir = tempfile::tempdir().unwrap();
    // The Ed25519 key above as a JWK (x = its 32 raw bytes, base64url).
    let jwks = dir.path().join("jwks.json");
    std::fs::write(
        &jwks,
        r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"U7MUageMWHJpfUtvCGXpfFXtQEKLq-WFFIsCcneXpP0"}]}"#,
    )
    .unwrap();
    let path = jwks.display().to_string();
    let s = start(None, None, |c| c.jwt_jwks_file = Some(path.clone())).await;
    seed(&s).await;
    let now = now_secs();
    let claims = json!({"sub": "mei", "aud": "parley", "iat": now, "exp": now + 300});
    let key = EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()).unwrap();
    let mut h = Header::new(Algorithm::EdDSA);
    h.kid = Some("k1".into());
    let t = encode(&h, &claims, &key).unwrap();
    assert_eq!(status(&s, &t).await, StatusCode::OK);
    h.kid = Some("k2".into());
    let t = encode(&h, &claims, &key).unwrap();
    assert_eq!(
        status(&s, &t).await,
        StatusCode::UNAUTHORIZED,
        "unknown kid"
    );
    // Settings the server refuses to start with.
    for bad in [
        Config {
            jwt_secret: Some("short".into()),
            ..Config::default()
        },
        Config {
            jwt_public_keys: vec![
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----".into()
            ],
            ..Config::default()
        },
        Config {
            jwt_jwks_file: Some(dir.path().join("none.json").display().to_string()),
            ..Config::default()
        },
    ] {
        let config = Config {
            database: "sqlite::memory:".into(),
            ..bad
        };
        assert!(AppState::new(config).await.is_err());
    }
}
