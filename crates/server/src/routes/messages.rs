//! Messages (user token): post, edit, delete, read markers, typing, checking a draft, the
//! event log and the WebSocket.

use crate::domain::events::{self, EventsPage, EventsParams};
use crate::domain::ids::MessageId;
use crate::domain::messages::{
    self, CheckBody, CheckResult, Deleted, EditBody, MessageDecision, PostBody, Posted, ReadBody,
    ReadMarker,
};
use crate::error::{ErrorBody, Json, Path, Query};
use crate::routes::auth;
use crate::{ApiError, ApiResult, AppState};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post))
        .routes(routes!(edit, delete))
        .routes(routes!(read))
        .routes(routes!(typing))
        .routes(routes!(check))
        .routes(routes!(events_since))
        .routes(routes!(crate::ws::upgrade))
}

fn message_id(mid: &str) -> ApiResult<MessageId> {
    MessageId::parse(mid).ok_or_else(|| ApiError::not_found("message"))
}

/// Sends a message, with text, files (`attachments`: ids of the sender's finished uploads in
/// this conversation) or both: 201 delivered (maybe masked, or with a notice), 202 held for
/// review, 422 blocked; idempotent on `client_id`.
#[utoipa::path(post, path = "/v1/conversations/{id}/messages", tag = "client",
    security(("userToken" = [])),
    params(("id" = String, Path, description = "The conversation's id")),
    request_body = PostBody,
    responses(
        (status = 201, description = "Delivered", body = MessageDecision),
        (status = 202, description = "Held for review", body = MessageDecision),
        (status = 400, description = "invalid_request: malformed JSON or a bad field; no text and no attachments; an attachment listed twice; more than 20 attachments", body = ErrorBody),
        (status = 403, description = "restricted: the sender's messaging is restricted", body = ErrorBody),
        (status = 404, description = "No such conversation, or not a member; attachment_not_found: an attachment is not the sender's finished upload in this conversation (nothing stored)", body = ErrorBody),
        (status = 409, description = "attachment_in_use: an attachment is already attached to another message (nothing stored)", body = ErrorBody),
        (status = 422, description = "policy_violation: blocked, not delivered", body = ErrorBody),
    ))]
pub async fn post(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<PostBody>,
) -> ApiResult<(StatusCode, Json<MessageDecision>)> {
    let me = auth::user(&s, &headers).await?;
    let id = auth::known_id(id, "conversation")?;
    let (how, out) = messages::post(&s, &id, &me, b).await?;
    let status = match how {
        Posted::Delivered => StatusCode::CREATED,
        Posted::Held => StatusCode::ACCEPTED,
    };
    Ok((status, Json(out)))
}

/// Edits one's own message (checked again): 200, or 202 when now held.
#[utoipa::path(patch, path = "/v1/conversations/{id}/messages/{message_id}", tag = "client",
    security(("userToken" = [])),
    params(
        ("id" = String, Path, description = "The conversation's id"),
        ("message_id" = i64, Path, description = "The message's id"),
    ),
    request_body = EditBody,
    responses(
        (status = 200, description = "Edited", body = MessageDecision),
        (status = 202, description = "Held for review", body = MessageDecision),
        (status = 403, description = "forbidden (not the author) or restricted", body = ErrorBody),
        (status = 404, description = "No such message", body = ErrorBody),
        (status = 422, description = "policy_violation: the new text is blocked", body = ErrorBody),
    ))]
pub async fn edit(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((id, mid)): Path<(String, String)>,
    Json(b): Json<EditBody>,
) -> ApiResult<(StatusCode, Json<MessageDecision>)> {
    let me = auth::user(&s, &headers).await?;
    let id = auth::known_id(id, "conversation")?;
    let (how, out) = messages::edit(&s, &id, message_id(&mid)?, &me, b).await?;
    let status = match how {
        Posted::Delivered => StatusCode::OK,
        Posted::Held => StatusCode::ACCEPTED,
    };
    Ok((status, Json(out)))
}

/// Deletes one's own message (a tombstone stays).
#[utoipa::path(delete, path = "/v1/conversations/{id}/messages/{message_id}", tag = "client",
    security(("userToken" = [])),
    params(
        ("id" = String, Path, description = "The conversation's id"),
        ("message_id" = i64, Path, description = "The message's id"),
    ),
    responses(
        (status = 200, body = Deleted),
        (status = 403, description = "forbidden: not the author", body = ErrorBody),
        (status = 404, description = "No such message", body = ErrorBody),
    ))]
pub async fn delete(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((id, mid)): Path<(String, String)>,
) -> ApiResult<Json<Deleted>> {
    let me = auth::user(&s, &headers).await?;
    let id = auth::known_id(id, "conversation")?;
    Ok(Json(
        messages::delete(&s, &id, message_id(&mid)?, &me).await?,
    ))
}

/// Moves my read marker.
#[utoipa::path(post, path = "/v1/conversations/{id}/read", tag = "client",
    security(("userToken" = [])),
    params(("id" = String, Path, description = "The conversation's id")),
    request_body = ReadBody,
    responses(
        (status = 200, body = ReadMarker),
        (status = 404, description = "No such conversation or message", body = ErrorBody),
    ))]
pub async fn read(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<ReadBody>,
) -> ApiResult<Json<ReadMarker>> {
    let me = auth::user(&s, &headers).await?;
    let id = auth::known_id(id, "conversation")?;
    Ok(Json(messages::mark_read(&s, &id, &me, b).await?))
}

/// Tells the other members I am typing.
#[utoipa::path(post, path = "/v1/conversations/{id}/typing", tag = "client",
    security(("userToken" = [])),
    params(("id" = String, Path, description = "The conversation's id")),
    responses(
        (status = 204, description = "Sent"),
        (status = 404, description = "No such conversation, or not a member", body = ErrorBody),
    ))]
pub async fn typing(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let me = auth::user(&s, &headers).await?;
    messages::typing(&s, &id, me.as_str()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks a draft without sending it.
#[utoipa::path(post, path = "/v1/check", tag = "client",
    security(("userToken" = [])),
    request_body = CheckBody,
    responses(
        (status = 200, body = CheckResult),
        (status = 404, description = "No such conversation, or not a member", body = ErrorBody),
    ))]
pub async fn check(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(b): Json<CheckBody>,
) -> ApiResult<Json<CheckResult>> {
    let me = auth::user(&s, &headers).await?;
    Ok(Json(messages::check_draft(&s, &me, b).await?))
}

/// Events since a cursor (what a reconnecting client missed): the frames of `/v1/ws`.
#[utoipa::path(get, path = "/v1/events", tag = "client",
    security(("userToken" = [])),
    params(EventsParams),
    responses(
        (status = 200, body = EventsPage),
        (status = 400, description = "invalid_request: a bad parameter", body = ErrorBody),
    ))]
pub async fn events_since(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<EventsParams>,
) -> ApiResult<Json<EventsPage>> {
    let me = auth::user(&s, &headers).await?;
    Ok(Json(events::since(&s, &me, q).await?))
}
