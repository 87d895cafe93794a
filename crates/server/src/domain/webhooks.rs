//! Webhook endpoints (Standard Webhooks), their deliveries and attempts, replays, and the
//! operator event feed. Delivery itself is [`crate::webhook_worker`]; signatures
//! [`crate::webhook_sign`]; the target checks [`crate::webhook_target`].

use crate::domain::{DomainError, DomainResult};
use crate::{webhook_sign, webhook_target, AppState};
use parley_store::{Attempt, Delivery, EndpointPatch, OperatorEvent, WebhookEndpoint};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// How long the secret before a rotation keeps signing beside the new one, ms (24 h).
pub const ROTATION_OVERLAP_MS: i64 = 24 * 3600 * 1000;
/// Longest description, bytes.
const MAX_DESCRIPTION: usize = 500;

/// A new endpoint.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where events are POSTed (`https://...`).
    pub url: String,
    /// Event types to receive (see `GET /v1/webhooks/event-types`); absent or empty: all.
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A change to an endpoint; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    /// `false` disables the endpoint (its deliveries wait); `true` enables it again.
    pub enabled: Option<bool>,
}

/// An endpoint (without its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub description: String,
    /// Subscribed event types; empty: all.
    pub events: Vec<String>,
    pub enabled: bool,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed (Unix ms); none when the last one succeeded.
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A new endpoint or a rotated secret: the endpoint and its signing secret (`whsec_...`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: WebhookView,
    pub secret: String,
    /// After a rotation: until when (Unix ms) the previous secret also signs.
    pub previous_secret_valid_until: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookView>,
}

/// The type of an operator event (webhook deliveries and the feed): the documentation's and the
/// SDK's name for `parley_store::EVENT_TYPES` (a unit test keeps the two lists equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum WebhookEventType {
    #[serde(rename = "conversation.created")]
    ConversationCreated,
    #[serde(rename = "message.created")]
    MessageCreated,
    #[serde(rename = "message.blocked")]
    MessageBlocked,
    #[serde(rename = "message.masked")]
    MessageMasked,
    #[serde(rename = "message.held")]
    MessageHeld,
    #[serde(rename = "message.released")]
    MessageReleased,
    #[serde(rename = "report.created")]
    ReportCreated,
    #[serde(rename = "review.decided")]
    ReviewDecided,
    #[serde(rename = "enforcement.created")]
    EnforcementCreated,
    #[serde(rename = "enforcement.lifted")]
    EnforcementLifted,
    #[serde(rename = "appeal.created")]
    AppealCreated,
    #[serde(rename = "appeal.decided")]
    AppealDecided,
    #[serde(rename = "user.restricted")]
    UserRestricted,
    #[serde(rename = "file.held")]
    FileHeld,
    #[serde(rename = "file.infected")]
    FileInfected,
    #[serde(rename = "call.ended")]
    CallEnded,
    #[serde(rename = "webhook.endpoint.disabled")]
    WebhookEndpointDisabled,
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

