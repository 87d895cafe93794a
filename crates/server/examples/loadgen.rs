//! Load generator: starts a server in a child process (this same binary, `--serve-child`) on a
//! temporary SQLite file, then drives real HTTP posts and WebSocket receivers on loopback and
//! reports end-to-end messages/s (accepted by POST, stored, delivered to the recipient's socket),
//! latency percentiles, the server's CPU time per message and its memory (VmRSS of the server
//! process) with and without IDLE extra authenticated WebSocket connections held open.
//!
//! `cargo run --release -p parley-server --example loadgen -- [MESSAGES] [PAIRS] [RATE_PER_SEC or 0] [IDLE]`
//!
//! Both processes raise their open-file limit. Idle sockets connect from 127.0.0.2, 127.0.0.3...
//! (20,000 per source address) so the ephemeral ports of one address are never the limit.

use futures_util::{SinkExt, StreamExt};
use parley_server::{AppState, Config};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const ADMIN: &str = "loadgen-admin-key-that-is-32-bytes-long";
const PER_SOURCE_IP: usize = 20_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let _ = parley_server::raise_open_files_limit();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if args.get(1).map(String::as_str) == Some("--serve-child") {
        rt.block_on(serve_child());
    } else {
        rt.block_on(drive(&args));
    }
}

/// The server process: prints `LISTEN addr`, serves until its stdin closes.
async fn serve_child() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        database: format!("sqlite://{}", dir.path().join("load.db").display()),
        admin_key: Some(ADMIN.into()),
        user_burst: 1e12,
        user_rate_per_sec: 1e12,
        key_burst: 1e12,
        key_rate_per_sec: 1e12,
        // Every socket comes from loopback addresses (20,000 per address).
        max_connections_per_ip: 1_000_000,
        // Idle sockets are left alone (their pings unanswered) for the whole run.
        ws_dead_peer_secs: 24 * 3600,
        ..Config::default()
    };
    let state = AppState::new(config).await.expect("server state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    println!("LISTEN {}", listener.local_addr().expect("addr"));
    std::io::stdout().flush().expect("stdout");
    let stop = async {
        // EOF on stdin: the parent is gone.
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await;
    };
    parley_server::run(listener, state, stop)
        .await
        .expect("serve");
}

/// (VmRSS in kB, CPU seconds user+system) of a process.
fn proc_usage(pid: &str) -> (u64, f64) {
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0);
    let cpu = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the command name (which is in parentheses).
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = f.get(11)?.parse().ok()?;
            let stime: f64 = f.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(f64::NAN);
    (rss, cpu)
}

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4 * 1024)
}

