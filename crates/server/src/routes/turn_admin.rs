//! The built-in TURN relay's self test (operator key).

use crate::error::{ErrorBody, Json};
use crate::routes::auth;
use crate::turn_relay::{self, SelftestReport};
use crate::{ApiError, ApiResult, AppState};
use axum::extract::State;
use axum::http::HeaderMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(selftest))
}

/// Allocates on the built-in relay with fresh TURN REST credentials and relays a packet to a
/// local peer and back; reports pass or fail within 5 s.
#[utoipa::path(post, path = "/v1/admin/turn/selftest", tag = "integration",
    security(("operatorKey" = [])),
    responses(
        (status = 200, body = SelftestReport),
        (status = 404, description = "No built-in relay runs on this node", body = ErrorBody),
    ))]
pub async fn selftest(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<SelftestReport>> {
    auth::operator(&s, &headers)?;
    let relay = s
        .inner
        .turn_relay
        .get()
        .cloned()
        .ok_or_else(|| ApiError::not_found("TURN relay"))?;
    Ok(Json(turn_relay::selftest(&relay).await))
}
