//! What runs around every handler (see `docs/security.md`):
//!
//! - [`security_headers`] (every response, errors and 404s included): `Content-Security-Policy`
//!   (unless the handler set its own), `X-Content-Type-Options: nosniff`, `Referrer-Policy`,
//!   `X-Frame-Options`, `Cross-Origin-Opener-Policy`.
//! - [`before_handler`] (every matched route), in this order: a body in another charset than
//!   UTF-8 is refused (415); the credentials of every authenticated route are checked before
//!   the body or the query is read (401, or 429 when the client's address failed too often); the
//!   `{id}` of a `PUT` (a new record's id) is checked against the id alphabet
//!   ([`crate::ident`]); the body is read whole within `body_read_timeout_secs` (408) and
//!   `max_body_bytes` (413).

use crate::{bearer, ApiError, AppState};
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::time::Duration;

/// The policy of every response that sets none: nothing may load but inline styles (the
/// printable export), no framing, no forms, no base URL.
pub const DEFAULT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `/v1/docs`: a static page whose inline script reads `/v1/openapi.json`.
const DOCS_CSP: &str =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Security headers on every response.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let docs = req.uri().path() == "/v1/docs";
    // The embeddable chat sets its own framing policy (`frame-ancestors`).
    let framable = req.uri().path() == "/embed";
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        let csp = if docs { DOCS_CSP } else { DEFAULT_CSP };
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
    }
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        if name == header::X_FRAME_OPTIONS && framable {
            continue;
        }
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
    h.entry("cross-origin-opener-policy")
        .or_insert(HeaderValue::from_static("same-origin"));
    resp
}

/// Routes anyone may call (the others need the operator key or a user token).
fn is_public(s: &AppState, route: &str) -> bool {
    match route {
        "/v1/health" | "/v1/openapi.json" | "/v1/docs" | "/" | "/app/{*path}" | "/embed" => true,
        "/v1/demo/users" | "/v1/demo/users/{id}/session" => true,
        "/metrics" => s.inner.config.metrics_public,
        _ => false,
    }
}

/// The `token` query parameter (WebSocket clients cannot set headers).
fn query_token(uri: &axum::http::Uri) -> Option<String> {
    let q = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri).ok()?;
    q.0.into_iter().find(|(k, _)| k == "token").map(|(_, v)| v)
}

/// 415 for a body declared in another charset than UTF-8 (it would be read as UTF-8).
fn check_charset(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let ct = ct.to_str().map_err(|_| unsupported_charset())?;
    for param in ct.split(';').skip(1) {
        if let Some((k, v)) = param.split_once('=') {
            if k.trim().eq_ignore_ascii_case("charset") {
                let v = v.trim().trim_matches('"');
                if !v.eq_ignore_ascii_case("utf-8") && !v.eq_ignore_ascii_case("utf8") {
                    return Err(unsupported_charset());
                }
            }
        }
    }
    Ok(())
}

fn unsupported_charset() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "request bodies must be UTF-8 (charset=utf-8 or no charset)",
    )
}

fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// The checks every matched route runs before its handler (see the module doc).
pub async fn before_handler(State(s): State<AppState>, req: Request, next: Next) -> Response {
    match check(&s, req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

async fn check(s: &AppState, req: Request) -> Result<Request, Response> {
    check_charset(req.headers()).map_err(IntoResponse::into_response)?;
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    if !is_public(s, &route) {
        let given = bearer(req.headers()).map(str::to_owned).or_else(|| {
            (route == "/v1/ws")
                .then(|| query_token(req.uri()))
                .flatten()
        });
        let Some(given) = given else {
            return Err(ApiError::unauthorized().into_response());
        };
        if !s
            .credential_is_valid(&given)
            .await
            .map_err(IntoResponse::into_response)?
        {
            let ip = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip());
            if !s.inner.auth_failures.record(ip) {
                tracing::info!(ip = ?ip, "authentication failures over the limit");
                return Err(ApiError::rate_limited().into_response());
            }
            return Err(ApiError::unauthorized().into_response());
        }
    }
    let (mut parts, body) = req.into_parts();
    if parts.method == Method::PUT {
        if let Ok(params) = RawPathParams::from_request_parts(&mut parts, &()).await {
            for (name, value) in &params {
                if name == "id" {
                    crate::ident::check_id("id", value).map_err(IntoResponse::into_response)?;
                }
            }
        }
    }
    if !has_body(&parts.headers) {
        return Ok(Request::from_parts(parts, body));
    }
    let limit = s.inner.config.max_body_bytes;
    let wait = Duration::from_secs(s.inner.config.body_read_timeout_secs);
    let bytes = match tokio::time::timeout(wait, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "request body too large",
            )
            .into_response())
        }
        Err(_) => {
            let mut r = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                "the request body did not arrive in time",
            )
            .into_response();
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return Err(r);
        }
    };
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charsets_other_than_utf8_are_refused() {
        let mut h = HeaderMap::new();
        assert!(check_charset(&h).is_ok());
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
        ] {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ok));
            assert!(check_charset(&h).is_ok(), "{ok}");
        }
        for bad in [
            "application/json; charset=latin1",
            "application/json; charset=utf-16",
        ] {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(bad));
            assert!(check_charset(&h).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_query_token_is_decoded() {
        let uri = |s: &str| s.parse::<axum::http::Uri>().unwrap();
        assert_eq!(
            query_token(&uri("/v1/ws?cursor=1&token=a%2Bb")).as_deref(),
            Some("a+b")
        );
        assert_eq!(query_token(&uri("/v1/ws?cursor=1")), None);
        assert_eq!(query_token(&uri("/v1/ws")), None);
    }
}
