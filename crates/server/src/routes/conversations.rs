//! Conversations: created by the operator; listed and read by their members (404 for
//! non-members on every conversation route).

use crate::domain::conversations::{
    self, ConversationDetail, Created, Inbox, ListParams, MessagesPage, MessagesParams,
    NewConversationBody,
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
        .routes(routes!(create, list))
        .routes(routes!(get_one))
        .routes(routes!(messages))
}

/// Creates a conversation (operator).
#[utoipa::path(post, path = "/v1/conversations", tag = "integration",
    security(("operatorKey" = [])),
    request_body = NewConversationBody,
    responses(
        (status = 201, body = Created),
        (status = 404, description = "A member does not exist", body = ErrorBody),
    ))]
pub async fn create(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(b): Json<NewConversationBody>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    auth::operator(&s, &headers)?;
    Ok((
        StatusCode::CREATED,
        Json(conversations::create(&s, b).await?),
    ))
}

/// My conversations, most recent first, each with its last message and unread count.
#[utoipa::path(get, path = "/v1/conversations", tag = "client",
    security(("userToken" = [])),
    params(ListParams),
    responses(
        (status = 200, body = Inbox),
        (status = 400, description = "invalid_request: a bad cursor", body = ErrorBody),
    ))]
pub async fn list(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListParams>,
) -> ApiResult<Json<Inbox>> {
    let me = auth::user(&s, &headers).await?;
    Ok(Json(conversations::inbox(&s, &me, q).await?))
}

/// One conversation with its members.
#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "client",
    security(("userToken" = [])),
    params(("id" = String, Path, description = "The conversation's id")),
    responses(
        (status = 200, body = ConversationDetail),
        (status = 404, description = "No such conversation, or not a member", body = ErrorBody),
    ))]
pub async fn get_one(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<ConversationDetail>> {
    let me = auth::user(&s, &headers).await?;
    let id = auth::known_id(id, "conversation")?;
    Ok(Json(conversations::get(&s, &me, &id).await?))
}

/// Messages, newest last; `before` / `after` message id cursors. The author's own masked or
/// held messages carry their findings and explanation.
#[utoipa::path(get, path = "/v1/conversations/{id}/messages", tag = "client",
    security(("userToken" = [])),
    params(("id" = String, Path, description = "The conversation's id"), MessagesParams),
    responses(
        (status = 200, body = MessagesPage),
        (status = 400, description = "invalid_request: a bad parameter", body = ErrorBody),
        (status = 404, description = "No such conversation, or not a member", body = ErrorBody),
    ))]
pub async fn messages(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<MessagesParams>,
) -> ApiResult<Json<MessagesPage>> {
    let me = auth::user(&s, &headers).await?;
    let id = auth::known_id(id, "conversation")?;
    Ok(Json(conversations::messages(&s, &me, &id, q).await?))
}
