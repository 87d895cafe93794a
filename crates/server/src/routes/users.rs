//! The signed-in user, and the demo's sign-in (404 unless `parley demo`).

use crate::domain::demo::{self, DemoUsers, Session};
use crate::domain::users::{self, UserCard};
use crate::error::{ErrorBody, Json, Path};
use crate::routes::auth;
use crate::{ApiError, ApiResult, AppState};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(demo_users))
        .routes(routes!(demo_session))
}

/// The signed-in user: id, name, roles, organisation, country, time zone.
#[utoipa::path(get, path = "/v1/me", tag = "client",
    security(("userToken" = [])),
    responses((status = 200, body = UserCard)))]
pub async fn me(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Json<UserCard>> {
    let me = auth::user(&s, &headers).await?;
    Ok(Json(users::me(&s, &me).await?))
}

/// Demo mode only: the demo's people.
#[utoipa::path(get, path = "/v1/demo/users", tag = "demo",
    responses(
        (status = 200, body = DemoUsers),
        (status = 404, description = "Not in demo mode", body = ErrorBody),
    ))]
pub async fn demo_users(State(s): State<AppState>) -> ApiResult<Json<DemoUsers>> {
    Ok(Json(demo::users(&s).await?))
}

/// Demo mode only: signs in as one of the demo's people.
#[utoipa::path(post, path = "/v1/demo/users/{id}/session", tag = "demo",
    params(("id" = String, Path, description = "A demo person's id")),
    responses(
        (status = 201, body = Session),
        (status = 404, description = "Not in demo mode, or not a demo person", body = ErrorBody),
    ))]
pub async fn demo_session(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Session>)> {
    let allowed = || s.inner.key_rate.allow("demo-sign-in");
    match demo::sign_in(&s, &id, allowed).await? {
        Some(session) => Ok((StatusCode::CREATED, Json(session))),
        None => Err(ApiError::rate_limited()),
    }
}
