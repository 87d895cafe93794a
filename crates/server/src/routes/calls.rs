//! Calls: ICE servers with TURN credentials, and a conversation's calls (user token). The
//! call itself is signaled over `/v1/ws` (`call.*` frames).

use crate::domain::call_history::{self, CallList, CallsParams};
use crate::domain::call_ice::{self, IceConfig};
use crate::domain::ids::ConversationId;
use crate::error::{ErrorBody, Json, Path, Query};
use crate::routes::auth;
use crate::{ApiResult, AppState};
use axum::extract::State;
use axum::http::HeaderMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ice))
        .routes(routes!(conversation_calls))
}

/// ICE servers for a call: the TURN relay's URLs with credentials in the TURN REST form
/// (username `expiry:user_id`, password base64 HMAC-SHA1 of the username), valid longer than
/// the longest call.
#[utoipa::path(get, path = "/v1/calls/ice", tag = "client",
    security(("userToken" = [])),
    responses(
        (status = 200, body = IceConfig),
        (status = 404, description = "Calls are off on this server", body = ErrorBody),
    ))]
pub async fn ice(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Json<IceConfig>> {
    let me = auth::user(&s, &headers).await?;
    Ok(Json(call_ice::ice_for(&s, &me)?))
}

/// The calls of a conversation, newest first (metadata only), and the call in progress.
#[utoipa::path(get, path = "/v1/conversations/{id}/calls", tag = "client",
    security(("userToken" = [])),
    params(("id" = String, Path, description = "Conversation id"), CallsParams),
    responses(
        (status = 200, body = CallList),
        (status = 400, description = "invalid_request: a bad query parameter", body = ErrorBody),
        (status = 404, description = "No such conversation of mine", body = ErrorBody),
    ))]
pub async fn conversation_calls(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<CallsParams>,
) -> ApiResult<Json<CallList>> {
    let me = auth::user(&s, &headers).await?;
    let conv: ConversationId = auth::known_id(id, "conversation")?;
    Ok(Json(
        call_history::of_conversation(&s, &me, &conv, q).await?,
    ))
}
