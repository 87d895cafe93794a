//! A user's enforcements with their statements of reasons, and appeals (user token).

use crate::domain::appeals::{self, AppealBody, Filed};
use crate::domain::enforcement::{self, MyEnforcements};
use crate::error::{ErrorBody, Json};
use crate::routes::auth;
use crate::{ApiResult, AppState};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(mine))
        .routes(routes!(appeal))
}

/// My enforcements with their statements of reasons (facts, rule, automated, how to appeal),
/// whether each can be appealed and the appeal's outcome, and my standing.
#[utoipa::path(get, path = "/v1/me/enforcements", tag = "client",
    security(("userToken" = [])),
    responses((status = 200, body = MyEnforcements)))]
pub async fn mine(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<MyEnforcements>> {
    let me = auth::user(&s, &headers).await?;
    Ok(Json(enforcement::of_user(&s, &me).await?))
}

/// Appeals an enforcement: free, one per enforcement, within the operator's window.
#[utoipa::path(post, path = "/v1/appeals", tag = "client",
    security(("userToken" = [])),
    request_body = AppealBody,
    responses(
        (status = 201, body = Filed),
        (status = 403, description = "appeal_window_closed", body = ErrorBody),
        (status = 404, description = "No such enforcement of mine", body = ErrorBody),
        (status = 409, description = "already_appealed", body = ErrorBody),
    ))]
pub async fn appeal(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(b): Json<AppealBody>,
) -> ApiResult<(StatusCode, Json<Filed>)> {
    let me = auth::user(&s, &headers).await?;
    Ok((StatusCode::CREATED, Json(appeals::file(&s, &me, b).await?)))
}
