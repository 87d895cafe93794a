//! Reports (user token): file one, list the reasons.

use crate::domain::reports::{self, Filed, Reasons, ReportBody};
use crate::error::{ErrorBody, Json};
use crate::routes::auth;
use crate::{ApiResult, AppState};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(file))
        .routes(routes!(reasons))
}

/// Reports a message, a user or a conversation; duplicates of an open target merge into one
/// queue item (each reporter once; a second reporter raises its priority).
#[utoipa::path(post, path = "/v1/reports", tag = "client",
    security(("userToken" = [])),
    request_body = ReportBody,
    responses(
        (status = 201, body = Filed),
        (status = 404, description = "No such message, user or conversation visible to me", body = ErrorBody),
    ))]
pub async fn file(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(b): Json<ReportBody>,
) -> ApiResult<(StatusCode, Json<Filed>)> {
    let me = auth::user(&s, &headers).await?;
    Ok((StatusCode::CREATED, Json(reports::file(&s, &me, b).await?)))
}

/// The operator's report reasons.
#[utoipa::path(get, path = "/v1/reports/reasons", tag = "client",
    security(("userToken" = [])),
    responses((status = 200, body = Reasons)))]
pub async fn reasons(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Reasons>> {
    auth::user(&s, &headers).await?;
    Ok(Json(reports::reasons(&s)))
}
