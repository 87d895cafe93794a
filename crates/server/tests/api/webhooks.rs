//! Webhooks (issue 16): endpoints over the API, signed deliveries (Standard Webhooks), retries
//! on the schedule with an injected clock (no loss, the same `webhook-id`), 410 and 5-day
//! disabling, `Retry-After`, rotation, replay, private targets refused, redirects not followed,
//! and the operator event feed.

use super::*;
use parley_server::{webhook_sign, webhook_worker};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What the receiver got: one entry per request.
#[derive(Clone, Debug)]
pub(crate) struct Got {
    pub(crate) path: String,
    pub(crate) id: String,
    pub(crate) timestamp: String,
    pub(crate) signature: String,
    pub(crate) body: String,
}

/// A loopback receiver: `/hook` answers `mode` (200, 500, 410, 503 with Retry-After),
/// `/redirect` answers 302 to `/hook`.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    mode: Arc<Mutex<u16>>,
}

impl Receiver {
    pub(crate) async fn start() -> (Receiver, String) {
        use axum::routing::post;
        let r = Receiver::default();
        *r.mode.lock().unwrap() = 200;
        let rr = r.clone();
        let record = move |path: &'static str| {
            let r = rr.clone();
            move |headers: axum::http::HeaderMap, body: String| {
                let r = r.clone();
                async move {
                    let h = |k: &str| {
                        headers
                            .get(k)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string()
                    };
                    r.got.lock().unwrap().push(Got {
                        path: path.into(),
                        id: h("webhook-id"),
                        timestamp: h("webhook-timestamp"),
                        signature: h("webhook-signature"),
                        body,
                    });
                    let mode = if path == "/redirect" {
                        302
                    } else {
                        *r.mode.lock().unwrap()
                    };
                    let mut resp = axum::http::Response::builder().status(mode);
                    if mode == 302 {
                        resp = resp.header("location", "/hook");
                    }
                    if mode == 503 {
                        resp = resp.header("retry-after", "600");
                    }
                    resp.body(axum::body::Body::from("x".repeat(10_000)))
                        .unwrap()
                }
            }
        };
        let app = axum::Router::new()
            .route("/hook", post(record("/hook")))
            .route("/redirect", post(record("/redirect")));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, base)
    }
    fn set(&self, mode: u16) {
        *self.mode.lock().unwrap() = mode;
    }
    pub(crate) fn take(&self) -> Vec<Got> {
        std::mem::take(&mut *self.got.lock().unwrap())
    }
}

/// A server whose deliveries the test drives (no worker), with private targets allowed.
pub(crate) async fn hooks_server(database: Option<String>) -> (Server, AppState) {
    let (dir, database) = match database {
        Some(d) => (None, d),
        None => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("w.db").display());
            (Some(dir), url)
        }
    };
    let files = std::env::temp_dir().join(format!("parley-test-files-{}", unique()));
    let mut config = Config {
        database,
        admin_key: Some(ADMIN.into()),
        webhook_allow_private_targets: true,
        webhook_delivery: false,
        ..Config::default()
    };
    config.files.storage = files.display().to_string();
    let state = AppState::new(config).await.expect("server state");
    let server = serve(state.clone(), dir).await;
    (server, state)
}

fn verify(secret: &str, g: &Got) -> bool {
    let ts: i64 = g.timestamp.parse().unwrap();
    let want = webhook_sign::sign(secret, &g.id, ts, &g.body).unwrap();
    g.signature.split(' ').any(|s| s == want)
}

