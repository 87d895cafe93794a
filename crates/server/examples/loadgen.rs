//! Load generator: starts a server on a temporary SQLite file (or `--database URL`), then drives
//! real HTTP posts and WebSocket receivers on loopback and reports end-to-end messages/s (accepted
//! by POST, stored, delivered to the recipient's socket) and latency percentiles.
//!
//! `cargo run --release -p parley-server --example loadgen -- [MESSAGES] [PAIRS] [RATE_PER_SEC or 0]`

use futures_util::StreamExt;
use parley_server::{AppState, Config};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ADMIN: &str = "loadgen-admin";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let total: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let pairs: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(64);
    let rate: f64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(0.0);
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        database: format!("sqlite://{}", dir.path().join("load.db").display()),
        admin_key: Some(ADMIN.into()),
        user_burst: 1e12,
        user_rate_per_sec: 1e12,
        key_burst: 1e12,
        key_rate_per_sec: 1e12,
        ..Config::default()
    };
    let state = AppState::new(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(parley_server::run(listener, state, std::future::pending()));
    let http = reqwest::Client::new();
    let put = |path: String, body: Value| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let r = http
                .put(format!("{base}{path}"))
                .bearer_auth(ADMIN)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
        }
    };
    put("/v1/orgs/o".into(), json!({"name": "Org", "plan": "basic"})).await;
    let mut convs = Vec::new();
    for p in 0..pairs {
        put(
            format!("/v1/users/c{p}"),
            json!({"name": "c", "org_id": "o", "roles": ["client"]}),
        )
        .await;
        put(
            format!("/v1/users/f{p}"),
            json!({"name": "f", "roles": ["freelancer"]}),
        )
        .await;
        let tok = |u: String| {
            let (http, base) = (http.clone(), base.clone());
            async move {
                let v: Value = http
                    .post(format!("{base}/v1/users/{u}/tokens"))
                    .bearer_auth(ADMIN)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                v["token"].as_str().unwrap().to_string()
            }
        };
        let (tc, tf) = (tok(format!("c{p}")).await, tok(format!("f{p}")).await);
        let v: Value = http
            .post(format!("{base}/v1/conversations"))
            .bearer_auth(ADMIN)
            .json(&json!({"members": [format!("c{p}"), format!("f{p}")]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        convs.push((v["id"].as_str().unwrap().to_string(), tc, tf));
    }
    // Receivers.
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let lat: Arc<Mutex<Vec<f64>>> = Arc::default();
    let ws_base = base.replace("http://", "ws://");
    for (_, _, tf) in &convs {
        let (ws, _) = tokio_tungstenite::connect_async(format!("{ws_base}/v1/ws?token={tf}"))
            .await
            .unwrap();
        let (sent, lat) = (sent.clone(), lat.clone());
        tokio::spawn(async move {
            let (_, mut rx) = ws.split();
            while let Some(Ok(m)) = rx.next().await {
                if let tokio_tungstenite::tungstenite::Message::Text(t) = m {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                    if v["type"] == "message.created" {
                        let body = v["message"]["body"].as_str().unwrap_or("").to_string();
                        if let Some(at) = sent.lock().unwrap().remove(&body) {
                            lat.lock()
                                .unwrap()
                                .push(at.elapsed().as_secs_f64() * 1000.0);
                        }
                    }
                }
            }
        });
    }
    let per_pair = total / pairs.max(1);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (p, (conv, tc, _)) in convs.into_iter().enumerate() {
        let (http, base, sent) = (http.clone(), base.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let interval = (rate > 0.0).then(|| Duration::from_secs_f64(pairs as f64 / rate));
            for i in 0..per_pair {
                if let Some(iv) = interval {
                    let due = start + iv * i as u32;
                    tokio::time::sleep_until(due.into()).await;
                }
                let body = format!("load {p} {i}: the draft is ready for review");
                sent.lock().unwrap().insert(body.clone(), Instant::now());
                let r = http
                    .post(format!("{base}/v1/conversations/{conv}/messages"))
                    .bearer_auth(&tc)
                    .json(&json!({"body": body, "client_id": format!("{i}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let want = per_pair * pairs;
    while lat.lock().unwrap().len() < want && start.elapsed() < Duration::from_secs(600) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    let mut l = lat.lock().unwrap().clone();
    l.sort_by(|a, b| a.total_cmp(b));
    let pct = |q: f64| {
        l.get(((l.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS"))
                .map(str::to_string)
        });
    println!(
        "{} delivered of {want} in {secs:.2}s: {:.0} msg/s end to end; latency p50 {:.1} ms p99 {:.1} ms max {:.1} ms; {}",
        l.len(), l.len() as f64 / secs, pct(0.5), pct(0.99), pct(1.0), rss.unwrap_or_default()
    );
}
