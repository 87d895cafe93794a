//! The server over real HTTP and WebSocket on 127.0.0.1:0, against SQLite (temporary file) and
//! PostgreSQL (a fresh database when one answers; loud skip otherwise).

use futures_util::{SinkExt, StreamExt};
use parley_server::{AppState, Config};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as WsMsg;

#[path = "api/crash.rs"]
mod crash;
#[path = "api/embed.rs"]
mod embed;
#[path = "api/jwt.rs"]
mod jwt;
#[path = "api/security.rs"]
mod security;
#[path = "api/webhook_verifiers.rs"]
mod webhook_verifiers;
#[path = "api/webhooks.rs"]
mod webhooks;

/// The operator dashboard; the `file.held` and `call.ended` operator events.
#[path = "api/dashboard.rs"]
mod dashboard;

const ADMIN: &str = "test-admin-key-of-at-least-32-bytes";
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
    if config.files.storage.is_empty() {
        // Not `parley-files/` in the working directory (the default beside a PostgreSQL database).
        let files = std::env::temp_dir().join(format!("parley-test-files-{}", unique()));
        config.files.storage = files.display().to_string();
    }
    let state = AppState::new(config).await.expect("server state");
    serve(state, dir).await
}

/// Serves `state` on a free loopback port until the returned server is dropped (`dir`, the
/// temporary directory of its database, lives as long).
async fn serve(state: AppState, dir: Option<tempfile::TempDir>) -> Server {
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
    /// The operator event feed (`GET /v1/operator/events`), oldest first, up to 1,000.
    async fn operator_events(&self) -> Vec<Value> {
        let (st, v) = self
            .call(
                Method::GET,
                "/v1/operator/events?limit=1000",
                Some(ADMIN),
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        v["events"].as_array().unwrap().clone()
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

/// One flow as two tests on a fresh server: `$sqlite` on SQLite, `$pg` on a throwaway PostgreSQL
/// database (skipped loudly when there is none, unless PARLEY_TEST_REQUIRE_POSTGRES is set).
macro_rules! on_both_backends {
    ($sqlite:ident, $pg:ident, $policy:expr, $flow:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            let s = start(None, $policy, |_| {}).await;
            $flow(&s).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $pg() {
            let Some(url) = postgres_url(stringify!($pg)).await else {
                return;
            };
            let s = start(Some(url), $policy, |_| {}).await;
            $flow(&s).await;
        }
    };
}

on_both_backends!(flows_on_sqlite, flows_on_postgres, None, main_flow);

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
    // Files: tus (documented with its headers), downloads, moderation, with typed schemas.
    let p = &v["paths"];
    for (path, method) in [
        ("/v1/uploads", "post"),
        ("/v1/uploads", "options"),
        ("/v1/uploads/{id}", "head"),
        ("/v1/uploads/{id}", "patch"),
        ("/v1/uploads/{id}", "delete"),
        ("/v1/conversations/{id}/files", "get"),
        ("/v1/files/{id}", "get"),
        ("/v1/files/{id}/content", "get"),
        ("/v1/moderation/files", "get"),
        ("/v1/moderation/files/{id}/decision", "post"),
    ] {
        assert!(p[path][method].is_object(), "{method} {path}");
    }
    let patch = &p["/v1/uploads/{id}"]["patch"];
    for code in ["204", "409", "410", "412", "413", "415", "460"] {
        assert!(patch["responses"][code].is_object(), "PATCH {code}");
    }
    assert!(patch["responses"]["204"]["headers"]["Upload-Offset"].is_object());
    // Every operationId is unique (generated clients name their functions after them).
    let mut ids = std::collections::HashSet::new();
    for ops in p.as_object().unwrap().values() {
        for op in ops.as_object().unwrap().values() {
            if let Some(id) = op["operationId"].as_str() {
                assert!(ids.insert(id.to_string()), "operationId {id} twice");
            }
        }
    }
    let schemas = &v["components"]["schemas"];
    assert!(schemas["FileView"]["properties"]["state"].is_object());
    assert!(schemas["FileFinding"]["properties"]["place"].is_object());
    assert!(schemas["ModerationFileList"].is_object());
    let (st, v) = s.call(Method::GET, "/v1/docs", None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(v.as_str().unwrap().contains("Parley API"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_ui_is_served_with_types_cache_headers_and_csp() {
    let s = start(None, None, |_| {}).await;
    for (path, want) in [
        ("/", "text/html"),
        ("/app/app.js", "text/javascript"),
        ("/app/chat.js", "text/javascript"),
        ("/app/moderation.js", "text/javascript"),
        ("/app/app.css", "text/css"),
        ("/app/icon.svg", "image/svg+xml"),
    ] {
        let resp = s
            .http
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let h = resp.headers();
        let ct = h["content-type"].to_str().unwrap();
        assert!(ct.starts_with(want), "{path}: {ct}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["cache-control"], "no-cache");
        let etag = h["etag"].to_str().unwrap().to_string();
        let body = resp.text().await.unwrap();
        assert!(!body.is_empty(), "{path}");
        // Revalidation: the same ETag answers 304 with no body.
        let again = s
            .http
            .get(format!("{}{path}", s.base))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
    }
    let index = s
        .http
        .get(&s.base)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(index.contains(r#"<script type="module" src="/app/app.js"></script>"#));
    let (st, v) = s.call(Method::GET, "/app/nope.js", None, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_error(&v, "not_found");
    let (st, _) = s.call(Method::GET, "/app/../Cargo.toml", None, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_sign_in_only_in_demo_mode() {
    // Not in demo mode: the routes do not exist, even with the demo data present.
    let s = start(None, None, |_| {}).await;
    let (st, v) = s.call(Method::GET, "/v1/demo/users", None, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_error(&v, "not_found");
    let (st, _) = s
        .call(Method::POST, "/v1/demo/users/avery/session", None, None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Demo mode on a database the demo did not create (here an empty one): no sign-in.
    let s = start(None, None, |c| c.demo = true).await;
    let (st, v) = s.call(Method::GET, "/v1/demo/users", None, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");

    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        database: format!("sqlite://{}", dir.path().join("demo.db").display()),
        demo: true,
        ..Config::default()
    };
    let state = AppState::new(config).await.unwrap();
    assert!(parley_server::demo::seed(&state).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(parley_server::run(listener, state, async move {
        let _ = rx.await;
    }));
    let http = Client::new();
    let v: Value = http
        .get(format!("{base}/v1/demo/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let users = v["users"].as_array().unwrap();
    assert_eq!(users.len(), 5);
    assert_eq!(users[0]["name"], "Avery Chen");
    assert_eq!(users[0]["org"]["name"], "Northwind Labs");
    assert_eq!(users[0]["roles"], json!(["client"]));
    assert_eq!(users[0]["time_zone"], "America/Los_Angeles");
    let morgan = users.iter().find(|u| u["id"] == "morgan").unwrap();
    assert_eq!(morgan["roles"], json!(["moderator"]));
    assert!(morgan["org"].is_null());

    let resp = http
        .post(format!("{base}/v1/demo/users/diego/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let v: Value = resp.json().await.unwrap();
    let token = v["token"].as_str().unwrap().to_string();
    assert_eq!(v["user"]["name"], "Diego Ramos");
    // The token works on the client API, and /v1/me says who it is.
    let me: Value = http
        .get(format!("{base}/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], "diego");
    assert_eq!(me["time_zone"], "America/Mexico_City");
    let resp = http
        .get(format!("{base}/v1/conversations"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Only the demo's own people.
    let resp = http
        .post(format!("{base}/v1/demo/users/intruder/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = http.get(format!("{base}/v1/me")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
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

// ------------------------------------------------------------------ trust and safety (issue 6)

/// Emails are held for review; phone numbers stay blocked (the default).
const MODERATION_POLICY: &str = r#"
[actions.message]
email = { high = "hold_for_review", medium = "hold_for_review" }
"#;

async fn moderators(s: &Server) -> (String, String) {
    for (id, name) in [("morgan", "Morgan Lee"), ("jordan", "Jordan Blake")] {
        let (st, v) = s
            .admin(
                Method::PUT,
                &format!("/v1/users/{id}"),
                json!({"name": name, "roles": ["moderator"]}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    (s.token("morgan").await, s.token("jordan").await)
}

async fn queue(s: &Server, tok: &str, kind: &str) -> Vec<Value> {
    let (st, v) = s
        .call(
            Method::GET,
            &format!("/v1/moderation/queue?status=open&kind={kind}"),
            Some(tok),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().clone()
}

async fn decide(s: &Server, tok: &str, item: &str, action: &str) -> (StatusCode, Value) {
    s.call(
        Method::POST,
        &format!("/v1/moderation/items/{item}/decision"),
        Some(tok),
        Some(json!({"action": action, "note": "reviewed in test"})),
    )
    .await
}

async fn enforcements(s: &Server, tok: &str) -> Value {
    let (st, v) = s
        .call(Method::GET, "/v1/me/enforcements", Some(tok), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v
}

fn assert_statement(e: &Value, automated: bool) {
    let st = &e["statement"];
    assert!(st["facts"].as_str().is_some_and(|f| !f.is_empty()), "{e}");
    assert!(st["rule"].as_str().is_some_and(|f| !f.is_empty()), "{e}");
    assert_eq!(st["automated"], automated, "{e}");
    assert!(
        st["how_to_appeal"]
            .as_str()
            .is_some_and(|h| h.contains("/v1/appeals")),
        "{e}"
    );
    assert!(st["appeal_deadline"].as_i64().is_some(), "{e}");
}

async fn moderation_flow(s: &Server) {
    let [avery, priya, diego, _mei, eve] = seed(s).await;
    let (morgan, jordan) = moderators(s).await;

    // Only moderators (or the operator key) reach the moderation routes.
    for tok in [&avery, &diego] {
        for (method, path, body) in [
            (Method::GET, "/v1/moderation/queue", None),
            (
                Method::POST,
                "/v1/moderation/items/mi_1/decision",
                Some(json!({"action": "approve"})),
            ),
            (Method::GET, "/v1/moderation/stats?days=14", None),
        ] {
            let (st, v) = s.call(method, path, Some(tok), body).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{path}: {v}");
            assert_error(&v, "forbidden");
        }
    }
    let (st, _) = s
        .call(Method::GET, "/v1/moderation/queue", None, None)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) = s
        .call(Method::GET, "/v1/moderation/queue", Some(ADMIN), None)
        .await;
    assert_eq!(st, StatusCode::OK, "the operator key moderates too: {v}");

    // A held message approved and delivered live.
    let c = s.conversation(&["avery", "diego"]).await;
    let mut avery_ws = s.ws(&avery, None).await;
    let (st, _) = s
        .post(&avery, &c, "Hi Diego, thanks for applying", "h0")
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let held_text = "Sure, write to diego.ramos@gmail.com";
    let (st, v) = s.post(&diego, &c, held_text, "h1").await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    let held_id = v["message"]["id"].as_i64().unwrap();
    let items = queue(s, &morgan, "held_message").await;
    assert_eq!(items.len(), 1, "{items:?}");
    let it = &items[0];
    assert!(it["id"].as_str().unwrap().starts_with("mi_"), "{it}");
    assert_eq!(it["kind"], "held_message");
    assert_eq!(it["status"], "open");
    assert_eq!(it["message_id"], held_id);
    assert_eq!(it["conversation_id"], c.as_str());
    assert_eq!(it["subject_user"]["id"], "diego");
    assert_eq!(it["evidence"]["text"], held_text);
    let span = &it["evidence"]["spans"][0];
    let (a, b) = (
        span["start"].as_u64().unwrap() as usize,
        span["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&held_text[a..b], "diego.ramos@gmail.com", "{it}");
    assert_eq!(span["category"], "email");
    assert!(it["rule"].as_str().is_some_and(|r| !r.is_empty()), "{it}");
    assert!(it["confidence"].as_f64().is_some_and(|c| c > 0.0), "{it}");
    assert_eq!(it["decision"]["action"], "hold_for_review");
    assert_eq!(it["context"][0]["body"], "Hi Diego, thanks for applying");
    assert_eq!(it["context"][0]["author_name"], "avery");
    assert_eq!(it["sender_history"]["active_strikes"], 0);
    let item_id = it["id"].as_str().unwrap().to_string();
    let _ = avery_ws.next_of("message.created").await; // h0
    let (st, v) = decide(s, &morgan, &item_id, "approve").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["item"]["status"], "resolved");
    assert_eq!(v["item"]["resolution"]["action"], "approve");
    assert_eq!(v["item"]["resolution"]["moderator_id"], "morgan");
    let ev = avery_ws.next_of("message.created").await;
    assert_eq!(ev["message"]["id"], held_id, "{ev}");
    assert_eq!(ev["message"]["body"], held_text, "{ev}");
    let (st, v) = decide(s, &jordan, &item_id, "reject").await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert_error(&v, "already_resolved");
    let (st, v) = decide(s, &morgan, "mi_999999", "approve").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_error(&v, "not_found");
    let (st, v) = decide(s, &morgan, &item_id, "ban").await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(queue(s, &morgan, "held_message").await.is_empty());

    // A report merged (two reporters, one item) and resolved with a warning.
    let (st, v) = s
        .call(Method::GET, "/v1/reports/reasons", Some(&avery), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["reasons"].as_array().unwrap().len(), 6, "{v}");
    assert!(v["reasons"][0]["label"].is_string());
    let c3 = s.conversation(&["avery", "priya", "diego"]).await;
    let (_, v) = s
        .post(&diego, &c3, "Send the deposit first and I will start", "r1")
        .await;
    let reported = v["message"]["id"].as_i64().unwrap();
    let report = |reason: &str| json!({"message_id": reported, "reason": reason, "note": "odd"});
    let (st, v) = s
        .call(
            Method::POST,
            "/v1/reports",
            Some(&avery),
            Some(report("scam")),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["merged"], false);
    let report_item = v["report"]["item_id"].as_str().unwrap().to_string();
    let (st, v) = s
        .call(
            Method::POST,
            "/v1/reports",
            Some(&priya),
            Some(report("scam")),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["merged"], true);
    assert_eq!(v["report"]["item_id"], report_item.as_str());
    let (st, v) = s
        .call(
            Method::POST,
            "/v1/reports",
            Some(&eve),
            Some(report("scam")),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "non-members cannot report: {v}");
    let (st, v) = s
        .call(
            Method::POST,
            "/v1/reports",
            Some(&avery),
            Some(report("i_dont_like_it")),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let (st, v) = s
        .call(
            Method::POST,
            "/v1/reports",
            Some(&avery),
            Some(json!({"message_id": reported, "user_id": "diego", "reason": "spam"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let items = queue(s, &morgan, "report").await;
    assert_eq!(items.len(), 1, "one item for two reporters: {items:?}");
    let it = &items[0];
    assert_eq!(it["id"], report_item.as_str());
    let reporters: Vec<&str> = it["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reporter_id"].as_str().unwrap())
        .collect();
    assert_eq!(reporters, ["avery", "priya"]);
    assert_eq!(
        it["evidence"]["text"],
        "Send the deposit first and I will start"
    );
    assert!(it["rule"].as_str().unwrap().contains("Scam"), "{it}");
    let (st, v) = decide(s, &morgan, &report_item, "warn").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["item"]["resolution"]["action"], "warn");
    let mine = enforcements(s, &diego).await;
    let warning = mine["enforcements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "warning")
        .expect("diego was warned")
        .clone();
    assert_statement(&warning, false);
    assert_eq!(warning["appealable"], true);
    assert!(queue(s, &morgan, "report").await.is_empty());

    // Reported again and rejected: the message is removed for the others; overturned on appeal
    // by another moderator, it is back.
    let mut priya_ws = s.ws(&priya, None).await;
    let (st, v) = s
        .call(
            Method::POST,
            "/v1/reports",
            Some(&avery),
            Some(report("scam")),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["merged"], false,
        "a new item after the first was resolved"
    );
    let item2 = v["report"]["item_id"].as_str().unwrap().to_string();
    let (st, v) = decide(s, &morgan, &item2, "reject").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["removed_message_id"], reported, "{v}");
    loop {
        let ev = priya_ws.next().await;
        if ev["type"] == "message.deleted" {
            assert_eq!(ev["message_id"], reported, "{ev}");
            break;
        }
    }
    let (_, v) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{c3}/messages"),
            Some(&priya),
            None,
        )
        .await;
    assert!(v["messages"].as_array().unwrap().is_empty(), "{v}");
    let mine = enforcements(s, &diego).await;
    let strike = mine["enforcements"][0].clone();
    assert_eq!(strike["kind"], "strike", "{mine}");
    assert_statement(&strike, false);
    assert!(strike["statement"]["facts"]
        .as_str()
        .unwrap()
        .contains("removed"));
    assert_eq!(mine["standing"]["active_strikes"], 1, "{mine}");
    let (st, v) = s
        .call(
            Method::POST,
            "/v1/appeals",
            Some(&diego),
            Some(json!({"enforcement_id": strike["id"], "statement": "A deposit is how I work; it was not a scam"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let appeal_item = v["appeal"]["item_id"].as_str().unwrap().to_string();
    let (st, v) = decide(s, &morgan, &appeal_item, "approve").await;
    assert_eq!(st, StatusCode::CONFLICT, "morgan removed it: {v}");
    assert_error(&v, "same_reviewer");
    let (st, v) = decide(s, &jordan, &appeal_item, "approve").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let ev = priya_ws.next_of("message.created").await;
    assert_eq!(ev["message"]["id"], reported, "{ev}");
    assert_eq!(
        ev["message"]["body"],
        "Send the deposit first and I will start"
    );
    assert_eq!(
        enforcements(s, &diego).await["standing"]["active_strikes"],
        0
    );

    // An automated block: statement of reasons, a strike, an appeal that overturns it and
    // delivers the message live.
    let blocked = "My number is +1 415 555 0134, text me";
    let (st, v) = s.post(&diego, &c, blocked, "b1").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let mine = enforcements(s, &diego).await;
    let block = mine["enforcements"][0].clone();
    assert_eq!(block["kind"], "block", "{mine}");
    assert_statement(&block, true);
    assert!(block["statement"]["facts"]
        .as_str()
        .unwrap()
        .contains("phone number"));
    assert_eq!(block["appealable"], true);
    assert_eq!(mine["standing"]["active_strikes"], 1, "{mine}");
    let block_id = block["id"].as_str().unwrap().to_string();
    let (st, v) = s
        .call(
            Method::POST,
            "/v1/appeals",
            Some(&avery),
            Some(json!({"enforcement_id": block_id, "statement": "not mine"})),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "only the user concerned appeals: {v}"
    );
    let (st, v) = s
        .call(
            Method::POST,
            "/v1/appeals",
            Some(&diego),
            Some(json!({"enforcement_id": block_id, "statement": "That is the client's office line, they asked for it."})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["appeal"]["status"], "open");
    let (st, v) = s
        .call(
            Method::POST,
            "/v1/appeals",
            Some(&diego),
            Some(json!({"enforcement_id": block_id, "statement": "again"})),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert_error(&v, "already_appealed");
    let items = queue(s, &morgan, "appeal").await;
    assert_eq!(items.len(), 1, "{items:?}");
    let it = &items[0];
    assert_eq!(it["appeal"]["decision_ref"], block_id.as_str());
    assert_eq!(it["appeal"]["appellant_id"], "diego");
    assert_eq!(it["evidence"]["text"], blocked);
    assert_eq!(it["evidence"]["spans"][0]["category"], "phone");
    assert_eq!(it["sender_history"]["active_strikes"], 1);
    let (st, v) = decide(s, &morgan, it["id"].as_str().unwrap(), "warn").await;
    assert_eq!(
        st,
        StatusCode::BAD_REQUEST,
        "appeals are approved or rejected: {v}"
    );
    let (st, v) = decide(s, &morgan, it["id"].as_str().unwrap(), "approve").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let ev = loop {
        let ev = avery_ws.next_of("message.created").await;
        if ev["conversation_id"] == c.as_str() {
            break ev;
        }
    };
    assert_eq!(ev["message"]["body"], blocked, "{ev}");
    assert_eq!(ev["message"]["author_id"], "diego");
    let mine = enforcements(s, &diego).await;
    let block = mine["enforcements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == block_id.as_str())
        .unwrap()
        .clone();
    assert!(block["lifted_at"].is_i64(), "{block}");
    assert_eq!(block["appeal"]["status"], "overturned");
    assert_eq!(block["appealable"], false);
    assert_eq!(
        mine["standing"]["active_strikes"], 0,
        "the strike is removed: {mine}"
    );

    // A held message rejected by Morgan: the sender is told; Morgan cannot decide the appeal.
    let mut diego_ws = s.ws(&diego, None).await;
    let (st, v) = s.post(&diego, &c, "or mail diego@studio.dev", "h2").await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    let held2 = v["message"]["id"].as_i64().unwrap();
    let it = queue(s, &morgan, "held_message").await.remove(0);
    let (st, v) = decide(s, &morgan, it["id"].as_str().unwrap(), "reject").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    loop {
        let ev = diego_ws.next_of("message.updated").await;
        if ev["message"]["id"] == held2 {
            assert_eq!(ev["message"]["state"], "rejected", "{ev}");
            assert!(
                ev["message"]["explanation"]
                    .as_str()
                    .is_some_and(|e| e.contains("email")),
                "the sender is told why: {ev}"
            );
            break;
        }
    }
    let mine = enforcements(s, &diego).await;
    let rejection = mine["enforcements"][0].clone();
    assert_eq!(rejection["kind"], "block", "{mine}");
    assert_statement(&rejection, false);
    let (st, v) = s
        .call(
            Method::POST,
            "/v1/appeals",
            Some(&diego),
            Some(json!({"enforcement_id": rejection["id"], "statement": "It is my work address for the NDA"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let it = queue(s, &morgan, "appeal").await.remove(0);
    let (st, v) = decide(s, &morgan, it["id"].as_str().unwrap(), "approve").await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert_error(&v, "same_reviewer");
    let (st, v) = decide(s, &jordan, it["id"].as_str().unwrap(), "reject").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let mine = enforcements(s, &diego).await;
    assert_eq!(
        mine["enforcements"][0]["appeal"]["status"], "upheld",
        "{mine}"
    );
    assert!(mine["enforcements"][0]["lifted_at"].is_null());

    // Repeated violations restrict the sender: 403 restricted with the statement of reasons.
    let c5 = s.conversation(&["avery", "eve"]).await;
    for (i, text) in [
        "Call me at +1 415 555 0101",
        "ok then +1 415 555 0102",
        "last try +1 415 555 0103",
    ]
    .iter()
    .enumerate()
    {
        let (st, v) = s.post(&eve, &c5, text, &format!("e{i}")).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    }
    let (st, v) = s.post(&eve, &c5, "Fine, I will stay here.", "e9").await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    assert_error(&v, "restricted");
    assert!(v["error"]["ends_at"].as_i64().is_some(), "{v}");
    assert!(v["error"]["statement"]["facts"].is_string(), "{v}");
    assert_eq!(v["error"]["statement"]["automated"], true);
    let mine = enforcements(s, &eve).await;
    let r = mine["enforcements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "restriction")
        .expect("a restriction")
        .clone();
    assert_statement(&r, true);
    assert_eq!(r["active"], true);
    assert!(r["ends_at"].as_i64().is_some());
    assert!(mine["standing"]["restricted_until"].as_i64().is_some());

    // The dashboard.
    let (st, v) = s
        .call(
            Method::GET,
            "/v1/moderation/stats?days=14",
            Some(&morgan),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["per_day"].as_array().unwrap().len(), 14, "{v}");
    assert!(v["by_category"]["phone"].as_i64().unwrap() >= 4, "{v}");
    assert!(v["by_category"]["email"].as_i64().unwrap() >= 2, "{v}");
    assert!(v["by_action"]["block"].as_i64().unwrap() >= 4, "{v}");
    assert!(v["per_day"][13]["flagged"].as_i64().unwrap() >= 6, "{v}");
    assert_eq!(v["open"]["held_message"], 0);
    assert_eq!(v["open"]["appeal"], 0);
    assert_eq!(v["appeals"]["decided"], 3);
    assert_eq!(v["appeals"]["overturned"], 2);
    // Resolved items stay listed.
    let (st, v) = s
        .call(
            Method::GET,
            "/v1/moderation/queue?status=resolved&limit=2",
            Some(&morgan),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    let next = v["next_cursor"].as_str().expect("more pages").to_string();
    let (st, v2) = s
        .call(
            Method::GET,
            &format!("/v1/moderation/queue?status=resolved&limit=50&cursor={next}"),
            Some(&morgan),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v2}");
    let first: Vec<&Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["id"])
        .collect();
    for i in v2["items"].as_array().unwrap() {
        assert!(!first.contains(&&i["id"]), "pages do not overlap");
    }
    assert_eq!(v2["items"].as_array().unwrap().len(), 5, "{v2}");
    // The operator's metrics read reports and appeal outcomes from the audit trail.
    let (st, v) = s
        .call(Method::GET, "/v1/metrics?days=2", Some(ADMIN), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let reports: i64 = v["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["reports"].as_i64().unwrap())
        .sum();
    assert_eq!(reports, 3, "avery, priya, avery again: {v}");
    assert_eq!(v["overturn_rate_all_time"], json!(2.0 / 3.0), "{v}");
    let (st, v) = s.call(Method::GET, "/metrics", Some(ADMIN), None).await;
    assert_eq!(st, StatusCode::OK);
    let text = v.as_str().unwrap();
    assert!(
        text.contains("parley_appeals_decided_total{outcome=\"overturned\"} 2\n"),
        "{text}"
    );
}

on_both_backends!(
    moderation_on_sqlite,
    moderation_on_postgres,
    Some(MODERATION_POLICY),
    moderation_flow
);

/// Strikes expire after the policy's clean period: a server whose clock runs 31 days behind
/// records a strike; a second server on the same database, on today's clock, no longer counts it.
async fn strike_expiry(database: String) {
    let past = start(Some(database.clone()), None, |c| {
        c.clock_offset_secs = -31 * 86_400
    })
    .await;
    let [avery, _, diego, _, _] = seed(&past).await;
    let c = past.conversation(&["avery", "diego"]).await;
    let (st, v) = past
        .post(&diego, &c, "My number is +1 415 555 0134, text me", "x1")
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let then = enforcements(&past, &diego).await;
    assert_eq!(then["standing"]["active_strikes"], 1, "{then}");
    assert_eq!(then["standing"]["points"], 2, "{then}");
    let now_server = start(Some(database), None, |_| {}).await;
    let now = enforcements(&now_server, &diego).await;
    assert_eq!(now["standing"]["active_strikes"], 0, "expired: {now}");
    assert_eq!(now["standing"]["points"], 0, "{now}");
    assert_eq!(
        now["enforcements"][0]["kind"], "block",
        "the record stays: {now}"
    );
    assert_eq!(now["enforcements"][0]["appealable"], true, "{now}");
    // And the expired strike no longer escalates: a new block is one strike again.
    let (st, _) = now_server
        .post(&diego, &c, "Call me on +1 415 555 0135", "x2")
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let now = enforcements(&now_server, &diego).await;
    assert_eq!(now["standing"]["active_strikes"], 1, "{now}");
    let _ = avery;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strikes_expire_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    strike_expiry(format!("sqlite://{}", dir.path().join("t.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strikes_expire_on_postgres() {
    let Some(url) = postgres_url("strikes_expire_on_postgres").await else {
        return;
    };
    strike_expiry(url).await;
}

/// A masked message gives a `mask` enforcement with a one-point strike; a blocked profile text
/// gives an appealable `block` without a strike (integration texts do not count by default);
/// with enough points a mask is raised to a block by the sender's history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mask_and_integration_text_enforcements() {
    let s = start(None, Some(OPERATOR_POLICY), |_| {}).await;
    let [_, _, diego, _, _] = seed(&s).await;
    let c = s.conversation(&["avery", "diego"]).await;
    let (st, v) = s
        .post(&diego, &c, "Call me at +1 415 555 0134 tomorrow", "a")
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["decision"]["action"], "mask");
    let mine = enforcements(&s, &diego).await;
    let mask = mine["enforcements"][0].clone();
    assert_eq!(mask["kind"], "mask", "{mine}");
    assert_statement(&mask, true);
    assert!(mask["statement"]["facts"]
        .as_str()
        .unwrap()
        .contains("hidden"));
    assert_eq!(mask["message_id"], v["message"]["id"]);
    assert_eq!(mine["standing"]["points"], 1, "{mine}");
    let (st, v) = s
        .admin(
            Method::PUT,
            "/v1/users/diego/profile",
            json!({"headline": "Designer", "bio": "Call me at +1 415 555 0134"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let mine = enforcements(&s, &diego).await;
    let block = mine["enforcements"][0].clone();
    assert_eq!(block["kind"], "block", "{mine}");
    assert_statement(&block, true);
    assert!(block["statement"]["facts"]
        .as_str()
        .unwrap()
        .contains("profile text was not published"));
    assert_eq!(block["appealable"], true);
    assert_eq!(
        mine["standing"]["points"], 1,
        "no strike for the profile: {mine}"
    );
    // A text whose author the store does not know is still refused.
    let (st, v) = s
        .admin(
            Method::PUT,
            "/v1/jobs/j9",
            json!({"org_id": "northwind", "author_id": "ghost", "title": "Logo", "description": "Call +1 415 555 0100"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_error(&v, "policy_violation");
    // Two more masked messages: 3 points reach the policy's block level, so the fourth
    // masked-category message is blocked.
    for (i, t) in ["ok +1 415 555 0135", "or +1 415 555 0136"]
        .iter()
        .enumerate()
    {
        let (st, v) = s.post(&diego, &c, t, &format!("m{i}")).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    let (st, v) = s.post(&diego, &c, "again +1 415 555 0137", "m9").await;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "escalated to a block: {v}"
    );
    let mine = enforcements(&s, &diego).await;
    assert_eq!(mine["enforcements"][0]["kind"], "block", "{mine}");
    assert_eq!(mine["standing"]["points"], 5, "1 + 1 + 1 + 2: {mine}");
}

/// The policy decides which surfaces give strikes (`[escalation] surfaces`). By default only
/// messages: a blocked profile text is refused with an explanation that quotes no strike points
/// and an appealable enforcement without a strike, even for a sender who already has one. A
/// policy that lists profiles gives the strike, escalated from the author's history.
async fn strike_surfaces(database: impl Fn() -> Option<String>) {
    let profile = |s: &'static str| json!({"headline": "Designer", "bio": s});
    let s = start(database(), None, |_| {}).await;
    let [_, _, diego, _, _] = seed(&s).await;
    let c = s.conversation(&["avery", "diego"]).await;
    let (st, v) = s
        .post(&diego, &c, "Call me at +1 415 555 0134 tomorrow", "a")
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["explanation"]
            .as_str()
            .unwrap()
            .contains("Strike points: 2"),
        "a message gives a strike: {v}"
    );
    let (st, v) = s
        .admin(
            Method::PUT,
            "/v1/users/diego/profile",
            profile("Call me at +1 415 555 0134"),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_error(&v, "policy_violation");
    assert_eq!(v["error"]["action"], "block", "{v}");
    let explanation = v["error"]["explanation"].as_str().unwrap();
    assert!(explanation.contains("415 555 0134"), "{v}");
    assert!(!explanation.contains("Strike points"), "{v}");
    assert!(
        !v["error"]["message"].as_str().unwrap().contains("Strike"),
        "{v}"
    );
    let mine = enforcements(&s, &diego).await;
    let block = mine["enforcements"][0].clone();
    assert_eq!(block["kind"], "block", "{mine}");
    assert_statement(&block, true);
    let facts = block["statement"]["facts"].as_str().unwrap();
    assert!(facts.contains("profile text was not published"), "{mine}");
    assert!(!facts.contains("strike"), "{mine}");
    assert_eq!(mine["enforcements"].as_array().unwrap().len(), 2, "{mine}");
    assert_eq!(mine["standing"]["points"], 2, "only the message's: {mine}");
    assert_eq!(mine["standing"]["active_strikes"], 1, "{mine}");
    drop(s);

    let s = start(
        database(),
        Some("[escalation]\nsurfaces = [\"message\", \"profile\"]\n"),
        |_| {},
    )
    .await;
    let [_, _, diego, _, _] = seed(&s).await;
    let c = s.conversation(&["avery", "diego"]).await;
    let (st, v) = s.post(&diego, &c, "Call me at +1 415 555 0134", "a").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = s
        .admin(
            Method::PUT,
            "/v1/users/diego/profile",
            profile("Call me at +1 415 555 0134"),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["explanation"]
            .as_str()
            .unwrap()
            .contains("Strike points: 4"),
        "the profile's strike on top of the message's: {v}"
    );
    let mine = enforcements(&s, &diego).await;
    assert!(
        mine["enforcements"][0]["statement"]["facts"]
            .as_str()
            .unwrap()
            .contains("strike of weight 2"),
        "{mine}"
    );
    assert_eq!(mine["standing"]["points"], 4, "{mine}");
    assert_eq!(mine["standing"]["active_strikes"], 2, "{mine}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strike_surfaces_on_sqlite() {
    strike_surfaces(|| None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strike_surfaces_on_postgres() {
    let (Some(a), Some(b)) = (
        postgres_url("strike_surfaces_on_postgres_a").await,
        postgres_url("strike_surfaces_on_postgres_b").await,
    ) else {
        return;
    };
    let urls = std::sync::Mutex::new(vec![b, a]);
    strike_surfaces(|| urls.lock().unwrap().pop()).await;
}

// ------------------------------------------------------------------ evidence export

impl Server {
    /// The raw export: status, content type, body text.
    async fn export(
        &self,
        conv: &str,
        format: &str,
        auth: Option<&str>,
    ) -> (StatusCode, String, String) {
        let mut req = self.http.get(format!(
            "{}/v1/conversations/{conv}/export?format={format}",
            self.base
        ));
        if let Some(a) = auth {
            req = req.bearer_auth(a);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (status, ct, resp.text().await.unwrap())
    }
}

async fn export_flow(database: String) {
    use parley_server::export::{check_digest, document_from_text, verify_text};
    let s = start(Some(database.clone()), Some(OPERATOR_POLICY), |_| {}).await;
    let [avery, _, diego, _, eve] = seed(&s).await;
    let (st, v) = s
        .admin(
            Method::PUT,
            "/v1/users/morgan",
            json!({"name": "Morgan", "roles": ["moderator"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let morgan = s.token("morgan").await;
    let c = s.conversation(&["avery", "diego"]).await;
    let (st, v) = s.post(&avery, &c, "hello <b>there</b>", "a1").await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, v) = s
        .post(&diego, &c, "Call me at +1 415 555 0134 tomorrow", "d1")
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["decision"]["action"], "mask");
    let masked_id = v["message"]["id"].as_i64().unwrap();
    let (st, v) = s
        .post(&diego, &c, "write to diego.ramos@gmail.com", "d2")
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    let held_id = v["message"]["id"].as_i64().unwrap();
    let (st, v) = s.post(&diego, &c, "first draft", "d3").await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let edited_id = v["message"]["id"].as_i64().unwrap();
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/v1/conversations/{c}/messages/{edited_id}"),
            Some(&diego),
            Some(json!({"body": "second draft"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");

    // A member gets what they could see: others' texts as delivered, no held messages, only
    // their own decisions.
    let (st, ct, text) = s.export(&c, "json", Some(&avery)).await;
    assert_eq!(st, StatusCode::OK, "{text}");
    assert!(ct.starts_with("application/json"), "{ct}");
    let doc = document_from_text(&text).unwrap();
    let digest = check_digest(&doc).expect("digest matches");
    assert_eq!(doc["generated_for"]["role"], "member");
    assert_eq!(doc["conversation"]["id"], c.as_str());
    assert_eq!(doc["members"].as_array().unwrap().len(), 2);
    let ids: Vec<i64> = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert!(
        !ids.contains(&held_id),
        "held message hidden from the recipient"
    );
    assert!(!text.contains("555 0134"), "the masked number stays masked");
    assert!(!text.contains("gmail"), "the held text stays hidden");
    let edited = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == edited_id)
        .unwrap();
    let versions = edited["versions"].as_array().unwrap();
    assert_eq!(
        versions.len(),
        2,
        "every version of an edited message: {edited}"
    );
    assert_eq!(versions[0]["delivered"], "first draft");
    assert_eq!(versions[1]["delivered"], "second draft");
    assert!(versions[0].get("original").is_none());
    assert_eq!(edited["attachments"], json!([]));
    let decisions = doc["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 1, "only avery's own: {decisions:?}");

    // The author sees what they wrote; a moderator and the operator see everything.
    let (_, _, text) = s.export(&c, "json", Some(&diego)).await;
    assert!(text.contains("555 0134"));
    let (st, _, text) = s.export(&c, "json", Some(&morgan)).await;
    assert_eq!(st, StatusCode::OK);
    let doc = document_from_text(&text).unwrap();
    assert!(check_digest(&doc).is_ok());
    assert_eq!(doc["generated_for"]["role"], "moderator");
    assert_eq!(doc["messages"].as_array().unwrap().len(), 4);
    assert!(text.contains("gmail") && text.contains("555 0134"));
    assert_eq!(doc["decisions"].as_array().unwrap().len(), 5);
    let masked = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == masked_id)
        .unwrap();
    assert_eq!(masked["versions"][0]["action"], "mask");

    // The printable page embeds the same document; a changed byte of it is caught.
    let (st, ct, page) = s.export(&c, "html", Some(ADMIN)).await;
    assert_eq!(st, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(page.contains("&lt;b&gt;there&lt;/b&gt;"), "text escaped");
    assert!(!page.contains("<b>there"));
    let doc = document_from_text(&page).unwrap();
    let html_digest = check_digest(&doc).unwrap();
    assert!(page.contains(&html_digest), "the page shows its digest");
    assert_eq!(doc["generated_for"]["role"], "operator");
    assert_eq!(verify_text(&page), Ok(html_digest.clone()));
    // In the embedded data (the evidence) or in the visible page.
    let at = page.rfind("second draft").unwrap();
    let forged = format!("{}second DRAFT{}", &page[..at], &page[at + 12..]);
    assert!(check_digest(&document_from_text(&forged).unwrap()).is_err());
    assert!(verify_text(&forged).is_err());
    let forged = page.replacen("second draft", "second DRAFT", 1);
    assert_ne!(forged, page);
    assert!(check_digest(&document_from_text(&forged).unwrap()).is_ok());
    assert!(
        verify_text(&forged).is_err(),
        "the visible page was changed"
    );

    // Everyone else: not found; no credentials: unauthorized; bad format: invalid_request.
    let (st, _, text) = s.export(&c, "json", Some(&eve)).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{text}");
    assert_error(&serde_json::from_str(&text).unwrap(), "not_found");
    let (st, _, _) = s.export("c_nope", "json", Some(&morgan)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, _) = s.export(&c, "json", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _, text) = s.export(&c, "pdf", Some(&avery)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_error(&serde_json::from_str(&text).unwrap(), "invalid_request");

    // Every export is in the audit trail with its digest, and the trail verifies.
    let store = parley_store::Store::connect(&database).await.unwrap();
    let mut exports = Vec::new();
    let mut after = 0;
    loop {
        let page = store.audit_entries(after, 500).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        exports.extend(page.into_iter().filter(|e| e.kind == "export"));
    }
    assert_eq!(exports.len(), 4, "{exports:?}");
    assert_eq!(exports[0].actor_id.as_deref(), Some("avery"));
    assert_eq!(exports[0].subject, format!("conversation:{c}"));
    assert_eq!(exports[0].data["digest"], digest.as_str());
    assert_eq!(exports[3].actor_id, None);
    assert_eq!(exports[3].data["role"], "operator");
    assert_eq!(exports[3].data["format"], "html");
    assert_eq!(exports[3].data["digest"], html_digest.as_str());
    let v = store.verify_audit().await.unwrap();
    assert_eq!(v.first_bad, None);
    // What the moderation code appends for a report and a decided appeal.
    store
        .append_audit(
            "report",
            Some("avery"),
            "user:diego",
            &json!({"reason": "spam"}),
        )
        .await
        .unwrap();
    for outcome in ["overturned", "upheld", "upheld", "upheld"] {
        store
            .append_audit(
                "appeal.decided",
                Some("morgan"),
                "appeal:1",
                &json!({"outcome": outcome}),
            )
            .await
            .unwrap();
    }
    store.close().await;

    // Metrics from the same data: Prometheus text (admin key) and JSON per day.
    let (st, v) = s.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_error(&v, "unauthorized");
    let resp = s
        .http
        .get(format!("{}/metrics", s.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = resp.text().await.unwrap();
    for line in [
        "# TYPE parley_decisions_total counter",
        "parley_decisions_total{surface=\"message\",action=\"mask\",automated=\"true\"} 1\n",
        "parley_decision_categories_total{surface=\"message\",action=\"mask\",category=\"phone\"} 1\n",
        "parley_decision_categories_total{surface=\"message\",action=\"hold_for_review\",category=\"email\"} 1\n",
        "parley_audit_entries_total{kind=\"export\"} 4\n",
        "parley_reports_total 1\n",
        "parley_appeals_decided_total{outcome=\"overturned\"} 1\n",
        "parley_appeals_decided_total{outcome=\"upheld\"} 3\n",
        "parley_appeal_overturn_ratio 0.25\n",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    assert!(!text.contains("555"), "no message text in metrics");
    let (st, v) = s
        .call(Method::GET, "/v1/metrics?days=2", Some(ADMIN), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let days = v["days"].as_array().unwrap();
    assert_eq!(days.len(), 2);
    let today = &days[1];
    let masked: i64 = today["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["action"] == "mask")
        .map(|d| d["count"].as_i64().unwrap())
        .sum();
    assert_eq!(masked, 1, "{today}");
    assert!(today["audit_entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["kind"] == "export" && a["count"] == 4));
    let (st, v) = s
        .call(Method::GET, "/v1/metrics?days=0", Some(ADMIN), None)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_error(&v, "invalid_request");
    let (st, _) = s.call(Method::GET, "/v1/metrics", Some(&avery), None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_be_public_for_a_scraper() {
    let s = start(None, None, |c| c.metrics_public = true).await;
    let (st, v) = s.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(v
        .as_str()
        .unwrap()
        .contains("# TYPE parley_decisions_total counter"));
    let (st, _) = s.call(Method::GET, "/v1/metrics", None, None).await;
    assert_eq!(
        st,
        StatusCode::UNAUTHORIZED,
        "the JSON form still needs the key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_export_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    export_flow(format!("sqlite://{}", dir.path().join("t.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_export_on_postgres() {
    let Some(url) = postgres_url("evidence_export_on_postgres").await else {
        return;
    };
    export_flow(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_change_is_recorded_in_the_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("p.db").display());
    let policy_file = dir.path().join("policy.toml");
    std::fs::write(&policy_file, OPERATOR_POLICY).unwrap();
    let policies = |state: &AppState| {
        let store = state.store().clone();
        async move {
            store
                .audit_entries(0, 100)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.kind == "policy")
                .collect::<Vec<_>>()
        }
    };
    let start_with = |policy: Option<String>| {
        let database = database.clone();
        async move {
            AppState::new(Config {
                database,
                policy,
                ..Config::default()
            })
            .await
            .unwrap()
        }
    };
    let state = start_with(None).await;
    let p = policies(&state).await;
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].data["origin"], "built-in");
    assert_eq!(p[0].actor_id, None);
    state.store().close().await;
    // Same policy again: nothing new.
    let state = start_with(None).await;
    assert_eq!(policies(&state).await.len(), 1);
    state.store().close().await;
    // Another policy: recorded, with the previous digest.
    let file = policy_file.display().to_string();
    let state = start_with(Some(file.clone())).await;
    let p = policies(&state).await;
    assert_eq!(p.len(), 2);
    assert_eq!(p[1].data["previous"], p[0].data["digest"]);
    assert_eq!(p[1].data["origin"], file.as_str());
    assert_eq!(
        p[1].data["digest"],
        parley_server::policy_audit::policy_digest(OPERATOR_POLICY).as_str()
    );
    assert_eq!(state.store().verify_audit().await.unwrap().first_bad, None);
    state.store().close().await;
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

on_both_backends!(
    split_contact_details_on_sqlite,
    split_contact_details_on_postgres,
    None,
    split_flow
);

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
        nodes.push(serve(state, None).await);
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

/// The inbox names what a conversation belongs to, and the author of a masked message sees
/// what was hidden and why when reading it back (as after a reload), not only in the send's answer.
async fn ref_titles_and_own_findings(s: &Server) {
    let [avery, _, diego, _, _] = seed(s).await;
    for (path, body) in [
        (
            "/v1/jobs/rt-job",
            json!({"org_id": "northwind", "title": "Landing page redesign"}),
        ),
        (
            "/v1/proposals/rt-prop",
            json!({"job_id": "rt-job", "freelancer_id": "diego"}),
        ),
        (
            "/v1/contracts/rt-k",
            json!({"client_org_id": "northwind", "freelancer_id": "mei", "status": "active"}),
        ),
    ] {
        let (st, v) = s.admin(Method::PUT, path, body).await;
        assert_eq!(st, StatusCode::CREATED, "{path}: {v}");
    }
    let mut ids = Vec::new();
    for (reference, title) in [
        (
            json!({"kind": "proposal", "id": "rt-prop"}),
            json!("Landing page redesign"),
        ),
        (json!({"kind": "contract", "id": "rt-k"}), json!("Contract")),
        (Value::Null, Value::Null),
    ] {
        let (st, v) = s
            .admin(
                Method::POST,
                "/v1/conversations",
                json!({"members": ["avery", "diego"], "subject": "t", "ref": reference}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        assert_eq!(v["conversation"]["ref"]["title"], title, "{v}");
        let id = v["id"].as_str().unwrap().to_string();
        let (st, v) = s
            .call(
                Method::GET,
                &format!("/v1/conversations/{id}"),
                Some(&avery),
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let mut want = reference.clone();
        if !want.is_null() {
            want["title"] = title.clone();
        }
        assert_eq!(v["conversation"]["ref"], want, "{v}");
        ids.push((id, want));
    }
    let (st, v) = s
        .call(Method::GET, "/v1/conversations", Some(&diego), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    for (id, want) in &ids {
        let item = v["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} listed: {v}"));
        assert_eq!(&item["ref"], want, "{item}");
    }
    // A renamed job renames its conversations.
    let (st, v) = s
        .admin(
            Method::PUT,
            "/v1/jobs/rt-job",
            json!({"org_id": "northwind", "title": "Checkout flow"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (_, v) = s
        .call(Method::GET, "/v1/conversations", Some(&avery), None)
        .await;
    let item = v["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == ids[0].0.as_str())
        .unwrap();
    assert_eq!(item["ref"]["title"], "Checkout flow", "{item}");

    // A masked message read back: its author sees the findings; the recipient does not.
    let c = &ids[2].0;
    let text = "Call me at +1 415 555 0134 tomorrow";
    let (st, v) = s.post(&diego, c, text, "rt-mask").await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["decision"]["action"], "mask", "{v}");
    let sent = v["decision"]["findings"].clone();
    let read = |tok: String| async move {
        let (st, v) = s
            .call(
                Method::GET,
                &format!("/v1/conversations/{c}/messages"),
                Some(&tok),
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        v["messages"].as_array().unwrap().last().unwrap().clone()
    };
    let mine = read(diego.clone()).await;
    let findings = mine["findings"]
        .as_array()
        .expect("findings for the author");
    assert_eq!(
        mine["findings"], sent,
        "the same findings as the send's answer"
    );
    let f = &findings[0];
    assert_eq!(f["category"], "phone", "{f}");
    let (start, end) = (
        f["start"].as_u64().unwrap() as usize,
        f["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&text[start..end], f["matched"].as_str().unwrap(), "{f}");
    assert!(
        f["rule_text"].as_str().is_some_and(|t| !t.is_empty()),
        "{f}"
    );
    assert!(mine["explanation"].is_string(), "{mine}");
    let theirs = read(avery.clone()).await;
    assert_eq!(theirs["id"], mine["id"]);
    assert!(theirs.get("findings").is_none(), "{theirs}");
    assert!(theirs.get("explanation").is_none(), "{theirs}");
    assert!(
        !theirs["body"].as_str().unwrap().contains("555"),
        "{theirs}"
    );
}

on_both_backends!(
    ref_titles_and_own_findings_on_sqlite,
    ref_titles_and_own_findings_on_postgres,
    Some(OPERATOR_POLICY),
    ref_titles_and_own_findings
);

/// `parley demo` gives the moderator console work: Avery's report of a message by Diego
/// (off_platform) and Diego's appeal of a blocked message, both open in the queue; Diego's
/// other block stays appealable; and the inbox names what each conversation belongs to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_seeds_trust_and_safety_items() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        database: format!("sqlite://{}", dir.path().join("demo.db").display()),
        demo: true,
        ..Config::default()
    };
    let state = AppState::new(config).await.unwrap();
    assert!(parley_server::demo::seed(&state).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(parley_server::run(listener, state, async move {
        let _ = rx.await;
    }));
    let http = Client::new();
    let get = |tok: String, path: &str| {
        let req = http.get(format!("{base}{path}")).bearer_auth(tok);
        async move {
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()
        }
    };
    let mut tokens = std::collections::HashMap::new();
    for u in ["avery", "diego", "morgan"] {
        let v: Value = http
            .post(format!("{base}/v1/demo/users/{u}/session"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.insert(u, v["token"].as_str().unwrap().to_string());
    }

    let q = get(tokens["morgan"].clone(), "/v1/moderation/queue").await;
    let items = q["items"].as_array().unwrap();
    let reports: Vec<&Value> = items.iter().filter(|i| i["kind"] == "report").collect();
    assert_eq!(reports.len(), 1, "{q}");
    let r = reports[0];
    assert_eq!(r["status"], "open", "{r}");
    assert_eq!(r["subject_user"]["id"], "diego", "{r}");
    assert_eq!(r["reports"][0]["reporter_id"], "avery", "{r}");
    assert_eq!(r["reports"][0]["reason"], "off_platform", "{r}");
    assert!(
        r["evidence"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("settle the payment")),
        "{r}"
    );
    let appeals: Vec<&Value> = items.iter().filter(|i| i["kind"] == "appeal").collect();
    assert_eq!(appeals.len(), 1, "{q}");
    assert_eq!(appeals[0]["subject_user"]["id"], "diego", "{}", appeals[0]);
    assert_eq!(appeals[0]["decision"]["action"], "block", "{}", appeals[0]);

    let mine = get(tokens["diego"].clone(), "/v1/me/enforcements").await;
    let blocks: Vec<&Value> = mine["enforcements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "block")
        .collect();
    assert_eq!(blocks.len(), 2, "{mine}");
    assert_eq!(
        blocks[0]["appeal"],
        Value::Null,
        "the newest is not appealed: {mine}"
    );
    assert_eq!(blocks[1]["appeal"]["status"], "open", "{mine}");

    let inbox = get(tokens["avery"].clone(), "/v1/conversations").await;
    let mut titles: Vec<(String, String)> = inbox["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["ref"]["kind"].as_str().unwrap().to_string(),
                c["ref"]["title"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        [
            ("contract".to_string(), "Landing page redesign".to_string()),
            ("proposal".to_string(), "Landing page redesign".to_string()),
        ]
    );
}

// ------------------------------------------------------- enforcements told live (WebSocket)

/// A blocked message gives its sender an `enforcement.created` frame on the WebSocket (the
/// public view: id, kind, statement, ends_at, appealable); the overturned appeal gives
/// `enforcement.updated`; both are replayed from the event log like the other events, and the
/// other member hears of neither.
async fn enforcement_events_flow(s: &Server) {
    let [avery, _priya, diego, _mei, _eve] = seed(s).await;
    let (morgan, _jordan) = moderators(s).await;
    let c = s.conversation(&["avery", "diego"]).await;
    let (_, v) = s.call(Method::GET, "/v1/events", Some(&diego), None).await;
    let start_cursor = v["cursor"].as_i64().unwrap();
    let mut diego_ws = s.ws(&diego, None).await;

    let blocked = "My number is +1 415 555 0134, text me";
    let (st, v) = s.post(&diego, &c, blocked, "eb1").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let ev = diego_ws.next_of("enforcement.created").await;
    let en = &ev["enforcement"];
    let mine = enforcements(s, &diego).await;
    let block = &mine["enforcements"][0];
    assert_eq!(en["id"], block["id"], "{ev} {mine}");
    assert!(en["id"].as_str().unwrap().starts_with("en_"), "{ev}");
    assert_eq!(en["kind"], "block", "{ev}");
    assert_eq!(en["statement"], block["statement"], "{ev}");
    assert_statement(en, true);
    assert!(en["statement"]["facts"]
        .as_str()
        .unwrap()
        .contains("phone number"));
    assert!(en["ends_at"].is_null(), "{ev}");
    assert_eq!(en["appealable"], true, "{ev}");
    assert_eq!(ev["conversation_id"], c.as_str(), "{ev}");
    assert!(ev["seq"].as_i64().unwrap() > start_cursor, "{ev}");
    let block_id = en["id"].as_str().unwrap().to_string();

    let (st, v) = s
        .call(
            Method::POST,
            "/v1/appeals",
            Some(&diego),
            Some(
                json!({"enforcement_id": block_id, "statement": "The client asked for my number."}),
            ),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let items = queue(s, &morgan, "appeal").await;
    let item = items
        .iter()
        .find(|it| it["appeal"]["decision_ref"] == block_id.as_str())
        .expect("the appeal is queued");
    let (st, v) = decide(s, &morgan, item["id"].as_str().unwrap(), "approve").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let ev = diego_ws.next_of("enforcement.updated").await;
    let en = &ev["enforcement"];
    assert_eq!(en["id"], block_id.as_str(), "{ev}");
    assert_eq!(en["kind"], "block", "{ev}");
    assert!(en["lifted_at"].is_i64(), "lifted by the overturn: {ev}");
    assert_eq!(en["appealable"], false, "{ev}");
    assert!(
        en["delivered_message_id"].is_i64(),
        "the blocked text was delivered: {ev}"
    );

    // Replayed from the cursor, in order, with the same views.
    let mut replay = s.ws(&diego, Some(start_cursor)).await;
    let created = replay.next_of("enforcement.created").await;
    assert_eq!(created["enforcement"]["id"], block_id.as_str());
    let updated = replay.next_of("enforcement.updated").await;
    assert_eq!(updated["enforcement"]["id"], block_id.as_str());
    assert!(updated["seq"].as_i64() > created["seq"].as_i64());
    let (st, v) = s
        .call(
            Method::GET,
            &format!("/v1/events?cursor={start_cursor}"),
            Some(&diego),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let kinds: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .filter(|k| k.starts_with("enforcement."))
        .collect();
    assert_eq!(kinds, ["enforcement.created", "enforcement.updated"], "{v}");

    // Avery, the other member, is told of the delivered message but not of Diego's enforcement.
    let (st, v) = s
        .call(Method::GET, "/v1/events?cursor=0", Some(&avery), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let evs = v["events"].as_array().unwrap();
    assert!(
        evs.iter()
            .any(|e| e["type"] == "message.created" && e["message"]["body"] == blocked),
        "{v}"
    );
    assert!(
        evs.iter()
            .all(|e| !e["type"].as_str().unwrap().starts_with("enforcement.")),
        "{v}"
    );
}

on_both_backends!(
    enforcement_events_on_sqlite,
    enforcement_events_on_postgres,
    Some(MODERATION_POLICY),
    enforcement_events_flow
);

#[path = "api/uploads.rs"]
mod uploads;

/// Files attached to messages.
#[path = "api/attachments.rs"]
mod attachments;
/// Malware scanning with ClamAV (a real clamd with PARLEY_TEST_CLAMAV; a dead one always).
#[path = "api/clamav.rs"]
mod clamav;
#[path = "api/files.rs"]
mod files;
#[path = "api/images.rs"]
mod images;
#[path = "api/resume.rs"]
mod resume;

#[path = "api/calls.rs"]
mod calls;

#[path = "api/turn.rs"]
mod turn_relay;

#[path = "api/scheduling.rs"]
mod scheduling;
#[path = "api/storage.rs"]
mod storage;

#[path = "api/reminders.rs"]
mod reminders;
