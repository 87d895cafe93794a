//! Reminders of bookings, 24 hours and 10 minutes before: durable jobs in the database (see
//! [`parley_store::Store::fire_due_reminders`]), fired by a background task on every node.
//! Each is delivered exactly once (the events and the job's state commit together), never
//! for a cancelled booking or for a time a booking was moved from.

use crate::domain::error::DomainResult;
use crate::AppState;
use parley_store::FiredReminder;
use std::sync::Arc;

/// How often the background task looks for due reminders.
pub const TICK: std::time::Duration = std::time::Duration::from_secs(15);

/// Fires the reminders due at `now` (Unix ms; the server's clock in production, any instant
/// in tests) and wakes the sockets of the people reminded.
pub async fn fire_due(s: &AppState, now: i64) -> DomainResult<Vec<FiredReminder>> {
    let mut all = Vec::new();
    loop {
        let fired = s.store().fire_due_reminders(now, 100).await?;
        let n = fired.len();
        for f in &fired {
            s.notify(f.booking.participants());
        }
        all.extend(fired);
        if n < 100 {
            return Ok(all);
        }
    }
}

/// Starts the background task (stops with the server's state).
pub fn spawn(s: &AppState) {
    let weak = Arc::downgrade(&s.inner);
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    rt.spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(inner) = weak.upgrade() else { break };
            let s = AppState { inner };
            match fire_due(&s, s.now_ms()).await {
                Ok(f) if f.is_empty() => {}
                Ok(f) => tracing::info!(n = f.len(), "booking reminders sent"),
                Err(e) => tracing::warn!(error = %e, "sending booking reminders"),
            }
        }
    });
}
