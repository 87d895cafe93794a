//! Aggregates for the operator dashboard (beside [`crate::metrics`]'s decisions, categories and
//! appeal outcomes): messages per day, the review queue (size, age, opened and resolved per day,
//! time to decision) and webhook deliveries (per endpoint, attempts per day, the latest
//! attempts). Everything is computed in the database, so every node answers the same.
//!
//! Days are UTC days since 1970-01-01 (`ms / 86400000`), as in [`crate::metrics`]. Counts use
//! `COUNT(CASE WHEN ... THEN 1 END)` (an integer on both databases; `SUM` is `NUMERIC` on
//! PostgreSQL).

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::Millis;
use crate::sql::Get;
use crate::{Backend, Store};

/// A count on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    pub day: i64,
    pub count: i64,
}

/// The upper bounds (exclusive, ms) of the age and time-to-decision buckets: under 1 hour,
/// 1-4 hours, 4-24 hours, 1-3 days, and a last bucket for 3 days or more.
pub const AGE_BOUNDS_MS: [i64; 4] = [3_600_000, 14_400_000, 86_400_000, 259_200_000];

/// Open review items of one kind (`held_message`, `report`, `appeal`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenItems {
    pub kind: String,
    pub open: i64,
    /// When the oldest open item of this kind was queued.
    pub oldest_created_at: Option<Millis>,
}

/// Review items decided by a moderator in a period (withdrawn items, whose message was edited
/// clean or deleted, are not decisions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionTimes {
    pub decided: i64,
    pub mean_ms: Option<i64>,
    pub max_ms: Option<i64>,
    /// Items per [`AGE_BOUNDS_MS`] bucket of (resolved_at - created_at); five entries.
    pub buckets: Vec<i64>,
}

/// The review queue now and over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueAggregates {
    /// Open items by kind (kinds with none are absent).
    pub open: Vec<OpenItems>,
    /// Open items per [`AGE_BOUNDS_MS`] bucket of (now - created_at); five entries.
    pub open_age: Vec<i64>,
    /// Items that were open at the start of the period (queued before it, resolved in it or not
    /// at all).
    pub open_at_start: i64,
    /// Items queued per day in the period.
    pub opened: Vec<DayCount>,
    /// Items resolved per day in the period (withdrawn included: they leave the queue).
    pub resolved: Vec<DayCount>,
    pub decision_times: DecisionTimes,
}

/// One endpoint's deliveries of events written in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointDeliveries {
    pub endpoint_id: String,
    pub succeeded: i64,
    pub failed: i64,
    pub pending: i64,
    pub last_attempt_at: Option<Millis>,
}

/// Delivery attempts of one day, and how many got a 2xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptDay {
    pub day: i64,
    pub attempts: i64,
    pub succeeded: i64,
}

/// One recent attempt with its delivery's and event's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentAttempt {
    pub id: i64,
    pub delivery_id: i64,
    pub endpoint_id: String,
    pub event_type: String,
    /// The `webhook-id`.
    pub event_id: String,
    pub attempted_at: Millis,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// The delivery's status now: `pending`, `succeeded` or `failed`.
    pub delivery_status: String,
}

/// Webhook deliveries over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookAggregates {
    pub endpoints: Vec<EndpointDeliveries>,
    pub attempts: Vec<AttemptDay>,
    pub recent: Vec<RecentAttempt>,
}

fn day_counts(rows: Vec<(i64, i64)>) -> Vec<DayCount> {
    rows.into_iter()
        .map(|(day, count)| DayCount { day, count })
        .collect()
}

/// `COUNT(CASE ...)` of a duration expression into the five [`AGE_BOUNDS_MS`] buckets, the
/// bounds bound as `$first`..`$first+3`.
fn bucket_sql(expr: &str, first: usize) -> String {
    let b = |i: usize| format!("${}", first + i);
    format!(
        "COUNT(CASE WHEN {e} < {b0} THEN 1 END), \
         COUNT(CASE WHEN {e} >= {b0} AND {e} < {b1} THEN 1 END), \
         COUNT(CASE WHEN {e} >= {b1} AND {e} < {b2} THEN 1 END), \
         COUNT(CASE WHEN {e} >= {b2} AND {e} < {b3} THEN 1 END), \
         COUNT(CASE WHEN {e} >= {b3} THEN 1 END)",
        e = expr,
        b0 = b(0),
        b1 = b(1),
        b2 = b(2),
        b3 = b(3),
    )
}

