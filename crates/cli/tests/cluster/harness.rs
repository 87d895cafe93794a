//! Three `parley serve` processes on loopback against one fresh PostgreSQL database and one
//! local `nats-server`, each node's link to NATS through a [`Proxy`] the test can cut.

use crate::proxy::Proxy;
use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message as WsMsg;

pub const ADMIN: &str = "cluster-test-admin-key-0123456789abcdef";
const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A fresh PostgreSQL database (the cluster tests need one: no fallback).
pub async fn fresh_database() -> String {
    use sqlx::Connection;
    let admin = std::env::var("PARLEY_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG.into());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("the cluster tests need PostgreSQL at {admin}: {e}"));
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!(
        "parley_cluster_{}_{}",
        std::process::id(),
        t % 1_000_000_000
    );
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let base = &admin[..admin.rfind('/').expect("a database URL")];
    format!("{base}/{name}")
}

/// One local `nats-server` on a fixed loopback port (restartable on the same port).
pub struct Nats {
    pub port: u16,
    child: Option<Child>,
}

impl Nats {
    pub async fn start() -> Nats {
        let mut n = Nats {
            port: free_port(),
            child: None,
        };
        n.up().await;
        n
    }

    fn bin() -> String {
        std::env::var("PARLEY_NATS_SERVER").unwrap_or_else(|_| {
            if std::path::Path::new("/usr/sbin/nats-server").exists() {
                "/usr/sbin/nats-server".into()
            } else {
                "nats-server".into()
            }
        })
    }

    pub async fn up(&mut self) {
        let child = Command::new(Self::bin())
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("nats-server (run scripts/ensure-nats.sh)");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nats-server did not start on {}", self.port);
    }

    pub async fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
        }
    }
}

/// One `parley serve` node.
pub struct Node {
    pub name: &'static str,
    pub base: String,
    listen: String,
    database: String,
    pub proxy: Proxy,
    child: Option<Child>,
    log: std::path::PathBuf,
    /// `PARLEY_POSITION_CHECK_SECS`.
    position_check: u64,
}

impl Node {
    pub async fn start(
        name: &'static str,
        database: &str,
        nats_port: u16,
        position_check: u64,
    ) -> Node {
        let proxy = Proxy::start(nats_port).await;
        let log =
            std::env::temp_dir().join(format!("parley-cluster-{}-{name}.log", std::process::id()));
        let mut n = Node {
            name,
            base: String::new(),
            listen: "127.0.0.1:0".into(),
            database: database.into(),
            proxy,
            child: None,
            log,
            position_check,
        };
        n.up().await;
        n
    }

    /// Starts the process (again, on the same address after the first start).
    pub async fn up(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
            .args([
                "serve",
                "--listen",
                &self.listen,
                "--database",
                &self.database,
            ])
            .args(["--nats", &format!("nats://127.0.0.1:{}", self.proxy.port)])
            .env("PARLEY_ADMIN_KEY", ADMIN)
            .env("PARLEY_LOG", "info")
            .env("PARLEY_USER_RATE_PER_SEC", "10000")
            .env("PARLEY_USER_BURST", "10000")
            .env(
                "PARLEY_POSITION_CHECK_SECS",
                self.position_check.to_string(),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("parley serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
                .await
                .expect("node start timed out")
                .expect("stdout")
                .unwrap_or_else(|| panic!("{} exited; log: {}", self.name, self.log.display()));
            if let Some(url) = line.strip_prefix("Parley listening on http://") {
                break url.trim().to_string();
            }
        };
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.listen = addr.clone();
        self.base = format!("http://{addr}");
        self.child = Some(child);
    }

    /// `kill -9`.
    pub async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
        }
    }

    fn signal(&self, sig: i32) {
        if let Some(pid) = self.child.as_ref().and_then(|c| c.id()) {
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe {
                libc::kill(pid as i32, sig);
            }
        }
    }

    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }
}

/// The three nodes, their NATS and database, and an HTTP client.
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub nats: Nats,
    pub database: String,
    pub http: reqwest::Client,
}