async fn drive(args: &[String]) {
    let total: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let pairs: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(64);
    let rate: f64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(0.0);
    let idle: usize = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(0);

    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new(exe)
        .arg("--serve-child")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("server child");
    let pid = child.id().to_string();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("child stdout"))
        .read_line(&mut line)
        .expect("child address");
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("LISTEN ")
        .and_then(|a| a.parse().ok())
        .expect("LISTEN addr");
    let base = format!("http://{addr}");
    let ws_base = format!("ws://{addr}");

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
                .expect("PUT");
            assert!(r.status().is_success(), "{path}: {}", r.status());
        }
    };
    let token = |u: String| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let v: Value = http
                .post(format!("{base}/v1/users/{u}/tokens"))
                .bearer_auth(ADMIN)
                .send()
                .await
                .expect("token")
                .json()
                .await
                .expect("token JSON");
            v["token"].as_str().expect("token").to_string()
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
        let (tc, tf) = (token(format!("c{p}")).await, token(format!("f{p}")).await);
        let v: Value = http
            .post(format!("{base}/v1/conversations"))
            .bearer_auth(ADMIN)
            .json(&json!({"members": [format!("c{p}"), format!("f{p}")]}))
            .send()
            .await
            .expect("conversation")
            .json()
            .await
            .expect("conversation JSON");
        convs.push((v["id"].as_str().expect("id").to_string(), tc, tf));
    }
    let (rss_base, _) = proc_usage(&pid);

    // Idle sockets: one user each, authenticated, connected and left alone.
    let mut idle_sockets = Vec::with_capacity(idle);
    if idle > 0 {
        let t0 = Instant::now();
        let tokens: Vec<String> = futures_util::stream::iter(0..idle)
            .map(|i| {
                let (put, token) = (&put, &token);
                async move {
                    put(format!("/v1/users/idle{i}"), json!({"name": "idle"})).await;
                    token(format!("idle{i}")).await
                }
            })
            .buffer_unordered(32)
            .collect()
            .await;
        let opened: Vec<_> = futures_util::stream::iter(tokens.into_iter().enumerate())
            .map(|(i, tok)| {
                let url = format!("{ws_base}/v1/ws?token={tok}");
                async move {
                    let source = std::net::Ipv4Addr::new(127, 0, 0, 2 + (i / PER_SOURCE_IP) as u8);
                    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
                    sock.bind(SocketAddr::new(source.into(), 0))
                        .expect("bind source address");
                    let stream = sock.connect(addr).await.expect("connect");
                    let (ws, _) =
                        tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config()))
                            .await
                            .expect("idle WebSocket");
                    ws
                }
            })
            .buffer_unordered(64)
            .collect()
            .await;
        idle_sockets = opened;
        println!(
            "{} idle WebSockets open in {:.1}s",
            idle_sockets.len(),
            t0.elapsed().as_secs_f64()
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss_idle, cpu_before) = proc_usage(&pid);

    // Receivers.
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let lat: Arc<Mutex<Vec<f64>>> = Arc::default();
    for (_, _, tf) in &convs {
        let (ws, _) = tokio_tungstenite::connect_async_with_config(
            format!("{ws_base}/v1/ws?token={tf}"),
            Some(ws_config()),
            false,
        )
        .await
        .expect("receiver WebSocket");
        let (sent, lat) = (sent.clone(), lat.clone());
        tokio::spawn(async move {
            let (_, mut rx) = ws.split();
            while let Some(Ok(m)) = rx.next().await {
                if let WsMessage::Text(t) = m {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                    if v["type"] == "message.created" {
                        let body = v["message"]["body"].as_str().unwrap_or("");
                        let at = sent.lock().expect("sent").remove(body);
                        if let Some(at) = at {
                            lat.lock()
                                .expect("lat")
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
                sent.lock()
                    .expect("sent")
                    .insert(body.clone(), Instant::now());
                let r = http
                    .post(format!("{base}/v1/conversations/{conv}/messages"))
                    .bearer_auth(&tc)
                    .json(&json!({"body": body, "client_id": format!("{i}")}))
                    .send()
                    .await
                    .expect("post");
                assert_eq!(r.status(), 201);
            }
        }));
    }
    for t in tasks {
        t.await.expect("sender");
    }
    let want = per_pair * pairs;
    while lat.lock().expect("lat").len() < want && start.elapsed() < Duration::from_secs(600) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    let (rss_end, cpu_after) = proc_usage(&pid);
    // The idle sockets are still open (and still answer a ping).
    let mut alive = 0;
    for ws in idle_sockets.iter_mut().take(100) {
        if ws
            .send(WsMessage::Text(r#"{"type":"ping"}"#.into()))
            .await
            .is_ok()
        {
            if let Ok(Some(Ok(WsMessage::Text(_)))) =
                tokio::time::timeout(Duration::from_secs(5), ws.next()).await
            {
                alive += 1;
            }
        }
    }
    let mut l = lat.lock().expect("lat").clone();
    l.sort_by(|a, b| a.total_cmp(b));
    let pct = |q: f64| {
        l.get(((l.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let n = l.len();
    println!(
        "{n} delivered of {want} in {secs:.2}s: {:.0} msg/s end to end; latency p50 {:.1} ms p99 {:.1} ms max {:.1} ms",
        n as f64 / secs,
        pct(0.5),
        pct(0.99),
        pct(1.0),
    );
    println!(
        "server: {:.0} us CPU per message; VmRSS {} MB after setup, {} MB with {} idle sockets ({:.1} KB per socket), {} MB at the end{}",
        (cpu_after - cpu_before) * 1e6 / n.max(1) as f64,
        rss_base / 1024,
        rss_idle / 1024,
        idle_sockets.len(),
        if idle > 0 {
            (rss_idle.saturating_sub(rss_base)) as f64 / idle as f64
        } else {
            0.0
        },
        rss_end / 1024,
        if idle > 0 {
            format!("; {alive} of {} idle sockets pinged answer", idle.min(100))
        } else {
            String::new()
        }
    );
    drop(idle_sockets);
    drop(child.stdin.take());
    let _ = child.wait();
}
