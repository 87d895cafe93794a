//! The operator dashboard's numbers (operator key or a moderator).

use crate::domain::dashboard::{self, Dashboard, DashboardParams};
use crate::error::{ErrorBody, Json, Query};
use crate::routes::auth;
use crate::{ApiResult, AppState};
use axum::extract::State;
use axum::http::HeaderMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_dashboard))
}

/// The operator dashboard: per day messages, decisions by action, the review queue and webhook
/// attempts; over the period findings by category, time to decision, the overturn rate on
/// appeal and webhook deliveries per endpoint; the latest delivery attempts. Computed from the
/// database when asked.
#[utoipa::path(get, path = "/v1/admin/dashboard", tag = "metrics",
    security(("operatorKey" = []), ("userToken" = [])),
    params(DashboardParams),
    responses(
        (status = 200, body = Dashboard),
        (status = 400, description = "invalid_request: days must be 1 to 366", body = ErrorBody),
        (status = 403, description = "forbidden: the moderator role is required", body = ErrorBody),
    ))]
pub async fn get_dashboard(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<DashboardParams>,
) -> ApiResult<Json<Dashboard>> {
    auth::moderator(&s, &headers).await?;
    Ok(Json(dashboard::dashboard(&s, q.days).await?))
}
