//! The calls' timers: no answer, heartbeat grace, the longest call; and ending, at start,
//! the calls a previous run left open.

use crate::domain::calls::{commit, secs, Effects, Phase};
use crate::AppState;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Ends what is due: unanswered calls (`no_answer`), parties whose heartbeat stopped (a call
/// left with one party ends `failed`), calls longer than `max_call_secs` (`completed`).
async fn sweep(s: &AppState) {
    let cfg = &s.inner.config.calls;
    let grace = secs(cfg.heartbeat_grace_secs);
    let max_call = secs(cfg.max_call_secs);
    let now = s.now_ms();
    let t = Instant::now();
    let mut fx = Effects::default();
    {
        let mut live = s.inner.calls.lock();
        let mut due: Vec<(String, &'static str)> = Vec::new();
        for c in live.calls.values_mut() {
            if c.phase == Phase::Ringing && t >= c.ring_until {
                due.push((c.id.clone(), "no_answer"));
                continue;
            }
            if c.answered.is_some_and(|a| t.duration_since(a) >= max_call) {
                due.push((c.id.clone(), "completed"));
                continue;
            }
            let mut changed = false;
            if c.phase == Phase::Active && !c.ringing.is_empty() && t >= c.ring_until {
                c.ringing.clear();
                changed = true;
            }
            let gone: Vec<String> = c
                .parties
                .iter()
                // While ringing only the no-answer timer runs.
                .filter(|(_, p)| c.phase == Phase::Active && t.duration_since(p.beat) >= grace)
                .map(|(u, _)| u.clone())
                .collect();
            for u in &gone {
                tracing::info!(call = %c.id, user = %u, "call party dropped: no heartbeat");
                c.parties.remove(u);
                changed = true;
            }
            if c.parties.len() <= 1 && !gone.is_empty() {
                due.push((c.id.clone(), "failed"));
            } else if changed {
                let st = c.state(c.phase_name(), None);
                fx.send_members(c, &st);
            }
            for u in gone {
                fx.send(&u, None, None, &c.state("ended", Some("failed")));
            }
        }
        for u in live
            .by_user
            .iter()
            .filter(|(u, id)| {
                live.calls
                    .get(*id)
                    .is_none_or(|c| !c.parties.contains_key(*u))
            })
            .map(|(u, _)| u.clone())
            .collect::<Vec<_>>()
        {
            live.by_user.remove(&u);
        }
        for (id, reason) in due {
            if let Some(c) = live.remove(&id) {
                fx.end(&c, reason, now);
            }
        }
    }
    if !fx.outs.is_empty() || !fx.ended.is_empty() {
        commit(s, fx).await;
    }
}

/// Ends the calls a previous run left open (`failed`; SQLite, where one node owns the
/// database), then sweeps the calls in progress
/// four times a second until the server stops.
pub fn spawn_sweeper(s: &AppState) {
    let weak = Arc::downgrade(&s.inner);
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    rt.spawn(async move {
        // One SQLite file has one node: a call it left open cannot be in progress anymore.
        if let Some(inner) = weak
            .upgrade()
            .filter(|i| i.store.kind() == parley_store::BackendKind::Sqlite)
        {
            let s = AppState { inner };
            match s.store().end_open_calls("failed", s.now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(n, "calls left open by a previous run ended"),
                Err(e) => tracing::warn!(error = %e, "ending calls left open"),
            }
        }
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tick.tick().await;
            let Some(inner) = weak.upgrade() else { break };
            sweep(&AppState { inner }).await;
        }
    });
}
