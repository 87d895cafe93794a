//! How long the private calendar feed takes to serve 500 events: a server on a temporary
//! SQLite database, one user with 500 bookings, `GET /cal/TOKEN.ics` timed 20 times.
//!
//! `cargo run -p parley-server --example feed_bench [--release]`

use parley_server::{AppState, Config};
use parley_store::NewBooking;
use std::time::Instant;

const ADMIN: &str = "feed-bench-admin-key-of-at-least-32-bytes";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let config = Config {
        database: format!("sqlite://{}", dir.path().join("bench.db").display()),
        admin_key: Some(ADMIN.into()),
        ..Config::default()
    };
    let state = AppState::new(config).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(parley_server::run(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    let http = reqwest::Client::new();
    for u in ["ana", "ben"] {
        http.put(format!("{base}/v1/users/{u}"))
            .bearer_auth(ADMIN)
            .json(&serde_json::json!({"name": u}))
            .send()
            .await?
            .error_for_status()?;
    }
    let conv: serde_json::Value = http
        .post(format!("{base}/v1/conversations"))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({"members": ["ana", "ben"]}))
        .send()
        .await?
        .json()
        .await?;
    let conv = conv["id"].as_str().ok_or("no conversation id")?.to_string();
    let tok: serde_json::Value = http
        .post(format!("{base}/v1/users/ana/tokens"))
        .bearer_auth(ADMIN)
        .send()
        .await?
        .json()
        .await?;
    let tok = tok["token"].as_str().ok_or("no token")?.to_string();
    let now = state.now_ms();
    let hour = 3_600_000;
    for i in 0..500 {
        let start = (now / hour + 2 + i * 2) * hour;
        state
            .store()
            .create_booking(
                &NewBooking {
                    conversation_id: conv.clone(),
                    host_id: "ana".into(),
                    guest_id: "ben".into(),
                    start_at: start,
                    end_at: start + hour,
                },
                now,
            )
            .await?;
    }
    let feed: serde_json::Value = http
        .post(format!("{base}/v1/me/calendar-feed"))
        .bearer_auth(&tok)
        .send()
        .await?
        .json()
        .await?;
    let url = format!("{base}{}", feed["url"].as_str().ok_or("no url")?);
    let mut times = Vec::new();
    let mut events = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let body = http
            .get(&url)
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        events = body.matches("BEGIN:VEVENT").count();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "feed with {events} events: median {:.1} ms, min {:.1} ms, max {:.1} ms (20 requests)",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
    Ok(())
}
