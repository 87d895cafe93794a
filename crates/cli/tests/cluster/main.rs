//! Several nodes: three `parley serve` processes, one PostgreSQL database, one `nats-server`
//! (see `harness.rs`). Slow and needing both services, so `#[ignore]`d in the main run;
//! `scripts/test.sh` runs them as their own step after `scripts/ensure-nats.sh`:
//!
//! ```sh
//! cargo test -p parley --test cluster -- --ignored --test-threads=1
//! ```

mod faults;
mod harness;
mod proxy;

use harness::Cluster;
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "cluster: needs PostgreSQL and nats-server; run by scripts/test.sh"]
async fn a_message_posted_on_one_node_reaches_sockets_on_the_others() {
    // Position checks every minute: live delivery in time is NATS's.
    let c = Cluster::start(60).await;
    let t = c.users(&["ana", "ben"]).await;
    let conv = c.conversation(&["ana", "ben"]).await;
    let mut on_b = c.ws(1, &t[1], None).await.unwrap();
    let mut on_c = c.ws(2, &t[1], None).await.unwrap();
    // Give the nodes' subscriptions a moment (a missed wake-up would still arrive through the
    // position check, but this test is about NATS).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (st, v) = c.post(0, &t[0], &conv, "hello from A", "m1").await.unwrap();
    assert_eq!(st, 201, "{v}");
    let started = std::time::Instant::now();
    for ws in [&mut on_b, &mut on_c] {
        let ev = ws.next_message(WAIT).await;
        assert_eq!(ev["message"]["body"], "hello from A", "{ev}");
        assert_eq!(ev["message"]["id"], v["message"]["id"], "{ev}");
    }
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "cross-node delivery took {:?} (the position check, not NATS?)",
        started.elapsed()
    );

    // Reconnecting to node C with a cursor: exactly the events missed.
    let cursor = on_b_cursor(&c, "ben").await;
    drop(on_b);
    drop(on_c);
    let mut ids = Vec::new();
    for (i, node) in [0usize, 1, 2, 0].into_iter().enumerate() {
        let (st, v) = c
            .post(node, &t[0], &conv, &format!("missed {i}"), &format!("x{i}"))
            .await
            .unwrap();
        assert_eq!(st, 201, "{v}");
        ids.push(v["message"]["id"].as_i64().unwrap());
    }
    let mut ws = c.ws(2, &t[1], Some(cursor)).await.unwrap();
    let mut got = Vec::new();
    while let Ok(Some(ev)) = ws.next_within(Duration::from_millis(1500)).await {
        got.push(ev);
    }
    let seqs: Vec<i64> = got.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    let want: Vec<i64> = (cursor + 1..=cursor + 4).collect();
    assert_eq!(seqs, want, "{got:?}");
    let got_ids: Vec<i64> = got
        .iter()
        .map(|e| e["message"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got_ids, ids);
}

/// The user's latest event in the database.
async fn on_b_cursor(c: &Cluster, user: &str) -> i64 {
    c.db_events(user).await.last().map_or(0, |e| e.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "cluster: needs PostgreSQL and nats-server; run by scripts/test.sh"]
async fn with_nats_down_sends_succeed_and_delivery_is_gap_free_after() {
    // Position checks every minute: what arrives after NATS returns comes from the re-read
    // on reconnection.
    let mut c = Cluster::start(60).await;
    let t = c.users(&["ana", "ben"]).await;
    let conv = c.conversation(&["ana", "ben"]).await;
    let mut ws = c.ws(1, &t[1], None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.nats.down().await;
    let mut ids = Vec::new();
    let until = std::time::Instant::now() + Duration::from_secs(8);
    let mut i = 0;
    while std::time::Instant::now() < until {
        let (st, v) = c
            .post(
                i % 3,
                &t[0],
                &conv,
                &format!("while down {i}"),
                &format!("d{i}"),
            )
            .await
            .unwrap();
        assert_eq!(st, 201, "send {i} with NATS down: {v}");
        ids.push(v["message"]["id"].as_i64().unwrap());
        i += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    c.nats.up().await;
    let back = std::time::Instant::now();
    let mut got: Vec<Value> = Vec::new();
    while got.len() < ids.len() {
        let ev = ws.next_message(WAIT).await;
        got.push(ev);
    }
    assert!(
        back.elapsed() < Duration::from_secs(5),
        "delivery resumed {:?} after NATS came back",
        back.elapsed()
    );
    let got_ids: Vec<i64> = got
        .iter()
        .map(|e| e["message"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got_ids, ids, "gap, duplicate or reordering");
    let seqs: Vec<i64> = got.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "cluster: needs PostgreSQL and nats-server; run by scripts/test.sh"]
async fn a_node_cut_from_nats_re_reads_its_sockets_on_reconnection() {
    // Position checks every minute: only the re-read on reconnection can deliver in time.
    let c = Cluster::start(60).await;
    let t = c.users(&["ana", "ben"]).await;
    let conv = c.conversation(&["ana", "ben"]).await;
    let mut ws = c.ws(1, &t[1], None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // B cannot hear NATS: A's publishes reach no subscription of B's.
    c.nodes[1].proxy.cut();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let (st, v) = c
            .post(
                i % 2 * 2,
                &t[0],
                &conv,
                &format!("cut {i}"),
                &format!("k{i}"),
            )
            .await
            .unwrap();
        assert_eq!(st, 201, "{v}");
        ids.push(v["message"]["id"].as_i64().unwrap());
    }
    assert!(
        matches!(ws.next_within(Duration::from_secs(2)).await, Ok(None)),
        "delivered while B was cut from NATS"
    );
    c.nodes[1].proxy.restore();
    let back = std::time::Instant::now();
    for id in &ids {
        let ev = ws.next_message(WAIT).await;
        assert_eq!(ev["message"]["id"], *id, "{ev}");
    }
    assert!(
        back.elapsed() < Duration::from_secs(5),
        "{:?}",
        back.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "cluster: needs PostgreSQL and nats-server; run by scripts/test.sh"]
async fn split_contact_details_get_the_same_verdict_through_several_nodes() {
    let c = Cluster::start(2).await;
    let t = c.users(&["ana", "ben"]).await;
    let parts = ["my number is 312", "555", "0148"];
    let mut verdicts = Vec::new();
    for (tag, nodes) in [("one", [0usize, 0, 0]), ("aba", [0, 1, 0])] {
        let conv = c.conversation(&["ana", "ben"]).await;
        let mut ids = Vec::new();
        let mut last = Value::Null;
        for (i, (p, node)) in parts.iter().zip(nodes).enumerate() {
            let (st, v) = c
                .post(node, &t[0], &conv, p, &format!("{tag}{i}"))
                .await
                .unwrap();
            if i + 1 < parts.len() {
                assert_eq!(st, 201, "{p}: {v}");
                assert_eq!(v["decision"]["action"], "allow", "{v}");
                ids.push(v["message"]["id"].as_i64().unwrap());
            } else {
                assert_eq!(st, 422, "the completing part through {nodes:?}: {v}");
                last = v;
            }
        }
        let f = &last["error"]["findings"][0];
        assert_eq!(f["category"], "phone", "{last}");
        assert_eq!(f["message_ids"], serde_json::json!(ids), "{last}");
        verdicts.push((
            last["error"]["code"].clone(),
            f["category"].clone(),
            f["rule"].clone(),
        ));
    }
    assert_eq!(verdicts[0], verdicts[1]);
}