impl Cluster {
    /// Three nodes whose sockets' positions are checked every `position_check` seconds (long:
    /// only NATS can deliver in time).
    pub async fn start(position_check: u64) -> Cluster {
        let database = fresh_database().await;
        let nats = Nats::start().await;
        let mut nodes = Vec::new();
        // One at a time: the first applies the migrations.
        for name in ["A", "B", "C"] {
            nodes.push(Node::start(name, &database, nats.port, position_check).await);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()
            .unwrap();
        Cluster {
            nodes,
            nats,
            database,
            http,
        }
    }

    pub async fn call(
        &self,
        node: usize,
        method: Method,
        path: &str,
        auth: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.nodes[node].base))
            .bearer_auth(auth);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let st = resp.status();
        let text = resp.text().await?;
        Ok((st, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    pub async fn admin(&self, node: usize, method: Method, path: &str, body: Value) -> Value {
        let (st, v) = self
            .call(node, method, path, ADMIN, Some(body))
            .await
            .expect("admin call");
        assert!(st.is_success(), "{path}: {st} {v}");
        v
    }

    /// Freelancers `users` (no organisation) and their tokens.
    pub async fn users(&self, users: &[&str]) -> Vec<String> {
        let mut tokens = Vec::new();
        for u in users {
            self.admin(
                0,
                Method::PUT,
                &format!("/v1/users/{u}"),
                json!({"name": u, "roles": ["freelancer"]}),
            )
            .await;
            let (st, v) = self
                .call(
                    0,
                    Method::POST,
                    &format!("/v1/users/{u}/tokens"),
                    ADMIN,
                    None,
                )
                .await
                .expect("token");
            assert_eq!(st, StatusCode::CREATED, "{v}");
            tokens.push(v["token"].as_str().unwrap().to_string());
        }
        tokens
    }

    pub async fn conversation(&self, members: &[&str]) -> String {
        let v = self
            .admin(
                0,
                Method::POST,
                "/v1/conversations",
                json!({"members": members, "subject": "t"}),
            )
            .await;
        v["id"].as_str().unwrap().to_string()
    }

    /// Posts through `node`: the status and answer.
    pub async fn post(
        &self,
        node: usize,
        tok: &str,
        conv: &str,
        body: &str,
        client_id: &str,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        self.call(
            node,
            Method::POST,
            &format!("/v1/conversations/{conv}/messages"),
            tok,
            Some(json!({"body": body, "client_id": client_id})),
        )
        .await
    }

    /// The user's event log in the database: (seq, message id).
    pub async fn db_events(&self, user: &str) -> Vec<(i64, Option<i64>)> {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&self.database).await.unwrap();
        sqlx::query_as("SELECT seq, message_id FROM events WHERE user_id = $1 ORDER BY seq")
            .bind(user)
            .fetch_all(&mut c)
            .await
            .unwrap()
    }

    pub async fn ws(&self, node: usize, tok: &str, cursor: Option<i64>) -> Result<Ws, String> {
        let mut url = format!(
            "{}/v1/ws?token={tok}",
            self.nodes[node].base.replace("http://", "ws://")
        );
        if let Some(c) = cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let conn = tokio::time::timeout(
            Duration::from_secs(3),
            tokio_tungstenite::connect_async(url),
        )
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| e.to_string())?;
        Ok(Ws(conn.0))
    }
}

pub struct Ws(
    pub tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
);

impl Ws {
    /// The next JSON frame within `wait` (None: nothing came; Err: the socket ended).
    pub async fn next_within(&mut self, wait: Duration) -> Result<Option<Value>, String> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.0.next()).await {
                Err(_) => return Ok(None),
                Ok(None) => return Err("closed".into()),
                Ok(Some(Err(e))) => return Err(e.to_string()),
                Ok(Some(Ok(WsMsg::Text(t)))) => {
                    return Ok(Some(
                        serde_json::from_str(t.as_str()).unwrap_or(Value::Null),
                    ))
                }
                Ok(Some(Ok(WsMsg::Close(_)))) => return Err("closed".into()),
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// The next `message.created` event within `wait`.
    pub async fn next_message(&mut self, wait: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Ok(Some(v)) if v["type"] == "message.created" => return v,
                Ok(Some(_)) => {}
                other => panic!("no message.created within {wait:?}: {other:?}"),
            }
        }
    }

    pub async fn send(&mut self, v: Value) -> bool {
        self.0.send(WsMsg::Text(v.to_string().into())).await.is_ok()
    }
}
