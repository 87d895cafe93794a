//! The findings of the security probe (issue 17), one test each: sockets that outlive their
//! tokens, connections that never time out, WebSocket floods, bodies read before credentials,
//! reports about strangers, missing headers, look-alike ids and names, unlimited failed
//! credentials, and the smaller ones.

use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Two nodes on one SQLite file and one bus (the shape of a deployment).
pub(crate) async fn two_nodes(tweak: impl Fn(&mut Config)) -> (Vec<Server>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("n.db").display());
    let bus: std::sync::Arc<dyn parley_server::Bus> =
        std::sync::Arc::new(parley_server::LocalBus::default());
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let mut config = Config {
            database: db.clone(),
            admin_key: Some(ADMIN.into()),
            ..Config::default()
        };
        tweak(&mut config);
        let store = parley_store::Store::connect(&db).await.unwrap();
        let state =
            AppState::with_parts(config, store, parley_policy::Policy::default(), bus.clone())
                .unwrap();
        nodes.push(serve(state, None).await);
    }
    (nodes, dir)
}

/// A token of `user` that lives `ttl_secs`.
async fn short_token(s: &Server, user: &str, ttl_secs: i64) -> String {
    let (st, v) = s
        .call(
            Method::POST,
            &format!("/v1/users/{user}/tokens"),
            Some(ADMIN),
            Some(json!({"ttl_secs": ttl_secs})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v["token"].as_str().unwrap().to_string()
}

/// Reads the socket until the server closes it (within `within`); the close code and reason.
/// Any event frame that arrives first is skipped.
pub(crate) async fn closed_by_server(ws: &mut Ws, within: Duration) -> (u16, String) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let m = tokio::time::timeout_at(deadline, ws.0.next())
            .await
            .unwrap_or_else(|_| panic!("the socket was not closed within {within:?}"));
        match m {
            Some(Ok(WsMsg::Close(Some(f)))) => return (u16::from(f.code), f.reason.to_string()),
            Some(Ok(WsMsg::Close(None))) | None | Some(Err(_)) => {
                panic!("closed without a close code")
            }
            Some(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_and_expired_tokens_close_their_sockets_on_every_node() {
    let (nodes, _dir) = two_nodes(|_| {}).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let [avery, _, diego, ..] = seed(a).await;
    let c = a.conversation(&["avery", "diego"]).await;
    let short = short_token(a, "diego", 2).await;
    // Sockets on node b; the revocation goes through node a.
    let mut on_long = b.ws(&diego, None).await;
    let mut on_short = b.ws(&short, None).await;
    let opened = std::time::Instant::now();
    let (st, _) = a.post(&avery, &c, "hello", "h1").await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(
        on_long.next_of("message.created").await["message"]["body"],
        "hello"
    );

    // Expiry: the short token's socket closes at its expiry (2 s), the other stays.
    let (code, reason) = closed_by_server(&mut on_short, Duration::from_secs(4)).await;
    assert_eq!((code, reason.as_str()), (4001, "token expired"));
    assert!(
        opened.elapsed() >= Duration::from_millis(1500),
        "not before its expiry"
    );
    let (st, _) = a.post(&avery, &c, "still there?", "h2").await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(
        on_long.next_of("message.created").await["message"]["body"],
        "still there?"
    );

    // Revocation on node a closes the socket on node b within a second.
    let (st, v) = a
        .call(Method::DELETE, "/v1/users/diego/tokens", Some(ADMIN), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (code, reason) = closed_by_server(&mut on_long, Duration::from_secs(1)).await;
    assert_eq!((code, reason.as_str()), (4002, "token revoked"));
    // And the revoked token opens no new socket on either node.
    for node in [a, b] {
        let url = format!(
            "{}/v1/ws?token={diego}",
            node.base.replace("http://", "ws://")
        );
        assert!(tokio_tungstenite::connect_async(url).await.is_err());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspension_closes_the_users_sockets_and_refuses_new_ones() {
    let (nodes, _dir) = two_nodes(|_| {}).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let [avery, _, diego, ..] = seed(a).await;
    let (morgan, _) = moderators(a).await;
    let c = a.conversation(&["avery", "diego"]).await;
    let (st, _) = a.post(&diego, &c, "hello", "d1").await;
    assert_eq!(st, StatusCode::CREATED);
    let mut sock = b.ws(&diego, None).await;
    let (st, v) = a
        .call(
            Method::POST,
            "/v1/reports",
            Some(&avery),
            Some(json!({"user_id": "diego", "reason": "scam"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let item = v["report"]["item_id"].as_str().unwrap().to_string();
    let (st, v) = decide(a, &morgan, &item, "suspend").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (code, reason) = closed_by_server(&mut sock, Duration::from_secs(1)).await;
    assert_eq!((code, reason.as_str()), (4003, "account suspended"));
    let url = format!("{}/v1/ws?token={diego}", b.base.replace("http://", "ws://"));
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            assert_eq!(r.status(), StatusCode::FORBIDDEN)
        }
        other => panic!("a suspended user opened a socket: {other:?}"),
    }
}

/// Reads from a raw connection until the server closes it; what it sent, or None when it was
/// still open after `within`.
async fn read_until_closed(conn: &mut TcpStream, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, conn.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

fn addr_of(s: &Server) -> String {
    s.base.trim_start_matches("http://").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_sent_connections_are_closed_by_their_timeouts() {
    let s = start(None, None, |c| {
        c.header_read_timeout_secs = 1;
        c.body_read_timeout_secs = 1;
    })
    .await;
    let addr = addr_of(&s);
    let wait = Duration::from_secs(4);
    // Sends nothing.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    // Stops half-way through its headers.
    let mut half_head = TcpStream::connect(&addr).await.unwrap();
    half_head
        .write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    // Stops half-way through its body (with valid credentials: the body is read after them).
    let mut half_body = TcpStream::connect(&addr).await.unwrap();
    half_body
        .write_all(
            format!(
                "PUT /v1/orgs/slow HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\n\
                 Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\":"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    // A keep-alive connection that goes idle after one request.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();

    let (silent, half_head, half_body, idle) = tokio::join!(
        read_until_closed(&mut silent, wait),
        read_until_closed(&mut half_head, wait),
        read_until_closed(&mut half_body, wait),
        read_until_closed(&mut idle, wait),
    );
    assert!(silent.is_some(), "a silent connection stayed open");
    assert!(half_head.is_some(), "half-sent headers kept the connection");
    let half_body = half_body.expect("a half-sent body kept the connection");
    assert!(half_body.starts_with("HTTP/1.1 408"), "{half_body}");
    let idle = idle.expect("an idle keep-alive connection stayed open");
    assert!(idle.starts_with("HTTP/1.1 200"), "{idle}");
    // The server still answers.
    let (st, _) = s.call(Method::GET, "/v1/health", None, None).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_address_cap_keeps_health_answering() {
    let s = start(None, None, |c| c.max_connections_per_ip = 4).await;
    let [avery, ..] = seed(&s).await;
    let addr = addr_of(&s);
    // The seeding client's pooled connections count too: hold the cap with raw connections.
    let mut held = Vec::new();
    for _ in 0..6 {
        held.push(TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fresh = || Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let r = fresh()
        .get(format!("{}/v1/health", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "health answers over the cap");
    let r = fresh()
        .get(format!("{}/v1/conversations", s.base))
        .bearer_auth(&avery)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let v: Value = r.json().await.unwrap();
    assert_error(&v, "too_many_connections");
    // Closing connections gives the slots back.
    drop(held);
    drop(s.http.clone());
    let mut ok = false;
    for _ in 0..50 {
        let r = fresh()
            .get(format!("{}/v1/conversations", s.base))
            .bearer_auth(&avery)
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::OK {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "slots were not given back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_whose_client_stops_answering_pings_is_closed() {
    let s = start(None, None, |c| {
        c.ws_ping_secs = 1;
        c.ws_dead_peer_secs = 3;
    })
    .await;
    let [avery, ..] = seed(&s).await;
    let mut sock = s.ws(&avery, None).await;
    // The client reads nothing (so answers no ping) for longer than the dead-peer window (the
    // server closes at 3-4 s and keeps the connection for the client's answer until 6-7 s)...
    tokio::time::sleep(Duration::from_millis(4500)).await;
    // ...then finds pings and the close frame.
    let mut pings = 0;
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(3), sock.0.next())
            .await
            .expect("closed")
        {
            Some(Ok(WsMsg::Ping(_))) => pings += 1,
            Some(Ok(WsMsg::Close(Some(f)))) => break u16::from(f.code),
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    };
    assert!(pings >= 1, "the server pinged");
    assert_eq!(code, 4009);
    // A client that answers pings (tungstenite does while reading) stays connected over two
    // dead-peer windows (the window leaves room for a busy machine's scheduling delays).
    let mut live = s.ws(&avery, None).await;
    let quiet = tokio::time::timeout(Duration::from_secs(7), async {
        loop {
            match live.0.next().await {
                Some(Ok(WsMsg::Close(_))) | None | Some(Err(_)) => return,
                _ => {}
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "a live client was disconnected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_floods_are_coalesced_and_the_flooding_socket_closed() {
    let s = start(None, None, |_| {}).await;
    let [avery, _, diego, ..] = seed(&s).await;
    let c = s.conversation(&["avery", "diego"]).await;
    let mut listener = s.ws(&diego, None).await;
    let mut flooder = s.ws(&avery, None).await;
    let frame = json!({"type": "typing", "conversation_id": c}).to_string();
    for _ in 0..10_000 {
        if flooder
            .0
            .send(WsMsg::Text(frame.clone().into()))
            .await
            .is_err()
        {
            break;
        }
    }
    let (code, reason) = closed_by_server(&mut flooder, Duration::from_secs(10)).await;
    assert_eq!((code, reason.as_str()), (4008, "too many frames"));
    // Diego heard avery typing about once, not thousands of times.
    let mut typing = 0;
    let _ = tokio::time::timeout(Duration::from_millis(1500), async {
        loop {
            let v = listener.next().await;
            if v["type"] == "typing" {
                typing += 1;
            }
        }
    })
    .await;
    assert!((1..=3).contains(&typing), "{typing} typing fan-outs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_floods_are_throttled_and_paged() {
    let s = start(None, None, |c| c.user_burst = 1000.0).await;
    let [avery, priya, ..] = seed(&s).await;
    let c = s.conversation(&["avery", "priya"]).await;
    for i in 0..150 {
        let (st, v) = s
            .post(&avery, &c, &format!("line {i}"), &format!("r{i}"))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    let mut sock = s.ws(&priya, Some(1_000_000)).await;
    let resume = json!({"type": "resume", "cursor": 0}).to_string();
    for _ in 0..100 {
        sock.0
            .send(WsMsg::Text(resume.clone().into()))
            .await
            .unwrap();
    }
    let (mut events, mut limited) = (0, 0);
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            let v = sock.next().await;
            match v["type"].as_str() {
                Some("error") => {
                    assert_eq!(v["code"], "rate_limited", "{v}");
                    limited += 1
                }
                Some(_) => events += 1,
                None => {}
            }
        }
    })
    .await;
    // One replay of the 150 events (not 100 of them), the other resumes refused.
    assert!((150..=300).contains(&events), "{events} events replayed");
    assert!(limited >= 90, "{limited} refusals");
}

/// Every route that needs credentials, with placeholders for its parameters.
fn authenticated_routes() -> Vec<(Method, String)> {
    let public = [
        "/v1/health",
        "/v1/openapi.json",
        "/v1/docs",
        "/",
        "/app/{path}",
        "/embed",
        "/v1/demo/users",
        "/v1/demo/users/{id}/session",
    ];
    parley_server::ROUTES
        .iter()
        .filter(|(_, p)| !public.contains(p))
        .map(|(m, p)| {
            let path = p
                .replace("{id}", "x")
                .replace("{message_id}", "1")
                .replace("{path}", "x");
            (
                Method::from_bytes(m.to_uppercase().as_bytes()).unwrap(),
                path,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_checked_before_the_body() {
    let s = start(None, None, |c| c.auth_failure_burst = 1e9).await;
    let routes = authenticated_routes();
    assert!(routes.len() >= 30, "{routes:?}");
    for (method, path) in &routes {
        for auth in [None, Some("not-a-token")] {
            let mut req = s
                .http
                .request(
                    method.clone(),
                    format!("{}{path}?cursor=abc&limit=-1", s.base),
                )
                .header("content-type", "application/json")
                .body("{\"kind\": ");
            if let Some(a) = auth {
                req = req.bearer_auth(a);
            }
            let r = req.send().await.unwrap();
            assert_eq!(
                r.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {auth:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_credentials_are_rate_limited_per_address() {
    let s = start(None, None, |_| {}).await;
    let mut statuses = Vec::new();
    for i in 0..100 {
        let (st, _) = s
            .call(
                Method::PUT,
                "/v1/orgs/x",
                Some(&format!("wrong-key-{i}")),
                Some(json!({"name": "x", "plan": "basic"})),
            )
            .await;
        statuses.push(st);
    }
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(limited >= 70, "{limited} of 100 wrong keys answered 429");
    assert!(statuses[..20]
        .iter()
        .all(|s| *s == StatusCode::UNAUTHORIZED));
    // The right key still works from the same address.
    let (st, v) = s
        .admin(
            Method::PUT,
            "/v1/orgs/x",
            json!({"name": "x", "plan": "basic"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_operator_key_is_refused_at_start() {
    for key in ["", "short", &"k".repeat(31)] {
        let config = Config {
            database: "sqlite::memory:".into(),
            admin_key: Some(key.to_string()),
            ..Config::default()
        };
        let err = AppState::new(config).await.err().expect("refused");
        assert!(err.to_string().contains("at least 32"), "{err}");
    }
    let config = Config {
        database: "sqlite::memory:".into(),
        admin_key: Some("k".repeat(32)),
        ..Config::default()
    };
    assert!(AppState::new(config).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_about_strangers_answer_like_unknown_ids() {
    let s = start(None, None, |_| {}).await;
    let [avery, _, diego, _, eve] = seed(&s).await;
    let c = s.conversation(&["avery", "diego"]).await;
    let (st, _) = s.post(&diego, &c, "hello", "d1").await;
    assert_eq!(st, StatusCode::CREATED);
    let report = |tok: String, user: &'static str| {
        let s = &s;
        async move {
            s.call(
                Method::POST,
                "/v1/reports",
                Some(&tok),
                Some(json!({"user_id": user, "reason": "spam"})),
            )
            .await
        }
    };
    let stranger = report(eve.clone(), "priya").await;
    let unknown = report(eve.clone(), "nobody-at-all").await;
    assert_eq!(stranger.0, StatusCode::NOT_FOUND, "{}", stranger.1);
    assert_eq!(
        stranger, unknown,
        "a stranger and an unknown id answer alike"
    );
    let (st, v) = report(avery, "diego").await;
    assert_eq!(
        st,
        StatusCode::CREATED,
        "a member of a shared conversation may: {v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_are_on_every_response_and_in_the_exported_page() {
    let s = start(None, None, |_| {}).await;
    let [avery, _, diego, ..] = seed(&s).await;
    let c = s.conversation(&["avery", "diego"]).await;
    let (st, _) = s
        .post(&diego, &c, "hello <script>alert(1)</script>", "d1")
        .await;
    assert_eq!(st, StatusCode::CREATED);
    for (path, auth) in [
        ("/v1/docs".to_string(), None),
        ("/v1/openapi.json".to_string(), None),
        ("/v1/health".to_string(), None),
        ("/v1/nope".to_string(), None),
        ("/v1/conversations".to_string(), None),
        ("/".to_string(), None),
        (
            format!("/v1/conversations/{c}/export?format=html"),
            Some(&avery),
        ),
        (
            format!("/v1/conversations/{c}/export?format=json"),
            Some(&avery),
        ),
    ] {
        let mut req = s.http.get(format!("{}{path}", s.base));
        if let Some(a) = auth {
            req = req.bearer_auth(a);
        }
        let r = req.send().await.unwrap();
        let h = r.headers();
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"))
            .to_str()
            .unwrap();
        assert!(csp.contains("default-src"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        if path.contains("format=html") {
            assert!(!csp.contains("script-src"), "exports run no script: {csp}");
            let text = r.text().await.unwrap();
            assert!(
                text.contains(
                    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'"
                ),
                "the saved page carries its own policy"
            );
            parley_server::export::verify_text(&text).expect("the page still verifies");
            // A page saved before the policy was added still verifies.
            let old = text.replacen(
                "\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'\">\n",
                "",
                1,
            );
            assert_ne!(old, text);
            parley_server::export::verify_text(&old).expect("older pages verify");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_alike_ids_and_invisible_characters_are_refused() {
    let s = start(None, None, |_| {}).await;
    seed(&s).await;
    for id in [
        "av%D0%B5ry",
        "a%2Fb",
        "a%20b",
        "x%E2%80%8B",
        "%E2%80%AEyreva",
    ] {
        let (st, v) = s
            .admin(
                Method::PUT,
                &format!("/v1/users/{id}"),
                json!({"name": "Avery Chen"}),
            )
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{id}: {v}");
        assert_error(&v, "invalid_request");
    }
    for name in [
        "Avery\u{202e}nehC",
        "Ave\u{200b}ry Chen",
        "\u{2066}Avery",
        "\u{0410}very Chen",
    ] {
        for path in ["/v1/users/spoof", "/v1/orgs/spoof"] {
            let (st, v) = s
                .admin(Method::PUT, path, json!({"name": name, "plan": "basic"}))
                .await;
            assert_eq!(st, StatusCode::BAD_REQUEST, "{path} {name:?}: {v}");
        }
    }
    for (id, name) in [
        ("ok-user_1.2", "Zoë Ødegård"),
        ("tanaka", "田中さん"),
        ("ivanova", "Мария Иванова"),
    ] {
        let (st, v) = s
            .admin(
                Method::PUT,
                &format!("/v1/users/{id}"),
                json!({"name": name}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{id} {name}: {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smaller_findings() {
    let s = start(None, None, |_| {}).await;
    seed(&s).await;
    // Empty and huge member lists: the same limit message.
    let many: Vec<String> = (0..5000).map(|i| format!("u{i}")).collect();
    let (st0, v0) = s
        .admin(Method::POST, "/v1/conversations", json!({"members": []}))
        .await;
    let (st1, v1) = s
        .admin(Method::POST, "/v1/conversations", json!({"members": many}))
        .await;
    assert_eq!(st0, StatusCode::BAD_REQUEST, "{v0}");
    assert_eq!((st0, &v0), (st1, &v1));
    // A body in another charset than UTF-8 is refused, not read as UTF-8.
    let r = s
        .http
        .put(format!("{}/v1/orgs/latin", s.base))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json; charset=latin1")
        .body(b"{\"name\":\"Caf\xe9\",\"plan\":\"basic\"}".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Demo sign-in on a database the demo did not create: the routes do not exist.
    let d = start(None, None, |c| c.demo = true).await;
    seed(&d).await;
    let (st, _) = d.call(Method::GET, "/v1/demo/users", None, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = d
        .call(Method::POST, "/v1/demo/users/avery/session", None, None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}
