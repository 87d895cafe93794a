//! The built-in TURN relay: REST credentials (an expired or forged username is refused), the
//! self test over the admin route, the peer filter refusing a private peer, relayed bytes.

use super::*;
use parley_server::domain::call_ice::turn_password;
use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::Arc;
use webrtc_util::Conn;

/// A server with its relay on 127.0.0.1:0 (private peers refused, as in production).
async fn start_with_relay() -> (Server, Arc<parley_server::turn_relay::Relay>, String) {
    let secret = "turn-test-secret-of-at-least-32-bytes";
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        database: format!("sqlite://{}", dir.path().join("t.db").display()),
        admin_key: Some(ADMIN.into()),
        calls: parley_server::calls_config::CallsConfig {
            turn_secret: Some(secret.into()),
            ..Default::default()
        },
        ..Config::default()
    };
    let state = AppState::new(config).await.expect("server state");
    let relay = parley_server::turn_relay::start(&state, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("relay");
    let s = serve(state, Some(dir)).await;
    (s, relay, secret.to_string())
}

async fn client(
    relay: &parley_server::turn_relay::Relay,
    username: &str,
    password: &str,
) -> turn::client::Client {
    let server = relay.addr.to_string();
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let c = turn::client::Client::new(turn::client::ClientConfig {
        stun_serv_addr: server.clone(),
        turn_serv_addr: server,
        username: username.into(),
        password: password.into(),
        realm: parley_server::turn_relay::REALM.into(),
        software: String::new(),
        rto_in_ms: 0,
        conn: Arc::new(sock),
        vnet: None,
    })
    .await
    .unwrap();
    c.listen().await.unwrap();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_in_relay_checks_credentials_filters_peers_and_passes_its_self_test() {
    let (s, relay, secret) = start_with_relay().await;
    let [avery, ..] = seed(&s).await;

    // GET /v1/calls/ice points at the built-in relay.
    let (st, v) = s
        .call(Method::GET, "/v1/calls/ice", Some(&avery), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["ice_servers"][0]["urls"][0],
        format!("turn:127.0.0.1:{}?transport=udp", relay.addr.port()),
        "{v}"
    );
    let username = v["ice_servers"][0]["username"]
        .as_str()
        .unwrap()
        .to_string();
    let password = v["ice_servers"][0]["credential"]
        .as_str()
        .unwrap()
        .to_string();

    // Its credentials allocate a relay.
    let c = client(&relay, &username, &password).await;
    let conn = c
        .allocate()
        .await
        .expect("allocation with REST credentials");
    // A private peer (loopback, not a relay allocation) is refused: nothing reaches it.
    let peer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let before = relay.stats.refused_packets.load(AtomicOrdering::Relaxed);
    conn.send_to(b"to a private peer", peer.local_addr().unwrap())
        .await
        .unwrap();
    let mut refused = false;
    for _ in 0..100 {
        if relay.stats.refused_packets.load(AtomicOrdering::Relaxed) > before {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "the relay refused the private peer");
    let mut buf = [0u8; 64];
    assert!(
        peer.try_recv_from(&mut buf).is_err(),
        "nothing reached the peer"
    );
    let _ = conn.close().await;
    let _ = c.close().await;

    // An expired username is refused, and so is a forged password.
    let expired = "1000:avery";
    let c = client(&relay, expired, &turn_password(secret.as_bytes(), expired)).await;
    assert!(
        c.allocate().await.is_err(),
        "an expired username allocates nothing"
    );
    let _ = c.close().await;
    let c = client(&relay, &username, "forged").await;
    assert!(
        c.allocate().await.is_err(),
        "a forged password allocates nothing"
    );
    let _ = c.close().await;

    // The self test (operator key): allocate, relay a packet there and back.
    let (st, _) = s
        .call(Method::POST, "/v1/admin/turn/selftest", Some(&avery), None)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) = s
        .call(Method::POST, "/v1/admin/turn/selftest", Some(ADMIN), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["pass"], true, "{v}");
    assert_eq!(v["allocated"], true);
    assert_eq!(v["relayed"], true);
    assert!(relay.stats.relayed_bytes.load(AtomicOrdering::Relaxed) > 0);
    assert!(relay.stats.allocations.load(AtomicOrdering::Relaxed) >= 2);
    relay.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_self_test_route_is_404_without_a_relay() {
    let s = start(None, None, |_| {}).await;
    let (st, v) = s
        .call(Method::POST, "/v1/admin/turn/selftest", Some(ADMIN), None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
}