impl Store {
    /// Messages stored (delivered, held or rejected; blocked attempts are decisions, not
    /// messages) per day at or after `since`.
    pub async fn message_counts(&self, since: Millis) -> Result<Vec<DayCount>> {
        on_read!(self, |p| {
            let rows: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT created_at / 86400000 AS day, COUNT(*) AS n FROM messages \
                 WHERE created_at >= $1 GROUP BY created_at / 86400000 ORDER BY day",
            )
            .bind(since)
            .fetch_all(p)
            .await?;
            Ok(day_counts(rows))
        })
    }

    /// The review queue at `now` and over the period from `since`.
    pub async fn queue_aggregates(&self, since: Millis, now: Millis) -> Result<QueueAggregates> {
        let [b0, b1, b2, b3] = AGE_BOUNDS_MS;
        let age_sql = format!(
            "SELECT {} FROM moderation_items WHERE status = 'open'",
            bucket_sql("($1 - created_at)", 2)
        );
        let times_sql = format!(
            "SELECT COUNT(*), CAST(AVG(resolved_at - created_at) AS BIGINT), \
             MAX(resolved_at - created_at), {} FROM moderation_items \
             WHERE status = 'resolved' AND resolved_at >= $1 AND resolved_by IS NOT NULL \
             AND resolution_action <> 'withdrawn'",
            bucket_sql("(resolved_at - created_at)", 2)
        );
        type Buckets = (i64, i64, i64, i64, i64);
        type Times = (i64, Option<i64>, Option<i64>, i64, i64, i64, i64, i64);
        on_read!(self, |p| {
            let open: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
                "SELECT kind, COUNT(*), MIN(created_at) FROM moderation_items \
                 WHERE status = 'open' GROUP BY kind ORDER BY kind",
            )
            .fetch_all(p)
            .await?;
            let age: Buckets = sqlx::query_as(&age_sql)
                .bind(now)
                .bind(b0)
                .bind(b1)
                .bind(b2)
                .bind(b3)
                .fetch_one(p)
                .await?;
            let open_at_start: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM moderation_items WHERE created_at < $1 \
                 AND (resolved_at IS NULL OR resolved_at >= $1)",
            )
            .bind(since)
            .fetch_one(p)
            .await?;
            let opened: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT created_at / 86400000 AS day, COUNT(*) FROM moderation_items \
                 WHERE created_at >= $1 GROUP BY created_at / 86400000 ORDER BY day",
            )
            .bind(since)
            .fetch_all(p)
            .await?;
            let resolved: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT resolved_at / 86400000 AS day, COUNT(*) FROM moderation_items \
                 WHERE resolved_at >= $1 GROUP BY resolved_at / 86400000 ORDER BY day",
            )
            .bind(since)
            .fetch_all(p)
            .await?;
            let t: Times = sqlx::query_as(&times_sql)
                .bind(since)
                .bind(b0)
                .bind(b1)
                .bind(b2)
                .bind(b3)
                .fetch_one(p)
                .await?;
            Ok(QueueAggregates {
                open: open
                    .into_iter()
                    .map(|(kind, open, oldest_created_at)| OpenItems {
                        kind,
                        open,
                        oldest_created_at,
                    })
                    .collect(),
                open_age: vec![age.0, age.1, age.2, age.3, age.4],
                open_at_start,
                opened: day_counts(opened),
                resolved: day_counts(resolved),
                decision_times: DecisionTimes {
                    decided: t.0,
                    mean_ms: t.1,
                    max_ms: t.2,
                    buckets: vec![t.3, t.4, t.5, t.6, t.7],
                },
            })
        })
    }

    /// Webhook deliveries of events written at or after `since` per endpoint, attempts per day
    /// from `since`, and the `recent` latest attempts (any time).
    pub async fn webhook_aggregates(
        &self,
        since: Millis,
        recent: i64,
    ) -> Result<WebhookAggregates> {
        on_read!(self, |p| {
            let endpoints: Vec<(String, i64, i64, i64, Option<i64>)> = sqlx::query_as(
                "SELECT d.endpoint_id, \
                 COUNT(CASE WHEN d.status = 'succeeded' THEN 1 END), \
                 COUNT(CASE WHEN d.status = 'failed' THEN 1 END), \
                 COUNT(CASE WHEN d.status = 'pending' THEN 1 END), \
                 MAX(a.last_at) \
                 FROM webhook_deliveries d LEFT JOIN \
                   (SELECT delivery_id, MAX(attempted_at) AS last_at FROM webhook_attempts \
                    GROUP BY delivery_id) a ON a.delivery_id = d.id \
                 WHERE d.created_at >= $1 GROUP BY d.endpoint_id ORDER BY d.endpoint_id",
            )
            .bind(since)
            .fetch_all(p)
            .await?;
            let attempts: Vec<(i64, i64, i64)> = sqlx::query_as(
                "SELECT attempted_at / 86400000 AS day, COUNT(*), \
                 COUNT(CASE WHEN status_code >= 200 AND status_code < 300 THEN 1 END) \
                 FROM webhook_attempts WHERE attempted_at >= $1 \
                 GROUP BY attempted_at / 86400000 ORDER BY day",
            )
            .bind(since)
            .fetch_all(p)
            .await?;
            let rows = sqlx::query(
                "SELECT a.id, a.delivery_id, d.endpoint_id, e.type AS event_type, e.event_id, \
                 a.attempted_at, a.status_code, a.latency_ms, a.error, d.status \
                 FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id \
                 JOIN operator_events e ON e.id = d.event_id ORDER BY a.id DESC LIMIT $1",
            )
            .bind(recent)
            .fetch_all(p)
            .await?;
            let recent = rows
                .iter()
                .map(|r| {
                    Ok(RecentAttempt {
                        id: r.i("id")?,
                        delivery_id: r.i("delivery_id")?,
                        endpoint_id: r.s("endpoint_id")?,
                        event_type: r.s("event_type")?,
                        event_id: r.s("event_id")?,
                        attempted_at: r.i("attempted_at")?,
                        status_code: r.oi("status_code")?,
                        latency_ms: r.i("latency_ms")?,
                        error: r.os("error")?,
                        delivery_status: r.s("status")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(WebhookAggregates {
                endpoints: endpoints
                    .into_iter()
                    .map(
                        |(endpoint_id, succeeded, failed, pending, last_attempt_at)| {
                            EndpointDeliveries {
                                endpoint_id,
                                succeeded,
                                failed,
                                pending,
                                last_attempt_at,
                            }
                        },
                    )
                    .collect(),
                attempts: attempts
                    .into_iter()
                    .map(|(day, attempts, succeeded)| AttemptDay {
                        day,
                        attempts,
                        succeeded,
                    })
                    .collect(),
                recent,
            })
        })
    }
}
