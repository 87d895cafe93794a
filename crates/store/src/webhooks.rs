//! Webhook endpoints, their deliveries (written by [`outbox_emit!`] with each event) and every
//! delivery attempt; the operator event feed. Workers on any node claim due deliveries
//! ([`Store::claim_deliveries`]: `FOR UPDATE SKIP LOCKED` on PostgreSQL, the single writer on
//! SQLite) and record each attempt with its consequence in one transaction
//! ([`Store::record_attempt`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Result, StoreError};
use crate::model::Millis;
use crate::sql::{BeginWrite, Get};
use crate::{Backend, Store};

/// A webhook endpoint (its secrets included: the caller decides what to show).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    pub description: String,
    /// Subscribed event types; empty: every type.
    pub events: Vec<String>,
    pub secret: String,
    /// The secret before the last rotation, still signing until `previous_until`.
    pub previous_secret: Option<String>,
    pub previous_until: Option<Millis>,
    /// Since when every attempt failed (none: the last one succeeded, or none yet).
    pub failing_since: Option<Millis>,
    pub disabled_at: Option<Millis>,
    pub disabled_reason: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A change to an endpoint (absent fields stay).
#[derive(Debug, Clone, Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<Vec<String>>,
    /// `Some(true)` enables (and clears the failure clock); `Some(false)` disables.
    pub enabled: Option<bool>,
}

/// One operator event (the feed's item; a delivery's payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorEvent {
    /// Position in the feed (the cursor).
    pub seq: i64,
    /// The `webhook-id` of every delivery of it.
    pub id: String,
    pub kind: String,
    pub data: Value,
    pub created_at: Millis,
}

/// One event's delivery to one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: i64,
    pub endpoint_id: String,
    pub event: OperatorEvent,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub id: i64,
    pub delivery_id: i64,
    pub attempted_at: Millis,
    /// The answer's HTTP status; none when no answer came (refused, timeout).
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// The start of the answer's body.
    pub response: Option<String>,
}

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptResult {
    /// 2xx: delivered.
    Succeeded,
    /// Try again at this time.
    Retry { at: Millis },
    /// No attempt left: the delivery failed.
    Failed,
    /// The endpoint is disabled (410 Gone, or failing for too long); `reason` says why. A
    /// `webhook.endpoint.disabled` event is written in the same transaction.
    Disable { reason: String },
}

const ENDPOINT_COLS: &str =
    "id, url, description, events, secret, previous_secret, previous_until, \
     failing_since, disabled_at, disabled_reason, created_at, updated_at";
const DELIVERY_COLS: &str = "d.id, d.endpoint_id, d.status, d.attempts, d.next_attempt_at, \
     d.created_at, d.updated_at, e.id AS seq, e.event_id, e.type, e.data, e.created_at AS event_at";

fn endpoint_of(r: &impl Get) -> Result<WebhookEndpoint> {
    let events = r.s("events")?;
    Ok(WebhookEndpoint {
        id: r.s("id")?,
        url: r.s("url")?,
        description: r.s("description")?,
        events: events
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        secret: r.s("secret")?,
        previous_secret: r.os("previous_secret")?,
        previous_until: r.oi("previous_until")?,
        failing_since: r.oi("failing_since")?,
        disabled_at: r.oi("disabled_at")?,
        disabled_reason: r.os("disabled_reason")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
    })
}

fn event_of(r: &impl Get, seq: &str, at: &str) -> Result<OperatorEvent> {
    let data = r.s("data")?;
    Ok(OperatorEvent {
        seq: r.i(seq)?,
        id: r.s("event_id")?,
        kind: r.s("type")?,
        data: serde_json::from_str(&data).unwrap_or(Value::Null),
        created_at: r.i(at)?,
    })
}

fn delivery_of(r: &impl Get) -> Result<Delivery> {
    Ok(Delivery {
        id: r.i("id")?,
        endpoint_id: r.s("endpoint_id")?,
        status: r.s("status")?,
        attempts: r.i("attempts")?,
        next_attempt_at: r.i("next_attempt_at")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
        event: event_of(r, "seq", "event_at")?,
    })
}

