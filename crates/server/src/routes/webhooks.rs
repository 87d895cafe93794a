//! Webhook endpoints (Standard Webhooks) and the operator event feed (operator key; a replay
//! also by a moderator, from the operator dashboard).

use crate::domain::webhooks::{
    self, DeliveryList, DeliveryParams, EventFeed, EventTypes, FeedParams, NewWebhook, ReplayBody,
    Replayed, TestSent, WebhookList, WebhookPatch, WebhookView, WebhookWithSecret,
};
use crate::error::{ErrorBody, Json, Path, Query};
use crate::routes::auth;
use crate::{ApiResult, AppState};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(webhook_event_types))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(disable_webhook))
        .routes(routes!(rotate_webhook_secret))
        .routes(routes!(test_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(replay_webhook))
        .routes(routes!(operator_events))
}

/// Creates a webhook endpoint; the answer carries its signing secret (`whsec_...`).
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks",
    security(("operatorKey" = [])),
    request_body = NewWebhook,
    responses((status = 201, body = WebhookWithSecret), (status = 400, description = "invalid_request: a bad URL (a private target), an unknown event type", body = ErrorBody)))]
pub async fn create_webhook(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(b): Json<NewWebhook>,
) -> ApiResult<(StatusCode, Json<WebhookWithSecret>)> {
    auth::operator(&s, &headers)?;
    Ok((StatusCode::CREATED, Json(webhooks::create(&s, b).await?)))
}

/// Every webhook endpoint (without secrets).
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    security(("operatorKey" = [])),
    responses((status = 200, body = WebhookList)))]
pub async fn list_webhooks(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, Json<WebhookList>)> {
    auth::operator(&s, &headers)?;
    Ok((StatusCode::OK, Json(webhooks::list(&s).await?)))
}

/// The event types an endpoint can subscribe to.
#[utoipa::path(get, path = "/v1/webhooks/event-types", tag = "webhooks",
    security(("operatorKey" = [])),
    responses((status = 200, body = EventTypes)))]
pub async fn webhook_event_types(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, Json<EventTypes>)> {
    auth::operator(&s, &headers)?;
    Ok((StatusCode::OK, Json(webhooks::event_types())))
}

/// One webhook endpoint.
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks",
    security(("operatorKey" = [])),
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 200, body = WebhookView), (status = 404, description = "No such endpoint", body = ErrorBody)))]
pub async fn get_webhook(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<WebhookView>)> {
    auth::operator(&s, &headers)?;
    Ok((StatusCode::OK, Json(webhooks::get(&s, &id).await?)))
}

/// Changes an endpoint: URL, events, description, enabled.
#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks",
    security(("operatorKey" = [])),
    params(("id" = String, Path, description = "The endpoint's id")),
    request_body = WebhookPatch,
    responses((status = 200, body = WebhookView), (status = 404, description = "No such endpoint", body = ErrorBody), (status = 400, description = "invalid_request: a bad URL (a private target), an unknown event type", body = ErrorBody)))]
pub async fn update_webhook(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<WebhookPatch>,
) -> ApiResult<(StatusCode, Json<WebhookView>)> {
    auth::operator(&s, &headers)?;
    Ok((StatusCode::OK, Json(webhooks::update(&s, &id, b).await?)))
}

/// Deletes an endpoint with its deliveries (its events stay in the feed).
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks",
    security(("operatorKey" = [])),
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such endpoint", body = ErrorBody)))]
pub async fn delete_webhook(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    auth::operator(&s, &headers)?;
    webhooks::delete(&s, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Disables an endpoint (deliveries wait until it is enabled again).
#[utoipa::path(post, path = "/v1/webhooks/{id}/disable", tag = "webhooks",
    security(("operatorKey" = [])),
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 200, body = WebhookView), (status = 404, description = "No such endpoint", body = ErrorBody)))]
pub async fn disable_webhook(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<WebhookView>)> {
    auth::operator(&s, &headers)?;
    Ok((
        StatusCode::OK,
        Json(
            webhooks::update(
                &s,
                &id,
                WebhookPatch {
                    enabled: Some(false),
                    ..Default::default()
                },
            )
            .await?,
        ),
    ))
}

/// A new signing secret; the previous one also signs for 24 hours.
#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate", tag = "webhooks",
    security(("operatorKey" = [])),
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 200, body = WebhookWithSecret), (status = 404, description = "No such endpoint", body = ErrorBody)))]
pub async fn rotate_webhook_secret(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<WebhookWithSecret>)> {
    auth::operator(&s, &headers)?;
    Ok((StatusCode::OK, Json(webhooks::rotate(&s, &id).await?)))
}

/// Sends a `webhook.test` event to this endpoint.
#[utoipa::path(post, path = "/v1/webhooks/{id}/test", tag = "webhooks",
    security(("operatorKey" = [])),
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 202, body = TestSent), (status = 404, description = "No such endpoint", body = ErrorBody)))]
pub async fn test_webhook(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<TestSent>)> {
    auth::operator(&s, &headers)?;
    Ok((StatusCode::ACCEPTED, Json(webhooks::test(&s, &id).await?)))
}

/// An endpoint's deliveries, newest first, each with every attempt (status, latency, answer excerpt).
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    security(("operatorKey" = [])),
    params(("id" = String, Path, description = "The endpoint's id"), DeliveryParams),
    responses((status = 200, body = DeliveryList), (status = 400, description = "invalid_request: a bad query parameter", body = ErrorBody), (status = 404, description = "No such endpoint", body = ErrorBody)))]
pub async fn list_deliveries(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<DeliveryParams>,
) -> ApiResult<(StatusCode, Json<DeliveryList>)> {
    auth::operator(&s, &headers)?;
    Ok((
        StatusCode::OK,
        Json(webhooks::deliveries(&s, &id, q).await?),
    ))
}

/// Delivers again (same `webhook-id`): one delivery, or those of events in a time range. The
/// operator key, or a moderator (the operator dashboard's replay button).
#[utoipa::path(post, path = "/v1/webhooks/{id}/replay", tag = "webhooks",
    security(("operatorKey" = []), ("userToken" = [])),
    params(("id" = String, Path, description = "The endpoint's id")),
    request_body = ReplayBody,
    responses((status = 202, body = Replayed), (status = 404, description = "No such endpoint", body = ErrorBody), (status = 400, description = "invalid_request: a malformed body", body = ErrorBody), (status = 403, description = "forbidden: the moderator role is required", body = ErrorBody)))]
pub async fn replay_webhook(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<ReplayBody>,
) -> ApiResult<(StatusCode, Json<Replayed>)> {
    let who = auth::moderator(&s, &headers).await?;
    tracing::info!(endpoint = %id, by = %who, "webhook replay");
    Ok((
        StatusCode::ACCEPTED,
        Json(webhooks::replay(&s, &id, b).await?),
    ))
}

/// The operator event feed: every organisation's events after `cursor`, oldest first (what webhooks deliver; for reconciliation).
#[utoipa::path(get, path = "/v1/operator/events", tag = "webhooks",
    security(("operatorKey" = [])),
    params(FeedParams),
    responses((status = 200, body = EventFeed), (status = 400, description = "invalid_request: a bad query parameter", body = ErrorBody)))]
pub async fn operator_events(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<FeedParams>,
) -> ApiResult<(StatusCode, Json<EventFeed>)> {
    auth::operator(&s, &headers)?;
    Ok((StatusCode::OK, Json(webhooks::feed(&s, q).await?)))
}
