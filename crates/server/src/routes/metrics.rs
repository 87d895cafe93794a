//! Metrics for the operator: Prometheus text and JSON per day.

use crate::domain::metrics::{self, Metrics, MetricsParams};
use crate::error::{Json, Query};
use crate::routes::auth;
use crate::{ApiResult, AppState};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(prometheus))
        .routes(routes!(per_day))
}

/// Prometheus metrics: decisions by surface, action, automated and category; audit entries
/// by kind; reports; appeal outcomes and the overturn ratio; calls started, answered, ended by
/// reason, relayed share and setup time; the TURN relay's allocations and relayed bytes; which
/// optional file scanners run (`parley_scanner_available`); whether ClamAV is configured and
/// answers (operator key unless `metrics_public`).
#[utoipa::path(get, path = "/metrics", tag = "metrics",
    security(("operatorKey" = []), ()),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
pub async fn prometheus(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if !s.inner.config.metrics_public {
        auth::operator(&s, &headers)?;
    }
    let snap = s.inner.metrics.get(&s).await?;
    let mut text = metrics::prometheus(&snap);
    text.push_str(&crate::domain::call_metrics::prometheus(
        &snap.calls,
        s.inner.calls.in_progress(),
        crate::turn_relay::stats(&s),
    ));
    text.push_str(&crate::clamav::status(&s.inner.files.config).await);
    text.push_str(&s.inner.files.scanners.prometheus());
    let mut resp = (StatusCode::OK, text).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(resp)
}

/// The same numbers per day.
#[utoipa::path(get, path = "/v1/metrics", tag = "metrics",
    security(("operatorKey" = [])),
    params(MetricsParams),
    responses(
        (status = 200, body = Metrics),
        (status = 400, description = "invalid_request: days must be 1 to 366", body = crate::error::ErrorBody),
    ))]
pub async fn per_day(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<MetricsParams>,
) -> ApiResult<Json<Metrics>> {
    auth::operator(&s, &headers)?;
    Ok(Json(metrics::per_day(&s, q.days).await?))
}
