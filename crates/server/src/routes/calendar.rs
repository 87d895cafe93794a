//! Calendar files: `GET /v1/bookings/{id}/ics` (a participant), `POST /v1/me/calendar-feed`
//! (a new private feed URL; the old one stops working) and the feed itself, `GET /cal/TOKEN.ics`
//! (the token is the credential: outside `/v1` and its guard).

use crate::domain::calendar::{self, Feed};
use crate::error::ErrorBody;
use crate::routes::auth;
use crate::{ApiError, ApiResult, AppState};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ics))
        .routes(routes!(regenerate_feed))
}

/// The feed (its token is its credential).
pub fn feed_router() -> Router<AppState> {
    Router::new().route("/cal/{file}", get(feed))
}

/// The request's host, when it is a plain host name (for links back to the server).
fn host(h: &HeaderMap) -> Option<&str> {
    let v = h.get(header::HOST)?.to_str().ok()?;
    let ok = !v.is_empty()
        && v.len() <= 255
        && v.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b':' | b'[' | b']'));
    ok.then_some(v)
}

/// `scheme://host` of the request (https unless the proxy says otherwise or the host is
/// loopback), or "" when unknown.
fn base(h: &HeaderMap) -> String {
    let Some(host) = host(h) else {
        return String::new();
    };
    let proto = h
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "http" || *p == "https");
    let local =
        host.starts_with("127.0.0.1") || host.starts_with("localhost") || host.starts_with("[::1]");
    let scheme = proto.unwrap_or(if local { "http" } else { "https" });
    format!("{scheme}://{host}")
}

fn calendar_response(body: String, filename: Option<&str>) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Some(f) =
        filename.and_then(|f| HeaderValue::from_str(&format!("attachment; filename=\"{f}\"")).ok())
    {
        h.insert(header::CONTENT_DISPOSITION, f);
    }
    r
}

/// The booking's calendar entry (`METHOD:REQUEST`, or `CANCEL` once cancelled).
#[utoipa::path(get, path = "/v1/bookings/{id}/ics", tag = "scheduling",
    security(("userToken" = [])),
    params(("id" = String, Path, description = "Booking id (bk_...)")),
    responses(
        (status = 200, description = "An iCalendar file", content_type = "text/calendar", body = String),
        (status = 404, body = ErrorBody),
    ))]
pub async fn ics(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let me = auth::user(&s, &headers).await?;
    let body = calendar::ics(&s, &me, &id, &base(&headers)).await?;
    Ok(calendar_response(body, Some("interview.ics")))
}

/// A new private calendar feed of my bookings (`/cal/TOKEN.ics`); the previous URL stops
/// working.
#[utoipa::path(post, path = "/v1/me/calendar-feed", tag = "scheduling",
    security(("userToken" = [])),
    responses((status = 201, body = Feed)))]
pub async fn regenerate_feed(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, axum::Json<Feed>)> {
    let me = auth::user(&s, &headers).await?;
    let f = calendar::regenerate_feed(&s, &me, host(&headers)).await?;
    Ok((StatusCode::CREATED, axum::Json(f)))
}

/// `GET /cal/TOKEN.ics`: the feed (404 for an unknown or revoked token).
pub async fn feed(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> ApiResult<Response> {
    let Some(token) = file.strip_suffix(".ics") else {
        return Err(ApiError::not_found("feed"));
    };
    match calendar::feed(&s, token, &base(&headers)).await? {
        Some(body) => Ok(calendar_response(body, None)),
        None => Err(ApiError::not_found("feed")),
    }
}
