//! The web message center, served by the server itself: plain HTML, CSS and JavaScript modules
//! from `crates/server/web/`, embedded in the binary at compile time (no build step).
//!
//! `GET /` is the single page; `GET /app/{path}` serves the assets with their content type, an
//! `ETag` and `Cache-Control: no-cache` (browsers revalidate, so an upgraded server never runs
//! stale scripts), and every response carries a Content Security Policy that allows no inline
//! script. `GET /v1/me` tells the page who its token belongs to.

use crate::ApiError;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;

/// The Content Security Policy of every UI response: scripts, styles and connections only from
/// this server (the WebSocket included), no inline script, no framing.
pub const CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self' ws: wss:; font-src 'self'; manifest-src 'self'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// The demo host page of the embeddable chat: the UI's policy, and it may frame this server.
const DEMO_HOST_CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

macro_rules! asset {
    ($name:literal, $ct:expr) => {
        (
            $name,
            $ct,
            include_bytes!(concat!("../web/", $name)) as &[u8],
        )
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every embedded file: (path under `/app/`, content type, bytes).
pub const ASSETS: &[(&str, &str, &[u8])] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("util.js", JS),
    asset!("home.js", JS),
    asset!("inbox.js", JS),
    asset!("chat.js", JS),
    asset!("composer.js", JS),
    asset!("moderation.js", JS),
    asset!("dashboard.js", JS),
    asset!("account.js", JS),
    asset!("files.js", JS),
    asset!("schedule.js", JS),
    asset!("state.js", JS),
    asset!("call.js", JS),
    asset!("call_media.js", JS),
    asset!("callcards.js", JS),
    // The embeddable chat: the framed page, its script, the host pages' custom element, and
    // the demo's host page.
    asset!("embed.html", "text/html; charset=utf-8"),
    asset!("embed.js", JS),
    asset!("parley-chat.js", JS),
    asset!("embed-demo.html", "text/html; charset=utf-8"),
    asset!("embed-demo.js", JS),
    // tus-js-client 4.3.1 from npm (MIT, license in web/vendor/tus-js-client.LICENSE).
    asset!("vendor/tus.min.js", JS),
];

/// FNV-1a, enough to tell two versions of a file apart for `ETag`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn etags() -> &'static [String] {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|(_, _, b)| format!("\"{:016x}\"", fnv1a(b)))
            .collect()
    })
}

fn serve(index: usize, headers: &HeaderMap) -> Response {
    let (_, content_type, body) = ASSETS[index];
    let etag = &etags()[index];
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, body).into_response()
    };
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    // The demo's host page frames this server's /embed.
    let csp = if ASSETS[index].0 == "embed-demo.html" {
        DEMO_HOST_CSP
    } else {
        CSP
    };
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

/// `GET /`: the web message center.
pub fn index(headers: &HeaderMap) -> Response {
    serve(0, headers)
}

/// `GET /embed`: the chat page framed by `<parley-chat>` (or an `<iframe>`): the UI's policy,
/// except that the configured origins (and, in demo mode, this server) may frame it.
pub fn embed(headers: &HeaderMap, origins: &[String], demo: bool) -> Response {
    let Some(i) = ASSETS.iter().position(|(n, ..)| *n == "embed.html") else {
        return ApiError::not_found("file").into_response();
    };
    let mut resp = serve(i, headers);
    let mut sources: Vec<&str> = origins.iter().map(String::as_str).collect();
    if demo && !sources.contains(&"'self'") {
        sources.push("'self'");
    }
    let ancestors = if sources.is_empty() {
        "'none'".to_string()
    } else {
        sources.join(" ")
    };
    let csp = CSP.replace(
        "frame-ancestors 'none'",
        &format!("frame-ancestors {ancestors}"),
    );
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    if !sources.is_empty() {
        h.remove(header::X_FRAME_OPTIONS);
    }
    resp
}

/// `GET /app/{path}`: one embedded asset (404 `not_found` for anything else).
pub fn asset(path: &str, headers: &HeaderMap) -> Response {
    match ASSETS.iter().position(|(name, ..)| *name == path) {
        Some(i) => serve(i, headers),
        None => ApiError::not_found("file").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_distinct_and_typed() {
        for (i, (name, ct, body)) in ASSETS.iter().enumerate() {
            assert!(!body.is_empty(), "{name} is empty");
            assert!(
                ASSETS[i + 1..].iter().all(|(n, ..)| n != name),
                "{name} twice"
            );
            let ext = name.rsplit('.').next().unwrap_or_default();
            let want = match ext {
                "js" => "text/javascript",
                "css" => "text/css",
                "html" => "text/html",
                "svg" => "image/svg+xml",
                _ => panic!("{name}: unknown extension"),
            };
            assert!(ct.starts_with(want), "{name}: {ct}");
        }
    }

    #[test]
    fn html_has_no_inline_script() {
        let html = std::str::from_utf8(ASSETS[0].2).unwrap();
        for chunk in html.split("<script").skip(1) {
            let tag = chunk.split('>').next().unwrap_or_default();
            assert!(
                tag.contains("src="),
                "inline <script{tag}> is blocked by the CSP"
            );
        }
        assert!(
            !html.contains(" style="),
            "inline style attributes are blocked by the CSP"
        );
        assert!(
            !html.contains(" onclick="),
            "inline handlers are blocked by the CSP"
        );
    }
}