fn attempt_of(r: &impl Get) -> Result<Attempt> {
    Ok(Attempt {
        id: r.i("id")?,
        delivery_id: r.i("delivery_id")?,
        attempted_at: r.i("attempted_at")?,
        status_code: r.oi("status_code")?,
        latency_ms: r.i("latency_ms")?,
        error: r.os("error")?,
        response: r.os("response")?,
    })
}

/// The stored form of a subscription: `,a,b,` (empty: every type).
fn events_text(events: &[String]) -> String {
    if events.is_empty() {
        String::new()
    } else {
        format!(",{},", events.join(","))
    }
}

impl Store {
    /// Creates an endpoint (the caller checked the URL and made the secret).
    pub async fn create_webhook(
        &self,
        id: &str,
        url: &str,
        description: &str,
        events: &[String],
        secret: &str,
        now: Millis,
    ) -> Result<WebhookEndpoint> {
        on_write!(self, |p| {
            let row = sqlx::query(&format!(
                "INSERT INTO webhook_endpoints (id, url, description, events, secret, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {ENDPOINT_COLS}"
            ))
            .bind(id)
            .bind(url)
            .bind(description)
            .bind(events_text(events))
            .bind(secret)
            .bind(now)
            .fetch_one(p)
            .await?;
            endpoint_of(&row)
        })
    }

    /// Every endpoint, oldest first.
    pub async fn list_webhooks(&self) -> Result<Vec<WebhookEndpoint>> {
        on_read!(self, |p| {
            let rows = sqlx::query(&format!(
                "SELECT {ENDPOINT_COLS} FROM webhook_endpoints ORDER BY created_at, id"
            ))
            .fetch_all(p)
            .await?;
            rows.iter().map(endpoint_of).collect()
        })
    }

