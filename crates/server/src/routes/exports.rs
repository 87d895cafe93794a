//! Evidence export of a conversation (a member, a moderator, or the operator key).

use crate::domain::exports::{self, Caller, ExportFormat, ExportParams};
use crate::error::{ErrorBody, Path, Query};
use crate::routes::auth;
use crate::{ApiResult, AppState};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export))
}

/// Evidence export: the transcript with every version, attachments, decisions, members and a
/// `sha256:` digest (`parley audit verify-export`); members get their view, moderators and the
/// operator everything. Recorded in the audit log.
#[utoipa::path(get, path = "/v1/conversations/{id}/export", tag = "client",
    security(("userToken" = []), ("operatorKey" = [])),
    params(("id" = String, Path, description = "The conversation's id"), ExportParams),
    responses(
        (status = 200, description = "The export (JSON document, or the printable HTML page)",
            content((Object = "application/json"), (String = "text/html"))),
        (status = 400, description = "invalid_request: format must be json or html", body = ErrorBody),
        (status = 404, description = "No such conversation, or not a member", body = ErrorBody),
        (status = 413, description = "too_large: too many messages or decisions", body = ErrorBody),
    ))]
pub async fn export(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ExportParams>,
) -> ApiResult<Response> {
    let format = ExportFormat::parse(q.format.as_deref())?;
    let id = auth::known_id(id, "conversation")?;
    let caller = match auth::operator(&s, &headers) {
        Ok(()) => Caller::Operator,
        Err(e) if e.code == "rate_limited" => return Err(e),
        Err(_) => Caller::User(auth::user(&s, &headers).await?),
    };
    let out = exports::export(&s, caller, &id, format).await?;
    let content_type = match out.format {
        ExportFormat::Html => "text/html; charset=utf-8",
        ExportFormat::Json => "application/json",
    };
    let mut resp = (StatusCode::OK, out.body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", out.filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