impl WebhookEventType {
    /// Every type, in the order of `EVENT_TYPES`.
    pub const ALL: [WebhookEventType; 18] = [
        WebhookEventType::ConversationCreated,
        WebhookEventType::MessageCreated,
        WebhookEventType::MessageBlocked,
        WebhookEventType::MessageMasked,
        WebhookEventType::MessageHeld,
        WebhookEventType::MessageReleased,
        WebhookEventType::ReportCreated,
        WebhookEventType::ReviewDecided,
        WebhookEventType::EnforcementCreated,
        WebhookEventType::EnforcementLifted,
        WebhookEventType::AppealCreated,
        WebhookEventType::AppealDecided,
        WebhookEventType::UserRestricted,
        WebhookEventType::FileHeld,
        WebhookEventType::FileInfected,
        WebhookEventType::CallEnded,
        WebhookEventType::WebhookEndpointDisabled,
        WebhookEventType::WebhookTest,
    ];
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventTypes {
    #[schema(value_type = Vec<WebhookEventType>)]
    pub event_types: Vec<String>,
}

/// An operator event: the payload of a delivery and an item of the feed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OperatorEventView {
    /// The feed position (use the last one as `cursor`).
    pub seq: i64,
    /// The `webhook-id` of its deliveries (the same on every retry).
    pub id: String,
    #[serde(rename = "type")]
    #[schema(value_type = WebhookEventType)]
    pub kind: String,
    /// RFC 3339.
    pub timestamp: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptView {
    pub attempted_at: i64,
    /// The answer's status; none when no answer came.
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// The start of the answer's body (at most 4 KiB).
    pub response: Option<String>,
}

/// One event's delivery to one endpoint, with its attempts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub event: OperatorEventView,
    pub attempt_log: Vec<AttemptView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `before` for older deliveries.
    pub next_before: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
pub struct DeliveryParams {
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

/// What to deliver again: one delivery, or every delivery of events in `[since, until)`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayBody {
    pub delivery_id: Option<i64>,
    /// Unix ms (default 0).
    pub since: Option<i64>,
    /// Unix ms (default now).
    pub until: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Replayed {
    pub replayed: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TestSent {
    /// The test event's feed position.
    pub seq: i64,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
pub struct FeedParams {
    /// The last `seq` seen (0: from the start).
    pub cursor: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventFeed {
    pub events: Vec<OperatorEventView>,
    /// The cursor for the next page.
    pub cursor: i64,
    pub has_more: bool,
}

fn view(w: WebhookEndpoint) -> WebhookView {
    WebhookView {
        enabled: w.disabled_at.is_none(),
        id: w.id,
        url: w.url,
        description: w.description,
        events: w.events,
        disabled_at: w.disabled_at,
        disabled_reason: w.disabled_reason,
        failing_since: w.failing_since,
        created_at: w.created_at,
        updated_at: w.updated_at,
    }
}

pub fn event_view(e: OperatorEvent) -> OperatorEventView {
    OperatorEventView {
        seq: e.seq,
        timestamp: webhook_sign::rfc3339(e.created_at),
        id: e.id,
        kind: e.kind,
        data: e.data,
    }
}

fn attempt_view(a: Attempt) -> AttemptView {
    AttemptView {
        attempted_at: a.attempted_at,
        status_code: a.status_code,
        latency_ms: a.latency_ms,
        error: a.error,
        response: a.response,
    }
}

fn check_events(events: &[String]) -> DomainResult<()> {
    for e in events {
        if !parley_store::EVENT_TYPES.contains(&e.as_str()) {
            return Err(DomainError::Invalid(format!("unknown event type {e:?}")));
        }
    }
    Ok(())
}

async fn check_url(s: &AppState, url: &str) -> DomainResult<()> {
    let allow = s.inner.config.webhook_allow_private_targets;
    let bad = |e: webhook_target::Refused| DomainError::Invalid(format!("url: {e}"));
    let u = webhook_target::check_url(url, allow).map_err(bad)?;
    webhook_target::check_name(&u, allow).await.map_err(bad)
}

fn check_description(d: &str) -> DomainResult<()> {
    if d.len() > MAX_DESCRIPTION || d.chars().any(char::is_control) {
        return Err(DomainError::Invalid(format!(
            "description: at most {MAX_DESCRIPTION} bytes, no control characters"
        )));
    }
    Ok(())
}

fn secret() -> DomainResult<String> {
    webhook_sign::new_secret().map_err(|e| DomainError::Internal(e.to_string()))
}

pub async fn create(s: &AppState, b: NewWebhook) -> DomainResult<WebhookWithSecret> {
    check_events(&b.events)?;
    check_url(s, &b.url).await?;
    let description = b.description.unwrap_or_default();
    check_description(&description)?;
    let mut raw = [0u8; 10];
    getrandom::getrandom(&mut raw).map_err(|e| DomainError::Internal(e.to_string()))?;
    let id = format!(
        "ep_{}",
        raw.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let w = s
        .store()
        .create_webhook(&id, &b.url, &description, &b.events, &secret()?, s.now_ms())
        .await?;
    tracing::info!(webhook = %w.id, "webhook endpoint created");
    Ok(WebhookWithSecret {
        secret: w.secret.clone(),
        webhook: view(w),
        previous_secret_valid_until: None,
    })
}

pub async fn list(s: &AppState) -> DomainResult<WebhookList> {
    let webhooks = s.store().list_webhooks().await?;
    Ok(WebhookList {
        webhooks: webhooks.into_iter().map(view).collect(),
    })
}

pub async fn get(s: &AppState, id: &str) -> DomainResult<WebhookView> {
    Ok(view(s.store().get_webhook(id).await?))
}

pub async fn update(s: &AppState, id: &str, b: WebhookPatch) -> DomainResult<WebhookView> {
    if let Some(u) = &b.url {
        check_url(s, u).await?;
    }
    if let Some(e) = &b.events {
        check_events(e)?;
    }
    if let Some(d) = &b.description {
        check_description(d)?;
    }
    let patch = EndpointPatch {
        url: b.url,
        description: b.description,
        events: b.events,
        enabled: b.enabled,
    };
    Ok(view(
        s.store().update_webhook(id, &patch, s.now_ms()).await?,
    ))
}

pub async fn delete(s: &AppState, id: &str) -> DomainResult<()> {
    s.store().delete_webhook(id).await?;
    Ok(())
}

pub async fn rotate(s: &AppState, id: &str) -> DomainResult<WebhookWithSecret> {
    let now = s.now_ms();
    let until = now + ROTATION_OVERLAP_MS;
    let w = s
        .store()
        .rotate_webhook_secret(id, &secret()?, until, now)
        .await?;
    Ok(WebhookWithSecret {
        secret: w.secret.clone(),
        webhook: view(w),
        previous_secret_valid_until: Some(until),
    })
}

pub async fn test(s: &AppState, id: &str) -> DomainResult<TestSent> {
    let seq = s.store().webhook_test_event(id, s.now_ms()).await?;
    Ok(TestSent { seq })
}

pub async fn deliveries(s: &AppState, id: &str, p: DeliveryParams) -> DomainResult<DeliveryList> {
    s.store().get_webhook(id).await?;
    let limit = p.limit.unwrap_or(50).clamp(1, 200);
    let list: Vec<Delivery> = s.store().list_deliveries(id, p.before, limit).await?;
    let next_before = (list.len() as i64 == limit)
        .then(|| list.last().map(|d| d.id))
        .flatten();
    let mut deliveries = Vec::with_capacity(list.len());
    for d in list {
        let attempt_log = s.store().list_attempts(d.id).await?;
        deliveries.push(DeliveryView {
            id: d.id,
            next_attempt_at: (d.status == "pending").then_some(d.next_attempt_at),
            status: d.status,
            attempts: d.attempts,
            event: event_view(d.event),
            attempt_log: attempt_log.into_iter().map(attempt_view).collect(),
        });
    }
    Ok(DeliveryList {
        deliveries,
        next_before,
    })
}

pub async fn replay(s: &AppState, id: &str, b: ReplayBody) -> DomainResult<Replayed> {
    s.store().get_webhook(id).await?;
    let now = s.now_ms();
    let replayed = s
        .store()
        .replay_deliveries(
            id,
            b.delivery_id,
            b.since.unwrap_or(0),
            b.until.unwrap_or(i64::MAX),
            now,
        )
        .await?;
    Ok(Replayed { replayed })
}

pub async fn feed(s: &AppState, p: FeedParams) -> DomainResult<EventFeed> {
    let cursor = p.cursor.unwrap_or(0).max(0);
    let limit = p.limit.unwrap_or(100).clamp(1, 1000);
    let events = s.store().operator_events(cursor, limit).await?;
    let has_more = events.len() as i64 == limit;
    let cursor = events.last().map_or(cursor, |e| e.seq);
    Ok(EventFeed {
        events: events.into_iter().map(event_view).collect(),
        cursor,
        has_more,
    })
}

pub fn event_types() -> EventTypes {
    EventTypes {
        event_types: parley_store::EVENT_TYPES
            .iter()
            .map(|s| s.to_string())
            .collect(),
    }
}

#[cfg(test)]
mod event_type_tests {
    use super::WebhookEventType;

    #[test]
    fn the_documented_event_types_are_the_stores() {
        let names: Vec<String> = WebhookEventType::ALL
            .iter()
            .map(|t| {
                serde_json::to_value(t)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(names, parley_store::EVENT_TYPES);
    }
}
