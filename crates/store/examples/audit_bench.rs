//! Cost of the audit trail: message posts with `allow` (not in the chain) against posts with
//! `mask` (one audit entry each, in the same transaction), `append_audit` on its own, then
//! `verify_audit` over the whole log and the metrics aggregations over the decisions.
//!
//! `cargo run --release -p parley-store --example audit_bench -- [URL] [MESSAGES] [CONCURRENCY]`
//! URL defaults to a fresh SQLite file in a temporary directory; use a fresh database (the
//! figures include everything already in it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use parley_store::*;
use serde_json::json;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

type Convs = Arc<Vec<(String, String)>>;

async fn posts(
    store: &Store,
    convs: &Convs,
    n: usize,
    conc: usize,
    action: &str,
    tag: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let decision = DecisionInput {
        surface: "message".into(),
        action: action.into(),
        automated: true,
        decision: json!({"decision": {"action": action, "reasons": if action == "allow" { json!([]) } else {
            json!([{"category": "phone", "rule": "pre_contract.phone", "matched": "+1 415 555 0134"}])
        }}}),
    };
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..conc {
        let store = store.clone();
        let convs = convs.clone();
        let decision = decision.clone();
        let tag = tag.to_string();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = t;
            while i < n {
                let (conv, author) = &convs[i % convs.len()];
                let m = NewMessage {
                    conversation_id: conv.clone(),
                    author_id: author.clone(),
                    client_id: format!("{tag}{i}"),
                    purpose: None,
                    original: "Call me at +1 415 555 0134 about the landing page".into(),
                    delivered: Some("Call me at [phone removed] about the landing page".into()),
                    state: MessageState::Delivered,
                    decision: decision.clone(),
                    created_at: None,
                };
                let t0 = Instant::now();
                store.post_message(&m).await?;
                lat.push(t0.elapsed());
                i += conc;
            }
            Ok::<_, StoreError>(lat)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    let el = start.elapsed();
    lat.sort();
    println!(
        "post_message ({action:>5}): {:>6.0} msg/s ({n} in {:.2?}); p50 {:.2?} p99 {:.2?}",
        n as f64 / el.as_secs_f64(),
        el,
        pct(&lat, 0.5),
        pct(&lat, 0.99),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = tempfile::tempdir()?;
    let url = args
        .first()
        .cloned()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let conc: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
    let store = Store::connect(&url).await?;
    println!(
        "backend {:?}, {n} messages per run, {conc} concurrent writers",
        store.kind()
    );
    let run = format!("{}", now_ms());
    let users = 200;
    for u in 0..users {
        store
            .put_user(
                &format!("u{run}_{u}"),
                &UserInput {
                    name: format!("User {u}"),
                    ..Default::default()
                },
            )
            .await?;
    }
    let mut convs = Vec::new();
    for c in 0..1000 {
        let a = format!("u{run}_{}", c % users);
        let b = format!("u{run}_{}", (c * 7 + 1) % users);
        let conv = store
            .create_conversation(&NewConversation {
                members: vec![a.clone(), b],
                ..Default::default()
            })
            .await?;
        convs.push((conv.id, a));
    }
    let convs: Convs = Arc::new(convs);

    // Alternate so that neither run gets a warmer database.
    posts(&store, &convs, n / 2, conc, "allow", "a1_").await?;
    posts(&store, &convs, n / 2, conc, "mask", "m1_").await?;
    posts(&store, &convs, n / 2, conc, "allow", "a2_").await?;
    posts(&store, &convs, n / 2, conc, "mask", "m2_").await?;

    for tasks in [1usize, conc] {
        let total = 5_000;
        let start = Instant::now();
        let mut handles = Vec::new();
        for t in 0..tasks {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                let mut i = t;
                while i < total {
                    store
                        .append_audit("report", Some("bench"), "user:x", &json!({"i": i}))
                        .await?;
                    i += tasks;
                }
                Ok::<_, StoreError>(())
            }));
        }
        for h in handles {
            h.await??;
        }
        let el = start.elapsed();
        println!(
            "append_audit ({tasks} task(s)): {:.0} entries/s ({total} in {el:.2?})",
            total as f64 / el.as_secs_f64()
        );
    }

    let start = Instant::now();
    let v = store.verify_audit().await?;
    let el = start.elapsed();
    assert!(v.first_bad.is_none(), "{v:?}");
    println!(
        "verify_audit: {} entries in {el:.2?} ({:.0} entries/s)",
        v.entries,
        v.entries as f64 / el.as_secs_f64()
    );

    let start = Instant::now();
    let d = store.decision_counts(0).await?;
    let c = store.decision_category_counts(0).await?;
    let a = store.audit_counts(0).await?;
    let decisions: i64 = d.iter().map(|x| x.count).sum();
    println!(
        "metrics aggregation over {decisions} decisions: {:.2?} ({} + {} + {} rows)",
        start.elapsed(),
        d.len(),
        c.len(),
        a.len()
    );
    store.close().await;
    Ok(())
}
