//! The server over real HTTP and WebSocket on 127.0.0.1:0, against SQLite (temporary file) and
//! PostgreSQL (a fresh database when one answers; loud skip otherwise).

use futures_util::{SinkExt, StreamExt};
use parley_server::{AppState, Config};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as WsMsg;

const ADMIN: &str = "test-admin-key";
const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

struct Server {
    base: String,
    http: Client,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    _dir: Option<tempfile::TempDir>,
}

async fn start(
    database: Option<String>,
    policy: Option<&str>,
    tweak: impl FnOnce(&mut Config),
) -> Server {
    let (dir, database) = match database {
        Some(d) => (None, d),
        None => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("t.db").display());
            (Some(dir), url)
        }
    };
    let mut config = Config {
        database,
        admin_key: Some(ADMIN.into()),
        ..Config::default()
    };
    if let Some(p) = policy {
        let path = dir
            .as_ref()
            .map(|d| d.path().join("policy.toml"))
            .unwrap_or_else(|| {
                std::env::temp_dir().join(format!("parley-policy-{}.toml", unique()))
            });
        std::fs::write(&path, p).unwrap();
        config.policy = Some(path.display().to_string());
    }
    tweak(&mut config);
    let state = AppState::new(config).await.expect("server state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(parley_server::run(listener, state, async move {
        let _ = rx.await;
    }));
    Server {
        base: format!("http://{addr}"),
        http: Client::new(),
        _shutdown: tx,
        _dir: dir,
    }
}

fn unique() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    (t % 1_000_000_000) * 1000
        + N.fetch_add(1, Ordering::Relaxed) % 1000
        + u64::from(std::process::id() % 1000) * 7
}

/// A fresh PostgreSQL database, or None (loudly) when no server answers.
async fn postgres_url(test: &str) -> Option<String> {
    use sqlx::Connection;
    let admin = std::env::var("PARLEY_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG.into());
    let conn =
        tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&admin)).await;
    let mut conn = match conn {
        Ok(Ok(c)) => c,
        _ => {
            if std::env::var("PARLEY_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("PostgreSQL required but {admin} does not answer");
            }
            eprintln!("\n!!!!!!!! SKIPPING POSTGRESQL for {test}: {admin} does not answer. Only SQLite was tested. !!!!!!!!\n");
            return None;
        }
    };
    let name = format!("parley_srv_test_{}", unique());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let _ = conn.close().await;
    let base = match admin.rfind('/') {
        Some(i) if admin[..i].contains("://") && i > admin.find("://").unwrap() + 2 => &admin[..i],
        _ => admin.as_str(),
    };
    Some(format!("{base}/{name}"))
}

