//! The short fault run: a bounded load across the three nodes while a node is killed with
//! `kill -9` and restarted, one is paused (SIGSTOP) for a few seconds, NATS is restarted and
//! one node's link to NATS is cut; then a checker in the style of Jepsen's queue checker.

use crate::harness::Cluster;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const USERS: [&str; 6] = ["u0", "u1", "u2", "u3", "u4", "u5"];

/// `n` in lowercase letters (message texts carry no digits a detector could join).
fn letters(mut n: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'a' + (n % 26) as u8);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    s.reverse();
    String::from_utf8(s).unwrap()
}

#[derive(Default)]
struct Sent {
    /// Every text a client tried to send.
    attempted: HashSet<String>,
    /// Acknowledged (201): text -> message id.
    acked: HashMap<String, i64>,
    /// Answers other than 201/202 (none expected).
    refused: Vec<String>,
}

/// One event as a client saw it: kind, message id, conversation, body.
type Item = (String, Option<i64>, Option<String>, Option<String>);

#[derive(Default)]
struct Seen {
    /// seq -> the first copy.
    events: BTreeMap<i64, Item>,
    /// The last contiguous seq.
    cursor: i64,
    /// A copy of a seq that differed from the first, or a frame past a gap.
    violations: Vec<String>,
    reconnects: usize,
}