    /// One endpoint; NotFound("webhook").
    pub async fn get_webhook(&self, id: &str) -> Result<WebhookEndpoint> {
        on_write!(self, |p| {
            let row = sqlx::query(&format!(
                "SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(endpoint_of)
                .unwrap_or(Err(StoreError::NotFound("webhook")))
        })
    }

    /// Changes an endpoint; NotFound("webhook").
    pub async fn update_webhook(
        &self,
        id: &str,
        patch: &EndpointPatch,
        now: Millis,
    ) -> Result<WebhookEndpoint> {
        let events = patch.events.as_deref().map(events_text);
        let enabled = patch.enabled;
        on_write!(self, |p| {
            let row = sqlx::query(&format!(
                "UPDATE webhook_endpoints SET url = COALESCE($2, url), \
                 description = COALESCE($3, description), events = COALESCE($4, events), \
                 disabled_at = CASE WHEN $5 = 1 THEN NULL WHEN $5 = 0 THEN COALESCE(disabled_at, $6) ELSE disabled_at END, \
                 disabled_reason = CASE WHEN $5 = 1 THEN NULL WHEN $5 = 0 THEN COALESCE(disabled_reason, 'disabled by the operator') ELSE disabled_reason END, \
                 failing_since = CASE WHEN $5 = 1 THEN NULL ELSE failing_since END, \
                 updated_at = $6 WHERE id = $1 RETURNING {ENDPOINT_COLS}"
            ))
            .bind(id)
            .bind(patch.url.as_deref())
            .bind(patch.description.as_deref())
            .bind(events.as_deref())
            .bind(enabled.map(i64::from))
            .bind(now)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(endpoint_of)
                .unwrap_or(Err(StoreError::NotFound("webhook")))
        })
    }

    /// New secret; the old one keeps signing (beside it) until `previous_until`.
    pub async fn rotate_webhook_secret(
        &self,
        id: &str,
        secret: &str,
        previous_until: Millis,
        now: Millis,
    ) -> Result<WebhookEndpoint> {
        on_write!(self, |p| {
            let row = sqlx::query(&format!(
                "UPDATE webhook_endpoints SET previous_secret = secret, previous_until = $3, \
                 secret = $2, updated_at = $4 WHERE id = $1 RETURNING {ENDPOINT_COLS}"
            ))
            .bind(id)
            .bind(secret)
            .bind(previous_until)
            .bind(now)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(endpoint_of)
                .unwrap_or(Err(StoreError::NotFound("webhook")))
        })
    }

    /// Deletes an endpoint with its deliveries and attempts (the events stay in the feed).
    pub async fn delete_webhook(&self, id: &str) -> Result<()> {
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            sqlx::query(
                "DELETE FROM webhook_attempts WHERE delivery_id IN \
                 (SELECT id FROM webhook_deliveries WHERE endpoint_id = $1)",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let n = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound("webhook"));
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Writes a `webhook.test` event delivered to this endpoint only; its feed position.
    pub async fn webhook_test_event(&self, id: &str, now: Millis) -> Result<i64> {
        let data = serde_json::json!({"endpoint_id": id});
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            if n == 0 {
                return Err(StoreError::NotFound("webhook"));
            }
            let seq = outbox_emit!(tx, "webhook.test", &data, now, only: Some(id));
            tx.commit().await?;
            Ok(seq)
        })
    }

    /// Claims up to `limit` due deliveries until `lease_until` (a worker that dies leaves them
    /// to be claimed again then), with their endpoint. PostgreSQL skips rows other workers hold.
    pub async fn claim_deliveries(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: i64,
    ) -> Result<Vec<(Delivery, WebhookEndpoint)>> {
        let ids: Vec<i64> = match &self.backend {
            Backend::Sqlite { write, .. } => {
                sqlx::query_scalar(
                    "UPDATE webhook_deliveries SET claimed_until = $2 WHERE id IN \
                     (SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id \
                      WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND w.disabled_at IS NULL \
                      AND (d.claimed_until IS NULL OR d.claimed_until <= $1) \
                      ORDER BY d.next_attempt_at, d.id LIMIT $3) RETURNING id",
                )
                .bind(now)
                .bind(lease_until)
                .bind(limit)
                .fetch_all(write)
                .await?
            }
            Backend::Postgres(p) => {
                sqlx::query_scalar(
                    "UPDATE webhook_deliveries SET claimed_until = $2 WHERE id IN \
                     (SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id \
                      WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND w.disabled_at IS NULL \
                      AND (d.claimed_until IS NULL OR d.claimed_until <= $1) \
                      ORDER BY d.next_attempt_at, d.id LIMIT $3 FOR UPDATE OF d SKIP LOCKED) RETURNING id",
                )
                .bind(now)
                .bind(lease_until)
                .bind(limit)
                .fetch_all(p)
                .await?
            }
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let d = self.get_delivery(id).await?;
            let w = self.get_webhook(&d.endpoint_id).await?;
            out.push((d, w));
        }
        Ok(out)
    }

    /// One delivery with its event; NotFound("delivery").
    pub async fn get_delivery(&self, id: i64) -> Result<Delivery> {
        on_write!(self, |p| {
            let row = sqlx::query(&format!(
                "SELECT {DELIVERY_COLS} FROM webhook_deliveries d \
                 JOIN operator_events e ON e.id = d.event_id WHERE d.id = $1"
            ))
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(delivery_of)
                .unwrap_or(Err(StoreError::NotFound("delivery")))
        })
    }

    /// An endpoint's deliveries, newest first, before `before` (a delivery id; none: the newest).
    pub async fn list_deliveries(
        &self,
        endpoint_id: &str,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Delivery>> {
        on_read!(self, |p| {
            let rows = sqlx::query(&format!(
                "SELECT {DELIVERY_COLS} FROM webhook_deliveries d \
                 JOIN operator_events e ON e.id = d.event_id \
                 WHERE d.endpoint_id = $1 AND d.id < $2 ORDER BY d.id DESC LIMIT $3"
            ))
            .bind(endpoint_id)
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(p)
            .await?;
            rows.iter().map(delivery_of).collect()
        })
    }

    /// A delivery's attempts, oldest first.
    pub async fn list_attempts(&self, delivery_id: i64) -> Result<Vec<Attempt>> {
        on_read!(self, |p| {
            let rows = sqlx::query(
                "SELECT id, delivery_id, attempted_at, status_code, latency_ms, error, response \
                 FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id",
            )
            .bind(delivery_id)
            .fetch_all(p)
            .await?;
            rows.iter().map(attempt_of).collect()
        })
    }

    /// Records an attempt and its consequence in one transaction: the delivery's new state,
    /// the endpoint's failure clock, and when disabling, the endpoint's state with its
    /// `webhook.endpoint.disabled` event.
    pub async fn record_attempt(
        &self,
        delivery: &Delivery,
        attempt: &Attempt,
        result: &AttemptResult,
    ) -> Result<()> {
        let now = attempt.attempted_at;
        let (status, next) = match result {
            AttemptResult::Succeeded => ("succeeded", delivery.next_attempt_at),
            AttemptResult::Retry { at } => ("pending", *at),
            AttemptResult::Failed | AttemptResult::Disable { .. } => {
                ("failed", delivery.next_attempt_at)
            }
        };
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            sqlx::query(
                "INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, latency_ms, error, response) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(delivery.id)
            .bind(now)
            .bind(attempt.status_code)
            .bind(attempt.latency_ms)
            .bind(attempt.error.as_deref())
            .bind(attempt.response.as_deref())
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, \
                 next_attempt_at = $3, claimed_until = NULL, updated_at = $4 WHERE id = $1",
            )
            .bind(delivery.id)
            .bind(status)
            .bind(next)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let failing = if *result == AttemptResult::Succeeded {
                None
            } else {
                Some(now)
            };
            sqlx::query(
                "UPDATE webhook_endpoints SET failing_since = \
                 CASE WHEN $2 IS NULL THEN NULL ELSE COALESCE(failing_since, $2) END WHERE id = $1",
            )
            .bind(delivery.endpoint_id.as_str())
            .bind(failing)
            .execute(&mut *tx)
            .await?;
            if let AttemptResult::Disable { reason } = result {
                let n = sqlx::query(
                    "UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = $3, updated_at = $2 \
                     WHERE id = $1 AND disabled_at IS NULL",
                )
                .bind(delivery.endpoint_id.as_str())
                .bind(now)
                .bind(reason.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n > 0 {
                    let data = serde_json::json!({"endpoint_id": delivery.endpoint_id,
                        "reason": reason});
                    outbox_emit!(tx, "webhook.endpoint.disabled", &data, now);
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Delivers again (same `webhook-id`): one delivery, or every delivery of an endpoint whose
    /// event happened in `[since, until)`. Returns how many were queued.
    pub async fn replay_deliveries(
        &self,
        endpoint_id: &str,
        delivery_id: Option<i64>,
        since: Millis,
        until: Millis,
        now: Millis,
    ) -> Result<u64> {
        on_write!(self, |p| {
            let n = sqlx::query(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $5, \
                 claimed_until = NULL, updated_at = $5 \
                 WHERE endpoint_id = $1 AND ($2 IS NULL OR id = $2) AND event_id IN \
                 (SELECT id FROM operator_events WHERE created_at >= $3 AND created_at < $4)",
            )
            .bind(endpoint_id)
            .bind(delivery_id)
            .bind(since)
            .bind(until)
            .bind(now)
            .execute(p)
            .await?
            .rows_affected();
            Ok(n)
        })
    }

    /// The operator event feed: events after `cursor` (a feed position), oldest first.
    pub async fn operator_events(&self, cursor: i64, limit: i64) -> Result<Vec<OperatorEvent>> {
        on_read!(self, |p| {
            let rows = sqlx::query(
                "SELECT id, event_id, type, data, created_at FROM operator_events \
                 WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(cursor)
            .bind(limit)
            .fetch_all(p)
            .await?;
            rows.iter()
                .map(|r| event_of(r, "id", "created_at"))
                .collect()
        })
    }
}