impl Server {
    async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(a) = auth {
            req = req.bearer_auth(a);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, v)
    }
    async fn admin(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(method, path, Some(ADMIN), Some(body)).await
    }
    async fn token(&self, user: &str) -> String {
        let (st, v) = self
            .call(
                Method::POST,
                &format!("/v1/users/{user}/tokens"),
                Some(ADMIN),
                None,
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        v["token"].as_str().unwrap().to_string()
    }
    async fn post(
        &self,
        tok: &str,
        conv: &str,
        body: &str,
        client_id: &str,
    ) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            &format!("/v1/conversations/{conv}/messages"),
            Some(tok),
            Some(json!({"body": body, "client_id": client_id})),
        )
        .await
    }
    async fn conversation(&self, members: &[&str]) -> String {
        let (st, v) = self
            .admin(
                Method::POST,
                "/v1/conversations",
                json!({"members": members, "subject": "t"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_string()
    }
    async fn ws(&self, tok: &str, cursor: Option<i64>) -> Ws {
        let mut url = format!(
            "{}/v1/ws?token={tok}",
            self.base.replace("http://", "ws://")
        );
        if let Some(c) = cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("ws connect");
        Ws(ws)
    }
}

struct Ws(
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
);

impl Ws {
    /// The next event frame (generous timeout: a hang fails instead of blocking forever).
    async fn next(&mut self) -> Value {
        loop {
            let m = tokio::time::timeout(Duration::from_secs(20), self.0.next())
                .await
                .expect("no websocket event")
                .expect("socket closed")
                .unwrap();
            if let WsMsg::Text(t) = m {
                return serde_json::from_str(t.as_str()).unwrap();
            }
        }
    }
    async fn next_of(&mut self, ty: &str) -> Value {
        loop {
            let v = self.next().await;
            if v["type"] == ty {
                return v;
            }
        }
    }
    async fn send(&mut self, v: Value) {
        self.0
            .send(WsMsg::Text(v.to_string().into()))
            .await
            .unwrap();
    }
}

/// The marketplace of the tests; returns tokens (avery, priya, diego, mei, eve).
async fn seed(s: &Server) -> [String; 5] {
    for (id, name, plan) in [
        ("northwind", "Northwind Labs", "basic"),
        ("contoso", "Contoso", "enterprise"),
    ] {
        let (st, v) = s
            .admin(
                Method::PUT,
                &format!("/v1/orgs/{id}"),
                json!({"name": name, "plan": plan}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    // Idempotent PUT: 200 the second time.
    let (st, _) = s
        .admin(
            Method::PUT,
            "/v1/orgs/northwind",
            json!({"name": "Northwind Labs", "plan": "basic"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    for (id, org, role) in [
        ("avery", Some("northwind"), "client"),
        ("priya", Some("contoso"), "client"),
        ("diego", None, "freelancer"),
        ("mei", None, "freelancer"),
        ("eve", None, "freelancer"),
    ] {
        let (st, v) = s
            .admin(
                Method::PUT,
                &format!("/v1/users/{id}"),
                json!({"name": id, "org_id": org, "roles": [role]}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    let (st, v) = s
        .admin(
            Method::PUT,
            "/v1/contracts/ct1",
            json!({"client_org_id": "northwind", "freelancer_id": "mei", "status": "active"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    [
        s.token("avery").await,
        s.token("priya").await,
        s.token("diego").await,
        s.token("mei").await,
        s.token("eve").await,
    ]
}

fn assert_error(v: &Value, code: &str) {
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
}

async fn main_flow(s: &Server) {
    let [avery, priya, diego, mei, eve] = seed(s).await;

    // Auth and error shapes.
    let (st, v) = s.call(Method::GET, "/v1/conversations", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_error(&v, "unauthorized");
    let (st, v) = s
        .call(
            Method::PUT,
            "/v1/orgs/x",
            Some("wrong"),
            Some(json!({"name": "x", "plan": "basic"})),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_error(&v, "unauthorized");
    let (st, v) = s
        .call(
            Method::PUT,
            "/v1/orgs/x",
            Some(&avery),
            Some(json!({"name": "x", "plan": "basic"})),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::UNAUTHORIZED,
        "a user token is not the operator key: {v}"
    );
    let (st, v) = s.call(Method::GET, "/v1/nope", None, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_error(&v, "not_found");
    let (st, v) = s.admin(Method::PUT, "/v1/orgs/x", json!({"name": 5})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_error(&v, "invalid_request");
    let (st, v) = s
        .admin(
            Method::PUT,
            "/v1/contracts/c9",
            json!({"client_org_id": "northwind", "freelancer_id": "mei", "status": "signed"}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let big = "a".repeat(100_000);
    let (st, v) = s
        .admin(
            Method::PUT,
            "/v1/orgs/x",
            json!({"name": big, "plan": "basic"}),
        )
        .await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_error(&v, "too_large");

    // Texts of the integration API are checked on their surface; rejected ones are not stored.
    let (st, v) = s
        .admin(
            Method::PUT,
            "/v1/users/diego/profile",
            json!({"headline": "Designer", "bio": "Call me at +1 415 555 0134"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_error(&v, "policy_violation");
    assert!(
        !v["error"]["findings"].as_array().unwrap().is_empty(),
        "{v}"
    );
    let (st, v) = s
        .admin(
            Method::PUT,
            "/v1/users/diego/profile",
            json!({"headline": "Designer", "bio": "Webflow, Figma, 8 years"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "nothing was stored before: {v}");
    let (st, v) = s
        .admin(Method::PUT, "/v1/jobs/j1", json!({"org_id": "northwind", "title": "Landing page redesign", "description": "Email me your CV at hr@northwind-labs.com"}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = s
        .admin(Method::PUT, "/v1/jobs/j1", json!({"org_id": "northwind", "title": "Landing page redesign", "description": "New hero and pricing; budget $3,000"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, v) = s
        .admin(Method::PUT, "/v1/proposals/p1", json!({"job_id": "j1", "freelancer_id": "diego", "cover_letter": "Reach me on WhatsApp +1 415 555 0134"}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = s
        .admin(Method::PUT, "/v1/proposals/p1", json!({"job_id": "j1", "freelancer_id": "diego", "cover_letter": "I can deliver in two weeks for $2,800."}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    // Mei has an active contract with Northwind: an invite to her may carry a phone number.
    let (st, v) = s
        .admin(Method::PUT, "/v1/invites/i1", json!({"org_id": "northwind", "freelancer_id": "mei", "message": "Second project! Call me at +1 415 555 0100"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, v) = s
        .admin(Method::PUT, "/v1/invites/i2", json!({"org_id": "northwind", "freelancer_id": "diego", "message": "Call me at +1 415 555 0100"}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // Pre-contract conversation: Avery (basic) and Diego.
    let c1 = s.conversation(&["avery", "diego"]).await;
    let (st, v) = s
        .post(&diego, &c1, "My number is +1 415 555 0134, text me", "m1")
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_error(&v, "policy_violation");
    assert!(v["error"]["findings"][0]["rule"].is_string(), "{v}");
    let (st, v) = s
        .post(
            &diego,
            &c1,
            "Happy to start Monday; the total is $2,800 for 3 pages.",
            "m2",
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["decision"]["action"], "allow");
    let m2 = v["message"]["id"].as_i64().unwrap();
    // Safe retry: same client_id, one message.
    let (st, v) = s
        .post(
            &diego,
            &c1,
            "Happy to start Monday; the total is $2,800 for 3 pages.",
            "m2",
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(v["message"]["id"].as_i64(), Some(m2));
    let (st, v) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{c1}/messages"),
            Some(&avery),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let msgs = v["messages"].as_array().unwrap();
    assert_eq!(
        msgs.len(),
        1,
        "blocked message not stored, retry stored once: {v}"
    );
    assert_eq!(
        msgs[0]["body"],
        "Happy to start Monday; the total is $2,800 for 3 pages."
    );
    // Conversation list: last message and unread count.
    let (_, v) = s
        .call(Method::GET, "/v1/conversations", Some(&avery), None)
        .await;
    let conv = v["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == c1.as_str())
        .unwrap()
        .clone();
    assert_eq!(conv["unread"], 1, "{v}");
    assert_eq!(conv["last_message"]["id"].as_i64(), Some(m2));
    let (st, v) = s
        .call(
            Method::POST,
            &format!("/v1/conversations/{c1}/read"),
            Some(&avery),
            Some(json!({"message_id": m2})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (_, v) = s
        .call(Method::GET, "/v1/conversations", Some(&avery), None)
        .await;
    let conv = v["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == c1.as_str())
        .unwrap()
        .clone();
    assert_eq!(conv["unread"], 0, "{v}");

    // Draft check.
    let (st, v) = s
        .call(
            Method::POST,
            "/v1/check",
            Some(&diego),
            Some(json!({"body": "ping me at diego.ramos@gmail.com", "conversation_id": c1})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["action"], "block", "{v}");

    // Stage from contracts: Avery and Mei share phone numbers freely.
    let c2 = s.conversation(&["avery", "mei"]).await;
    let (st, v) = s.post(&mei, &c2, "My phone is +1 415 555 0199", "x1").await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["message"]["body"], "My phone is +1 415 555 0199");
    assert_eq!(v["decision"]["stage"], "active_contract");
    // Enterprise client: exempt plan.
    let c3 = s.conversation(&["priya", "diego"]).await;
    let (st, v) = s
        .post(&priya, &c3, "Call me at +1 415 555 0177", "y1")
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    // Several recipients: the strictest decision (Diego is pre-contract with Northwind).
    let c4 = s.conversation(&["avery", "mei", "diego"]).await;
    let (st, v) = s
        .post(&avery, &c4, "Call me at +1 415 555 0100", "z1")
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // Edit (checked again) and delete.
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/v1/conversations/{c1}/messages/{m2}"),
            Some(&diego),
            Some(json!({"body": "text me: +1 415 555 0134"})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/v1/conversations/{c1}/messages/{m2}"),
            Some(&diego),
            Some(json!({"body": "Happy to start Tuesday."})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["message"]["version"], 2);
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/v1/conversations/{c1}/messages/{m2}"),
            Some(&avery),
            Some(json!({"body": "hijack"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    assert_error(&v, "forbidden");
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/conversations/{c1}/messages/{m2}"),
            Some(&avery),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Live delivery and replay over WebSocket.
    let mut ws = s.ws(&avery, None).await;
    let (st, v) = s
        .post(&diego, &c1, "Here are the wireframes for review.", "m3")
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let m3 = v["message"]["id"].as_i64().unwrap();
    let ev = ws.next_of("message.created").await;
    assert_eq!(ev["message"]["id"].as_i64(), Some(m3), "{ev}");
    assert_eq!(ev["message"]["body"], "Here are the wireframes for review.");
    assert!(
        ev["message"]["client_id"].is_null(),
        "recipients do not see the sender's client_id"
    );
    let cursor = ev["seq"].as_i64().unwrap();
    // Typing over the socket reaches the other member.
    let mut ws_d = s.ws(&diego, None).await;
    ws.send(json!({"type": "typing", "conversation_id": c1}))
        .await;
    let ev = ws_d.next_of("typing").await;
    assert_eq!(ev["user_id"], "avery");
    ws.send(json!({"type": "typing", "conversation_id": c3}))
        .await;
    let ev = ws.next_of("error").await;
    assert_eq!(
        ev["code"], "not_found",
        "typing in someone else's conversation"
    );
    drop(ws);
    // Missed while offline: an edit, a delete, a new message, a read marker.
    s.call(
        Method::PATCH,
        &format!("/v1/conversations/{c1}/messages/{m3}"),
        Some(&diego),
        Some(json!({"body": "Wireframes v2."})),
    )
    .await;
    let (_, v) = s.post(&diego, &c1, "Any feedback?", "m4").await;
    let m4 = v["message"]["id"].as_i64().unwrap();
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/conversations/{c1}/messages/{m2}"),
            Some(&diego),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    s.call(
        Method::POST,
        &format!("/v1/conversations/{c1}/read"),
        Some(&diego),
        Some(json!({"message_id": m4})),
    )
    .await;
    let mut ws = s.ws(&avery, Some(cursor)).await;
    let e1 = ws.next().await;
    assert_eq!(e1["type"], "message.updated", "{e1}");
    assert_eq!(e1["message"]["body"], "Wireframes v2.");
    let e2 = ws.next().await;
    assert_eq!(e2["type"], "message.created", "{e2}");
    assert_eq!(e2["message"]["id"].as_i64(), Some(m4));
    let e3 = ws.next().await;
    assert_eq!(e3["type"], "message.deleted", "{e3}");
    assert!(e3["message"]["body"].is_null());
    let e4 = ws.next().await;
    assert_eq!(e4["type"], "read", "{e4}");
    assert_eq!(e4["user_id"], "diego");
    // The same over HTTP.
    let (st, v) = s
        .call(
            Method::GET,
            &format!("/v1/events?cursor={cursor}"),
            Some(&avery),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["events"].as_array().unwrap().len(), 4, "{v}");
    // Pagination: newest last, cursor backwards.
    for i in 0..5 {
        s.post(&avery, &c2, &format!("update {i}"), &format!("u{i}"))
            .await;
    }
    let (_, v) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{c2}/messages?limit=3"),
            Some(&mei),
            None,
        )
        .await;
    let page: Vec<&str> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(page, ["update 2", "update 3", "update 4"]);
    assert_eq!(v["has_more"], true);
    let first = v["messages"][0]["id"].as_i64().unwrap();
    let (_, v) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{c2}/messages?limit=3&before={first}"),
            Some(&mei),
            None,
        )
        .await;
    let page: Vec<&str> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        page,
        ["My phone is +1 415 555 0199", "update 0", "update 1"]
    );

    // Non-members get 404 on every conversation route.
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/v1/conversations/{c1}"), None),
        (
            Method::GET,
            format!("/v1/conversations/{c1}/messages"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c1}/messages"),
            Some(json!({"body": "hi", "client_id": "e1"})),
        ),
        (
            Method::PATCH,
            format!("/v1/conversations/{c1}/messages/{m3}"),
            Some(json!({"body": "x"})),
        ),
        (
            Method::DELETE,
            format!("/v1/conversations/{c1}/messages/{m3}"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/conversations/{c1}/read"),
            Some(json!({"message_id": m3})),
        ),
        (Method::POST, format!("/v1/conversations/{c1}/typing"), None),
        (
            Method::POST,
            "/v1/check".to_string(),
            Some(json!({"body": "hi", "conversation_id": c1})),
        ),
    ];
    for (m, path, body) in &routes {
        let (st, v) = s.call(m.clone(), path, Some(&eve), body.clone()).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{m} {path}: {v}");
        assert_error(&v, "not_found");
        // A message of another conversation through a conversation one is a member of: 404 too.
    }
    let c5 = s.conversation(&["eve", "avery"]).await;
    let (st, _) = s
        .call(
            Method::PATCH,
            &format!("/v1/conversations/{c5}/messages/{m3}"),
            Some(&avery),
            Some(json!({"body": "x"})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, v) = s
        .call(Method::GET, "/v1/conversations", Some(&eve), None)
        .await;
    assert_eq!(
        v["conversations"].as_array().unwrap().len(),
        1,
        "eve sees only her conversation"
    );
    let (st, v) = s
        .call(Method::GET, "/v1/events?cursor=0", Some(&eve), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["conversation_id"] == c5.as_str()),
        "{v}"
    );

    // Revoked tokens stop working.
    let (st, _) = s
        .call(Method::DELETE, "/v1/users/eve/tokens", Some(ADMIN), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .call(Method::GET, "/v1/conversations", Some(&eve), None)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_on_sqlite() {
    let s = start(None, None, |_| {}).await;
    main_flow(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_on_postgres() {
    let Some(url) = postgres_url("flows_on_postgres").await else {
        return;
    };
    let s = start(Some(url), None, |_| {}).await;
    main_flow(&s).await;
}

/// An operator policy where phone numbers are masked, emails held, and requests answered with a notice.
const OPERATOR_POLICY: &str = r#"
[actions.message]
phone = { high = "mask", medium = "mask" }
email = { high = "hold_for_review", medium = "hold_for_review" }
request = { high = "allow_with_notice", medium = "allow_with_notice" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn masked_held_and_notice_decisions() {
    let s = start(None, Some(OPERATOR_POLICY), |_| {}).await;
    let [avery, _, diego, _, _] = seed(&s).await;
    let c = s.conversation(&["avery", "diego"]).await;
    let mut ws = s.ws(&avery, None).await;

    let (st, v) = s
        .post(&diego, &c, "Call me at +1 415 555 0134 tomorrow", "a")
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["decision"]["action"], "mask");
    assert_eq!(
        v["message"]["body"], "Call me at +1 415 555 0134 tomorrow",
        "the author sees what they wrote"
    );
    let delivered = v["message"]["delivered_body"].as_str().unwrap().to_string();
    assert!(!delivered.contains("555"), "{delivered}");
    let ev = ws.next_of("message.created").await;
    assert_eq!(
        ev["message"]["body"],
        delivered.as_str(),
        "the recipient gets the masked text: {ev}"
    );
    assert!(ev["message"].get("delivered_body").is_none());

    let (st, v) = s
        .post(&diego, &c, "write to diego.ramos@gmail.com", "b")
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["message"]["state"], "held");
    let (_, v) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{c}/messages"),
            Some(&avery),
            None,
        )
        .await;
    assert_eq!(
        v["messages"].as_array().unwrap().len(),
        1,
        "held messages are not shown to recipients: {v}"
    );
    let (_, v) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{c}/messages"),
            Some(&diego),
            None,
        )
        .await;
    assert_eq!(
        v["messages"].as_array().unwrap().len(),
        2,
        "the author sees the held message: {v}"
    );

    let (st, v) = s
        .post(
            &diego,
            &c,
            "What's your WhatsApp? Let's move the chat there.",
            "n",
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["decision"]["action"], "allow_with_notice", "{v}");
    let ev = ws.next_of("message.created").await;
    assert!(
        ev["message"]["notice"].is_string(),
        "the recipient sees the reminder: {ev}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_per_user() {
    let s = start(None, None, |c| {
        c.user_burst = 3.0;
        c.user_rate_per_sec = 0.001;
    })
    .await;
    let [avery, _, diego, ..] = seed(&s).await;
    for _ in 0..3 {
        let (st, _) = s
            .call(Method::GET, "/v1/conversations", Some(&avery), None)
            .await;
        assert_eq!(st, StatusCode::OK);
    }
    let (st, v) = s
        .call(Method::GET, "/v1/conversations", Some(&avery), None)
        .await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    assert_error(&v, "rate_limited");
    let (st, _) = s
        .call(Method::GET, "/v1/conversations", Some(&diego), None)
        .await;
    assert_eq!(st, StatusCode::OK, "limits are per user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_and_docs_are_served() {
    let s = start(None, None, |_| {}).await;
    let (st, v) = s.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(v["paths"]["/v1/conversations/{id}/messages"]["post"].is_object());
    let (st, v) = s.call(Method::GET, "/v1/docs", None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(v.as_str().unwrap().contains("Parley API"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_policy_file_fails_at_start_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "[tiers]\nhigh = 1.5\n").unwrap();
    let Err(err) = parley_server::load_policy(Some(p.to_str().unwrap())) else {
        panic!("a bad policy file must fail");
    };
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_seeds_only_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        database: format!("sqlite://{}", dir.path().join("demo.db").display()),
        ..Config::default()
    };
    let state = AppState::new(config).await.unwrap();
    assert!(parley_server::demo::seed(&state).await.unwrap());
    assert!(
        !parley_server::demo::seed(&state).await.unwrap(),
        "second run leaves the data alone"
    );
    let list = state
        .store()
        .list_conversations("avery", None, 50)
        .await
        .unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|c| c.last_message.is_some()));
}

/// Child mode of `acknowledged_messages_survive_kill_9`: serves the database given in the
/// environment and prints its address (does nothing otherwise).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_server_child() {
    let Ok(url) = std::env::var("PARLEY_SERVER_KILL9_DB") else {
        return;
    };
    let config = Config {
        database: url,
        admin_key: Some(ADMIN.into()),
        user_burst: 1e9,
        user_rate_per_sec: 1e9,
        ..Config::default()
    };
    let state = AppState::new(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("LISTEN {}", listener.local_addr().unwrap());
    parley_server::run(listener, state, std::future::pending())
        .await
        .unwrap();
}

fn spawn_server_child(db: &str) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill9_server_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PARLEY_SERVER_KILL9_DB", db)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("child exited").unwrap();
        // libtest may print "test name ... " on the same line first.
        if let Some(i) = line.find("LISTEN ") {
            break line[i + 7..].trim().to_string();
        }
    };
    // Keep draining the child's output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, format!("http://{addr}"))
}

/// A message acknowledged (201) by the server survives `kill -9` of the server: the server
/// runs as a child process (this binary in child mode), several senders post concurrently, the
/// parent SIGKILLs it mid-stream, restarts it on the same SQLite file and finds every
/// acknowledged message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("kill9.db").display());
    let (mut child, base) = spawn_server_child(&db);
    let s = Server {
        base,
        http: Client::new(),
        _shutdown: tokio::sync::oneshot::channel().0,
        _dir: None,
    };
    let [avery, _, _, mei, _] = seed(&s).await;
    let conv = s.conversation(&["avery", "mei"]).await;
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(i64, String)>::new()));
    let mut tasks = Vec::new();
    for t in 0..6 {
        let (http, base, tok, conv, acked) = (
            s.http.clone(),
            s.base.clone(),
            avery.clone(),
            conv.clone(),
            acked.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for i in 0..100_000 {
                let client_id = format!("t{t}-{i}");
                let r = http
                    .post(format!("{base}/v1/conversations/{conv}/messages"))
                    .bearer_auth(&tok)
                    .json(&json!({"body": "durable?", "client_id": client_id}))
                    .send()
                    .await;
                let Ok(r) = r else { return };
                if r.status() != StatusCode::CREATED {
                    eprintln!("post answered {}: {:?}", r.status(), r.text().await);
                    return;
                }
                let Ok(v) = r.json::<Value>().await else {
                    return;
                };
                acked
                    .lock()
                    .unwrap()
                    .push((v["message"]["id"].as_i64().unwrap(), client_id));
            }
        }));
    }
    for _ in 0..3000 {
        if acked.lock().unwrap().len() >= 300 || tasks.iter().all(|t| t.is_finished()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL, with posts in flight
    let _ = child.wait();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 300);
    let (mut child, base) = spawn_server_child(&db);
    let s2 = Server {
        base,
        http: Client::new(),
        _shutdown: tokio::sync::oneshot::channel().0,
        _dir: None,
    };
    let mut seen = std::collections::HashMap::new();
    let mut before: Option<i64> = None;
    loop {
        let path = match before {
            Some(b) => format!("/v1/conversations/{conv}/messages?limit=200&before={b}"),
            None => format!("/v1/conversations/{conv}/messages?limit=200"),
        };
        let (st, v) = s2.call(Method::GET, &path, Some(&mei), None).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let msgs = v["messages"].as_array().unwrap();
        for m in msgs {
            seen.insert(m["id"].as_i64().unwrap(), m["body"].clone());
        }
        if v["has_more"] != true || msgs.is_empty() {
            break;
        }
        before = msgs[0]["id"].as_i64();
    }
    let _ = child.kill();
    let _ = child.wait();
    for (id, client_id) in &acked {
        assert!(
            seen.contains_key(id),
            "acknowledged message {id} ({client_id}) lost"
        );
    }
}

/// Posts `parts` in order; every part but the last must pass untouched. Returns the ids of the
/// earlier parts and the answer to the last.
async fn post_parts(
    s: &Server,
    tok: &str,
    conv: &str,
    tag: &str,
    parts: &[&str],
) -> (Vec<i64>, StatusCode, Value) {
    let mut ids = Vec::new();
    for (i, p) in parts[..parts.len() - 1].iter().enumerate() {
        let (st, v) = s.post(tok, conv, p, &format!("{tag}{i}")).await;
        assert_eq!(st, StatusCode::CREATED, "{p:?}: {v}");
        assert_eq!(v["decision"]["action"], "allow", "{p:?} alone: {v}");
        ids.push(v["message"]["id"].as_i64().unwrap());
    }
    let (st, v) = s
        .post(tok, conv, parts[parts.len() - 1], &format!("{tag}last"))
        .await;
    (ids, st, v)
}

/// The findings of a blocked (422) or stored (201/202) answer.
fn findings_of(v: &Value) -> Vec<Value> {
    let f = if v.get("error").is_some() {
        &v["error"]["findings"]
    } else {
        &v["decision"]["findings"]
    };
    f.as_array().cloned().unwrap_or_default()
}

async fn split_flow(s: &Server) {
    let [avery, _, diego, _, _] = seed(s).await;
    let c = s.conversation(&["avery", "diego"]).await;
    let mut ws = s.ws(&avery, None).await;

    // A number over three messages: the third is caught and points at all three.
    let (ids, st, v) = post_parts(s, &diego, &c, "n", &["my number is 312", "555", "0148"]).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_error(&v, "policy_violation");
    let f = findings_of(&v);
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["category"], "phone", "{v}");
    assert_eq!(f[0]["message_ids"], json!(ids), "{v}");
    assert!(
        v["error"]["explanation"]
            .as_str()
            .unwrap()
            .contains("split over several messages"),
        "{v}"
    );
    // The recipient got the two harmless parts, never the third.
    for want in ["my number is 312", "555"] {
        let ev = ws.next_of("message.created").await;
        assert_eq!(ev["message"]["body"], want, "{ev}");
    }
    // The decision is recorded with the messages involved.
    let (_, v) = s
        .call(
            Method::POST,
            "/v1/check",
            Some(&diego),
            Some(json!({"body": "0148", "conversation_id": c})),
        )
        .await;
    assert_eq!(
        v["action"], "block",
        "the live check sees the split too: {v}"
    );
    assert_eq!(v["findings"][0]["message_ids"], json!(ids), "{v}");

    // An email over two messages, in a fresh conversation.
    let c2 = s.conversation(&["avery", "diego"]).await;
    let (ids, st, v) = post_parts(
        s,
        &diego,
        &c2,
        "e",
        &["reach me at diego.ramos", "@gmail.com"],
    )
    .await;
    assert_ne!(
        st,
        StatusCode::CREATED,
        "an email split over two messages passed: {v}"
    );
    let f = findings_of(&v);
    assert!(
        f.iter()
            .any(|x| x["category"] == "email" && x["message_ids"] == json!(ids)),
        "{v}"
    );

    // An honest conversation: prices, dates, order numbers and quantities over several lines.
    let c3 = s.conversation(&["avery", "diego"]).await;
    for (i, t) in [
        "The total is 450 USD",
        "due 12/03",
        "order 88213",
        "2 revisions included",
        "delivery by 2025-07-14",
        "invoice 2024-118",
        "page 3 of 12",
        "budget 1,200",
        "version 4.2.1",
        "call at 10:30",
    ]
    .iter()
    .enumerate()
    {
        let (st, v) = s.post(&avery, &c3, t, &format!("h{i}")).await;
        assert_eq!(st, StatusCode::CREATED, "{t:?}: {v}");
        assert_eq!(v["decision"]["action"], "allow", "{t:?} was flagged: {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_contact_details_on_sqlite() {
    let s = start(None, None, |_| {}).await;
    split_flow(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_contact_details_on_postgres() {
    let Some(url) = postgres_url("split_contact_details_on_postgres").await else {
        return;
    };
    let s = start(Some(url), None, |_| {}).await;
    split_flow(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_windows_are_read_back_from_the_store() {
    // A restarted node (or another one) has no window in memory: it reads it from the store.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("w.db").display());
    let s = start(Some(db.clone()), None, |_| {}).await;
    let [_, _, diego, ..] = seed(&s).await;
    let c = s.conversation(&["avery", "diego"]).await;
    let (ids, st, v) = post_parts(&s, &diego, &c, "a", &["my number is 312", "555"]).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let mut ids = ids;
    ids.push(v["message"]["id"].as_i64().unwrap());
    drop(s);
    let s2 = start(Some(db), None, |_| {}).await;
    let (st, v) = s2.post(&diego, &c, "0148", "b").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(findings_of(&v)[0]["message_ids"], json!(ids), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caches_follow_integration_changes_on_every_node() {
    // Two nodes on one database and one bus.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("n.db").display());
    let bus: std::sync::Arc<dyn parley_server::Bus> =
        std::sync::Arc::new(parley_server::LocalBus::default());
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let config = Config {
            database: db.clone(),
            admin_key: Some(ADMIN.into()),
            ..Config::default()
        };
        let store = parley_store::Store::connect(&db).await.unwrap();
        let state =
            AppState::with_parts(config, store, parley_policy::Policy::default(), bus.clone())
                .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(parley_server::run(listener, state, async move {
            let _ = rx.await;
        }));
        nodes.push(Server {
            base: format!("http://{addr}"),
            http: Client::new(),
            _shutdown: tx,
            _dir: None,
        });
    }
    let (a, b) = (&nodes[0], &nodes[1]);
    // Avery's organisation is on the basic plan (Priya's enterprise plan is exempt).
    let [avery, _, _, _, eve] = seed(a).await;
    let c = a.conversation(&["avery", "eve"]).await;
    let phone = "Call me at +1 415 555 0134";

    // Before a contract: blocked on both nodes (and the context is now cached on both).
    for (n, node) in [a, b].iter().enumerate() {
        let (st, v) = node.post(&avery, &c, phone, &format!("p{n}")).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "node {n}: {v}");
    }
    // The contract starts (through node a): the phone passes at once on node a...
    let (st, _) = a
        .admin(
            Method::PUT,
            "/v1/contracts/ct-eve",
            json!({"client_org_id": "northwind", "freelancer_id": "eve", "status": "active"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, v) = a.post(&avery, &c, phone, "q0").await;
    assert_eq!(st, StatusCode::CREATED, "node a kept a stale stage: {v}");
    assert_eq!(v["decision"]["stage"], "active_contract", "{v}");
    // ... and on node b as soon as the bus has carried the invalidation.
    let mut ok = false;
    for i in 0..100 {
        let (st, _) = b.post(&avery, &c, phone, &format!("q1-{i}")).await;
        if st == StatusCode::CREATED {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "node b kept a stale stage");
    // The contract ends: the number is blocked again at once on node a.
    let (st, _) = a
        .admin(
            Method::PUT,
            "/v1/contracts/ct-eve",
            json!({"client_org_id": "northwind", "freelancer_id": "eve", "status": "ended"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = a
        .call(
            Method::POST,
            "/v1/check",
            Some(&avery),
            Some(json!({"body": phone, "conversation_id": c})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["stage"], "ended_contract",
        "node a kept a stale stage: {v}"
    );

    // Eve's token is cached on both nodes; revoking it through node a shuts it out of a at
    // once and out of b through the bus.
    for node in [a, b] {
        let (st, _) = node
            .call(Method::GET, "/v1/conversations", Some(&eve), None)
            .await;
        assert_eq!(st, StatusCode::OK);
    }
    let (st, _) = a
        .call(Method::DELETE, "/v1/users/eve/tokens", Some(ADMIN), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = a
        .call(Method::GET, "/v1/conversations", Some(&eve), None)
        .await;
    assert_eq!(
        st,
        StatusCode::UNAUTHORIZED,
        "node a served a revoked token"
    );
    let mut shut = false;
    for _ in 0..100 {
        let (st, _) = b
            .call(Method::GET, "/v1/conversations", Some(&eve), None)
            .await;
        if st == StatusCode::UNAUTHORIZED {
            shut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(shut, "node b served a revoked token");
}