async fn deliveries(s: &Server, ep: &str) -> Vec<Value> {
    let (st, v) = s
        .call(
            Method::GET,
            &format!("/v1/webhooks/{ep}/deliveries"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v["deliveries"].as_array().unwrap().clone()
}

async fn flow(s: &Server, state: &AppState) {
    let (rx, base) = Receiver::start().await;
    let client = webhook_worker::client(true);
    let (st, v) = s
        .admin(
            Method::POST,
            "/v1/webhooks",
            json!({"url": format!("{base}/hook"), "description": "marketplace"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let ep = v["id"].as_str().unwrap().to_string();
    let secret = v["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{v}");
    let (st, v) = s.call(Method::GET, "/v1/webhooks", Some(ADMIN), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["webhooks"][0]["id"], ep.as_str());
    assert!(v["webhooks"][0].get("secret").is_none(), "{v}");

    // Changes, each reported in its own transaction.
    let [_, _, diego, ..] = seed(s).await;
    let c = s.conversation(&["avery", "diego"]).await;
    let (st, _) = s.post(&diego, &c, "Hello, happy to help", "w1").await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _) = s
        .post(&diego, &c, "My number is +1 415 555 0134, text me", "w2")
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let events = s.operator_events().await;
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    for t in [
        "conversation.created",
        "message.created",
        "message.blocked",
        "enforcement.created",
    ] {
        assert!(types.contains(&t), "{t} missing from {types:?}");
    }
    let blocked = events
        .iter()
        .find(|e| e["type"] == "message.blocked")
        .unwrap();
    // The event's id and seq are random or counters; its data and the whole event must not
    // carry the number (an id may hold "555" by chance: checked on the data alone).
    assert!(
        !blocked["data"].to_string().contains("555") && !blocked.to_string().contains("415 555"),
        "no contact details: {blocked}"
    );

    // The receiver fails: attempts at once, then after 5 s (±10 %), then 5 min.
    let t0 = state.now_ms();
    rx.set(500);
    let n = webhook_worker::deliver_due(state, &client, t0).await;
    assert_eq!(n, events.len(), "every event delivered once");
    let first = rx.take();
    assert_eq!(first.len(), n);
    for d in deliveries(s, &ep).await {
        assert_eq!(d["status"], "pending", "{d}");
        let next = d["next_attempt_at"].as_i64().unwrap();
        assert!((t0 + 4_500..=t0 + 5_500).contains(&next), "{d}");
        assert_eq!(d["attempt_log"][0]["status_code"], 500);
        assert!(d["attempt_log"][0]["response"].as_str().unwrap().len() <= 4096);
    }
    assert_eq!(
        webhook_worker::deliver_due(state, &client, t0 + 1_000).await,
        0
    );
    let t1 = t0 + 6_000;
    assert_eq!(webhook_worker::deliver_due(state, &client, t1).await, n);
    let second = rx.take();
    for d in deliveries(s, &ep).await {
        let next = d["next_attempt_at"].as_i64().unwrap();
        assert!((t1 + 270_000..=t1 + 330_000).contains(&next), "{d}");
    }
    // Recovered: delivered, no event lost, the same id on every attempt, signed.
    rx.set(200);
    let t2 = t1 + 331_000;
    assert_eq!(webhook_worker::deliver_due(state, &client, t2).await, n);
    let third = rx.take();
    let ids = |g: &[Got]| {
        let mut v: Vec<String> = g.iter().map(|x| x.id.clone()).collect();
        v.sort();
        v
    };
    let mut feed_ids: Vec<String> = events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    feed_ids.sort();
    assert_eq!(ids(&first), feed_ids);
    assert_eq!(ids(&second), feed_ids);
    assert_eq!(ids(&third), feed_ids);
    for g in &third {
        assert!(verify(&secret, g), "signature of {g:?}");
        let body: Value = serde_json::from_str(&g.body).unwrap();
        assert!(
            body["type"].is_string() && body["timestamp"].is_string() && body["data"].is_object()
        );
    }
    for d in deliveries(s, &ep).await {
        assert_eq!(d["status"], "succeeded", "{d}");
        let codes: Vec<i64> = d["attempt_log"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["status_code"].as_i64().unwrap())
            .collect();
        assert_eq!(codes, [500, 500, 200]);
    }
    assert_eq!(
        webhook_worker::deliver_due(state, &client, t2 + 86_400_000).await,
        0
    );

    // Replay one delivery: the same id again.
    let one = deliveries(s, &ep).await[0].clone();
    let (st, v) = s
        .admin(
            Method::POST,
            &format!("/v1/webhooks/{ep}/replay"),
            json!({"delivery_id": one["id"]}),
        )
        .await;
    assert_eq!(
        (st, v["replayed"].as_i64()),
        (StatusCode::ACCEPTED, Some(1)),
        "{v}"
    );
    let t3 = state.now_ms();
    assert_eq!(webhook_worker::deliver_due(state, &client, t3).await, 1);
    assert_eq!(rx.take()[0].id, one["event"]["id"].as_str().unwrap());

    // Rotation: both secrets sign during the overlap.
    let (st, v) = s
        .call(
            Method::POST,
            &format!("/v1/webhooks/{ep}/rotate"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let new_secret = v["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    let (st, _) = s
        .call(
            Method::POST,
            &format!("/v1/webhooks/{ep}/test"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    assert_eq!(
        webhook_worker::deliver_due(state, &client, state.now_ms()).await,
        1
    );
    let g = rx.take().remove(0);
    assert_eq!(g.signature.split(' ').count(), 2, "{g:?}");
    assert!(verify(&secret, &g) && verify(&new_secret, &g));

    // Retry-After is honoured.
    rx.set(503);
    s.call(
        Method::POST,
        &format!("/v1/webhooks/{ep}/test"),
        Some(ADMIN),
        None,
    )
    .await;
    let t4 = state.now_ms();
    assert_eq!(webhook_worker::deliver_due(state, &client, t4).await, 1);
    let d = deliveries(s, &ep).await[0].clone();
    assert!(
        d["next_attempt_at"].as_i64().unwrap() >= t4 + 600_000,
        "{d}"
    );

    // Failing for 5 days disables the endpoint, with an event.
    rx.set(500);
    let t5 = t4 + 6 * 86_400_000;
    assert_eq!(webhook_worker::deliver_due(state, &client, t5).await, 1);
    let (_, w) = s
        .call(
            Method::GET,
            &format!("/v1/webhooks/{ep}"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(w["enabled"], false, "{w}");
    assert!(
        w["disabled_reason"].as_str().unwrap().contains("5 days"),
        "{w}"
    );
    assert!(s
        .operator_events()
        .await
        .iter()
        .any(|e| e["type"] == "webhook.endpoint.disabled"));
    rx.take();

    // 410 Gone disables it at once.
    let (st, v) = s
        .admin(
            Method::PATCH,
            &format!("/v1/webhooks/{ep}"),
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(
        (st, v["enabled"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{v}"
    );
    rx.set(410);
    s.call(
        Method::POST,
        &format!("/v1/webhooks/{ep}/test"),
        Some(ADMIN),
        None,
    )
    .await;
    let t6 = state.now_ms() + 7 * 86_400_000;
    assert!(webhook_worker::deliver_due(state, &client, t6).await >= 1);
    let (_, w) = s
        .call(
            Method::GET,
            &format!("/v1/webhooks/{ep}"),
            Some(ADMIN),
            None,
        )
        .await;
    assert!(
        w["disabled_reason"].as_str().unwrap().contains("410"),
        "{w}"
    );
    rx.take();

    // A redirect is not followed.
    let (st, v) = s
        .admin(
            Method::POST,
            "/v1/webhooks",
            json!({"url": format!("{base}/redirect"), "events": ["webhook.test"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let ep2 = v["id"].as_str().unwrap().to_string();
    s.call(
        Method::POST,
        &format!("/v1/webhooks/{ep2}/test"),
        Some(ADMIN),
        None,
    )
    .await;
    rx.set(200);
    assert_eq!(
        webhook_worker::deliver_due(state, &client, state.now_ms()).await,
        1
    );
    let got = rx.take();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].path, "/redirect");
    let d = deliveries(s, &ep2).await[0].clone();
    assert_eq!(d["attempt_log"][0]["status_code"], 302, "{d}");
    assert_eq!(d["status"], "pending");

    // Delete.
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/webhooks/{ep2}"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s
        .call(
            Method::GET,
            &format!("/v1/webhooks/{ep2}"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // The feed pages with its cursor.
    let (_, p1) = s
        .call(
            Method::GET,
            "/v1/operator/events?limit=2",
            Some(ADMIN),
            None,
        )
        .await;
    let cur = p1["cursor"].as_i64().unwrap();
    let (_, p2) = s
        .call(
            Method::GET,
            &format!("/v1/operator/events?cursor={cur}&limit=2"),
            Some(ADMIN),
            None,
        )
        .await;
    assert!(p2["events"][0]["seq"].as_i64().unwrap() > cur, "{p2}");
    let mut by_type: HashMap<String, usize> = HashMap::new();
    for e in s.operator_events().await {
        *by_type
            .entry(e["type"].as_str().unwrap().into())
            .or_default() += 1;
    }
    assert!(by_type["webhook.test"] >= 3, "{by_type:?}");

    // A node killed mid-delivery: what it claimed is claimed again when its lease ends, with
    // the same id.
    let (_, v) = s
        .admin(
            Method::POST,
            "/v1/webhooks",
            json!({"url": format!("{base}/hook")}),
        )
        .await;
    let ep3 = v["id"].as_str().unwrap().to_string();
    s.call(
        Method::POST,
        &format!("/v1/webhooks/{ep3}/test"),
        Some(ADMIN),
        None,
    )
    .await;
    let now = state.now_ms();
    let claimed = state
        .store()
        .claim_deliveries(now, now + 30_000, 16)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        webhook_worker::deliver_due(state, &client, now + 1_000).await,
        0
    );
    assert_eq!(
        webhook_worker::deliver_due(state, &client, now + 30_001).await,
        1
    );
    assert_eq!(rx.take()[0].id, claimed[0].0.event.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_deliver_with_retries_sqlite() {
    let (s, state) = hooks_server(None).await;
    flow(&s, &state).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_deliver_with_retries_postgres() {
    let Some(url) = postgres_url("webhooks_deliver_with_retries_postgres").await else {
        return;
    };
    let (s, state) = hooks_server(Some(url)).await;
    flow(&s, &state).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_webhook_targets_are_refused() {
    let s = start(None, None, |_| {}).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://10.1.2.3/hook",
        "http://172.16.5.4/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.100.100.200/",
        "http://[::1]/hook",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]/",
        "http://localhost/hook",
        "ftp://example.com/",
    ] {
        let (st, v) = s
            .admin(Method::POST, "/v1/webhooks", json!({"url": url}))
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{url}: {v}");
        assert_error(&v, "invalid_request");
    }
    let (st, v) = s
        .admin(
            Method::POST,
            "/v1/webhooks",
            json!({"url": "https://hooks.example.com/x", "events": ["nope.nothing"]}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let (st, _) = s.call(Method::GET, "/v1/webhooks", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}