async fn sender(
    http: reqwest::Client,
    bases: Vec<String>,
    user: usize,
    tok: String,
    conv: String,
    stop: Arc<AtomicBool>,
    sent: Arc<Mutex<Sent>>,
) {
    let mut n = 0usize;
    while !stop.load(Ordering::Acquire) {
        let text = format!("note {} {}", USERS[user], letters(n));
        let client_id = format!("{}-{n}", USERS[user]);
        sent.lock().unwrap().attempted.insert(text.clone());
        for attempt in 0..8 {
            let node = (n + attempt) % bases.len();
            let r = http
                .post(format!("{}/v1/conversations/{conv}/messages", bases[node]))
                .bearer_auth(&tok)
                .json(&json!({"body": text, "client_id": client_id}))
                .send()
                .await;
            let Ok(resp) = r else { continue };
            let st = resp.status();
            let v: Value = resp.json().await.unwrap_or(Value::Null);
            let mut s = sent.lock().unwrap();
            if st == 201 {
                s.acked
                    .insert(text.clone(), v["message"]["id"].as_i64().unwrap_or(-1));
            } else if st.is_server_error() {
                drop(s);
                continue;
            } else {
                s.refused.push(format!("{text}: {st} {v}"));
            }
            break;
        }
        n += 1;
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
}

async fn receiver(
    c: Arc<ClusterView>,
    user: usize,
    tok: String,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
) {
    let mut node = user % c.bases.len();
    while !stop.load(Ordering::Acquire) {
        let cursor = seen.lock().unwrap().cursor;
        let url = format!(
            "{}/v1/ws?token={tok}&cursor={cursor}",
            c.bases[node].replace("http://", "ws://")
        );
        let conn = tokio::time::timeout(
            Duration::from_secs(2),
            tokio_tungstenite::connect_async(url),
        )
        .await;
        let Ok(Ok((ws, _))) = conn else {
            node = (node + 1) % c.bases.len();
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let mut ws = crate::harness::Ws(ws);
        let mut heard = Instant::now();
        let mut pinged = Instant::now();
        while !stop.load(Ordering::Acquire) {
            if pinged.elapsed() > Duration::from_secs(1) {
                pinged = Instant::now();
                if !ws.send(json!({"type": "ping"})).await {
                    break;
                }
            }
            match ws.next_within(Duration::from_millis(300)).await {
                Ok(Some(v)) => {
                    heard = Instant::now();
                    if let Some(seq) = v["seq"].as_i64() {
                        record(&mut seen.lock().unwrap(), seq, &v);
                    }
                }
                Ok(None) if heard.elapsed() < Duration::from_secs(3) => {}
                // Silent for 3 s despite pings (a paused node), or closed: another node.
                _ => break,
            }
        }
        seen.lock().unwrap().reconnects += 1;
        node = (node + 1) % c.bases.len();
    }
}

fn record(s: &mut Seen, seq: i64, v: &Value) {
    let item = (
        v["type"].as_str().unwrap_or_default().to_string(),
        v["message"]["id"].as_i64().or(v["message_id"].as_i64()),
        v["conversation_id"].as_str().map(str::to_string),
        v["message"]["body"].as_str().map(str::to_string),
    );
    if let Some(first) = s.events.get(&seq) {
        if first.0 != item.0 || first.1 != item.1 {
            s.violations.push(format!(
                "seq {seq} twice, differently: {first:?} / {item:?}"
            ));
        }
        return;
    }
    if seq != s.cursor + 1 {
        s.violations
            .push(format!("seq {seq} after {} on one socket (gap)", s.cursor));
    }
    s.events.insert(seq, item);
    s.cursor = s.cursor.max(seq);
}

struct ClusterView {
    bases: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "cluster: needs PostgreSQL and nats-server; run by scripts/test.sh"]
async fn fault_run_loses_duplicates_and_reorders_nothing() {
    let mut c = Cluster::start(1).await;
    let toks = c.users(&USERS).await;
    let mut convs = Vec::new();
    for pair in USERS.chunks(2) {
        convs.push(c.conversation(pair).await);
    }
    let view = Arc::new(ClusterView {
        bases: c.nodes.iter().map(|n| n.base.clone()).collect(),
    });
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let stop_send = Arc::new(AtomicBool::new(false));
    let stop_recv = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(Mutex::new(Sent::default()));
    let seen: Vec<Arc<Mutex<Seen>>> = USERS.iter().map(|_| Arc::default()).collect();
    let mut tasks = Vec::new();
    for (i, tok) in toks.iter().enumerate() {
        tasks.push(tokio::spawn(receiver(
            view.clone(),
            i,
            tok.clone(),
            stop_recv.clone(),
            seen[i].clone(),
        )));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut senders = Vec::new();
    for (i, tok) in toks.iter().enumerate() {
        senders.push(tokio::spawn(sender(
            http.clone(),
            view.bases.clone(),
            i,
            tok.clone(),
            convs[i / 2].clone(),
            stop_send.clone(),
            sent.clone(),
        )));
    }
    let at = |s: u64| tokio::time::sleep(Duration::from_secs(s));
    at(3).await;
    c.nodes[1].kill().await; // kill -9 B
    at(3).await;
    c.nodes[1].up().await;
    at(3).await;
    c.nodes[2].pause(); // SIGSTOP C
    at(4).await;
    c.nodes[2].resume();
    at(2).await;
    c.nats.down().await;
    at(2).await;
    c.nats.up().await;
    at(2).await;
    c.nodes[0].proxy.cut(); // A loses NATS
    at(2).await;
    c.nodes[0].proxy.restore();
    c.nodes[1].proxy.delay(Duration::from_millis(200)); // B's NATS link slow
    at(2).await;
    c.nodes[1].proxy.delay(Duration::ZERO);
    stop_send.store(true, Ordering::Release);
    for s in senders {
        s.await.unwrap();
    }
    let last_fault = Instant::now();

    // Every client converges on the database within 10 s.
    let mut heads = Vec::new();
    loop {
        heads.clear();
        for u in USERS {
            heads.push(c.db_events(u).await.last().map_or(0, |e| e.0));
        }
        let behind: Vec<(usize, i64, i64)> = (0..USERS.len())
            .map(|i| (i, seen[i].lock().unwrap().cursor, heads[i]))
            .filter(|(_, got, head)| got < head)
            .collect();
        if behind.is_empty() {
            break;
        }
        assert!(
            last_fault.elapsed() < Duration::from_secs(10),
            "not converged 10 s after the last fault: (user, cursor, head) {behind:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let converged_in = last_fault.elapsed();
    stop_recv.store(true, Ordering::Release);
    for t in tasks {
        t.await.unwrap();
    }

    // The checker.
    let sent = std::mem::take(&mut *sent.lock().unwrap());
    assert!(sent.refused.is_empty(), "refused sends: {:?}", sent.refused);
    assert!(
        sent.acked.len() >= 100,
        "too little load: {}",
        sent.acked.len()
    );
    let mut lost = Vec::new();
    let mut unexpected = Vec::new();
    let mut duplicated = Vec::new();
    let mut out_of_order = Vec::new();
    let mut violations = Vec::new();
    let mut recovered = 0;
    for (i, u) in USERS.iter().enumerate() {
        let s = seen[i].lock().unwrap();
        violations.extend(s.violations.iter().map(|v| format!("{u}: {v}")));
        let conv = &convs[i / 2];
        let mut by_id: HashMap<i64, i64> = HashMap::new();
        let mut last_id = 0;
        let mut bodies = HashSet::new();
        for (seq, (kind, id, cv, body)) in &s.events {
            if kind != "message.created" || cv.as_ref() != Some(conv) {
                continue;
            }
            let id = id.unwrap_or(-1);
            if let Some(other) = by_id.insert(id, *seq) {
                duplicated.push(format!("{u}: message {id} at seq {other} and {seq}"));
            }
            if id <= last_id {
                out_of_order.push(format!("{u}: message {id} after {last_id}"));
            }
            last_id = id;
            let body = body.clone().unwrap_or_default();
            if !sent.attempted.contains(&body) {
                unexpected.push(format!("{u}: {body:?}"));
            }
            if !sent.acked.contains_key(&body) {
                recovered += 1;
            }
            bodies.insert(body);
        }
        let peer = USERS[i ^ 1];
        for (text, id) in &sent.acked {
            if text.starts_with(&format!("note {peer} ")) && !bodies.contains(text) {
                lost.push(format!("{u} never got {text:?} (message {id})"));
            }
        }
    }
    eprintln!(
        "fault run: {} acknowledged of {} attempted, {recovered} recovered deliveries, converged {converged_in:?} after the last fault, reconnects {:?}",
        sent.acked.len(),
        sent.attempted.len(),
        seen.iter()
            .map(|s| s.lock().unwrap().reconnects)
            .collect::<Vec<_>>()
    );
    assert!(lost.is_empty(), "lost {}: {lost:?}", lost.len());
    assert!(unexpected.is_empty(), "unexpected: {unexpected:?}");
    assert!(duplicated.is_empty(), "duplicated: {duplicated:?}");
    assert!(out_of_order.is_empty(), "out of order: {out_of_order:?}");
    assert!(violations.is_empty(), "{violations:?}");

    // Finally every client replays from cursor 0 and matches the database.
    for (i, u) in USERS.iter().enumerate() {
        let db = c.db_events(u).await;
        let mut ws = c.ws(i % 3, &toks[i], Some(0)).await.unwrap();
        let mut got = Vec::new();
        while got.len() < db.len() {
            match ws.next_within(Duration::from_secs(5)).await {
                Ok(Some(v)) => {
                    if let Some(seq) = v["seq"].as_i64() {
                        got.push((
                            seq,
                            v["message"]["id"].as_i64().or(v["message_id"].as_i64()),
                        ));
                    }
                }
                other => panic!(
                    "{u}: replay stopped at {} of {}: {other:?}",
                    got.len(),
                    db.len()
                ),
            }
        }
        assert_eq!(got, db, "{u}: replay from 0 differs from the database");
    }
}
