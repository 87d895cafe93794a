//! Store throughput: messages posted per second (each a full transaction: message, version,
//! decision, conversation update, one event per member) with concurrent writers, and latency
//! percentiles; then page reads and token checks.
//!
//! `cargo run --release -p parley-store --example store_bench -- [URL] [MESSAGES] [CONCURRENCY]`
//! URL defaults to a fresh SQLite file in a temporary directory.

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
        "backend {:?}, {n} messages, {conc} concurrent writers",
        store.kind()
    );

    let run = format!("{}", now_ms());
    store
        .put_org(
            &format!("o{run}"),
            &OrgInput {
                name: "Org".into(),
                plan: "basic".into(),
            },
        )
        .await?;
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
    let convs = Arc::new(convs);
    let decision = DecisionInput {
        surface: "message".into(),
        action: "allow".into(),
        automated: true,
        decision: json!({"action": "allow", "findings": []}),
    };

    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..conc {
        let store = store.clone();
        let convs = convs.clone();
        let decision = decision.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = t;
            while i < n {
                let (conv, author) = &convs[i % convs.len()];
                let m = NewMessage {
                    conversation_id: conv.clone(),
                    author_id: author.clone(),
                    client_id: format!("k{i}"),
                    purpose: None,
                    original: "Hi! Could you share the Figma file for the landing page?".into(),
                    delivered: Some(
                        "Hi! Could you share the Figma file for the landing page?".into(),
                    ),
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
        "post_message: {:.0} msg/s ({} in {:.2?}); latency p50 {:.2?} p99 {:.2?} max {:.2?}",
        n as f64 / el.as_secs_f64(),
        n,
        el,
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        pct(&lat, 1.0)
    );

    let start = Instant::now();
    let reads = 5_000;
    for i in 0..reads {
        let (conv, author) = &convs[i % convs.len()];
        store
            .list_messages(
                conv,
                author,
                &PageRequest {
                    limit: 50,
                    ..Default::default()
                },
            )
            .await?;
    }
    let el = start.elapsed();
    println!(
        "list_messages (50): {:.0} pages/s",
        reads as f64 / el.as_secs_f64()
    );

    let tok = store
        .create_token(&format!("u{run}_0"), now_ms() + 3_600_000, None)
        .await?;
    let start = Instant::now();
    for _ in 0..reads {
        store.authenticate(&tok.token, now_ms()).await?;
    }
    let el = start.elapsed();
    println!("authenticate: {:.0} /s", reads as f64 / el.as_secs_f64());
    store.close().await;
    Ok(())
}
