//! Health, the OpenAPI document and the browsable API page; the document's base (info,
//! security schemes, error codes and the WebSocket's named schemas) and the responses every
//! operation may give.

use crate::domain::events::{ErrorFrame, EventView, PongFrame, TypingFrame};
use crate::error::{ErrorBody, Json};
use crate::{ApiResult, AppState};
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The base of the document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Parley message center", description = "Integration API (operator key), client API (user tokens), WebSocket delivery. Errors: `{\"error\":{\"code\",\"message\",...}}`."),
    components(schemas(ErrorBody, EventView, TypingFrame, ErrorFrame, PongFrame, crate::ws::ClientFrame,
        crate::domain::call_frames::CallClientFrame, crate::domain::call_frames::CallFrame)),
    modifiers(&Security),
)]
struct Base;

/// The base document (paths are added by the routers).
pub fn base() -> utoipa::openapi::OpenApi {
    Base::openapi()
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "operatorKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("PARLEY_ADMIN_KEY"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "userToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("a token from POST /v1/users/{id}/tokens"))
                    .build(),
            ),
        );
    }
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            utoipa::openapi::ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

/// Adds the error answers any operation may give: 429 `rate_limited`, 500 `internal`, 503
/// `unavailable`; with credentials 401 `unauthorized`; with a body 400 `invalid_request`,
/// 413 `too_large`, 415 `unsupported_media_type`.
fn add_common_errors(op: &mut Operation) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let body = op.request_body.is_some();
    let mut add = |code: &str, what: &str| {
        op.responses
            .responses
            .entry(code.to_string())
            .or_insert_with(|| error_response(what).into());
    };
    if secured {
        add(
            "401",
            "unauthorized: missing, invalid, expired or revoked credentials",
        );
    }
    if body {
        add("400", "invalid_request: malformed JSON or a bad field");
        add("413", "too_large");
        add("415", "unsupported_media_type: not application/json");
    }
    add("429", "rate_limited");
    add("500", "internal");
    add("503", "unavailable: storage unavailable, retry later");
}

/// The finished document: every operation with the common error answers.
pub fn finish(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            add_common_errors(op);
        }
    }
    doc
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(openapi))
        .routes(routes!(page))
}

/// The server and its database answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

/// Liveness and database check.
#[utoipa::path(get, path = "/v1/health", tag = "meta",
    responses((status = 200, body = Health)))]
pub async fn health(State(s): State<AppState>) -> ApiResult<Json<Health>> {
    s.store().ping().await?;
    Ok(Json(Health { status: "ok" }))
}

/// This document (OpenAPI 3.1).
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)))]
pub async fn openapi() -> Response {
    axum::Json(crate::openapi_document()).into_response()
}

/// The browsable API page.
#[utoipa::path(get, path = "/v1/docs", tag = "meta",
    responses((status = 200, description = "HTML page", content_type = "text/html", body = String)))]
pub async fn page() -> Html<&'static str> {
    Html(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Parley API</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}code{background:#eee;padding:0 .3em}
.m{display:inline-block;width:4.5em;font-weight:bold;text-transform:uppercase}</style></head>
<body><h1>Parley API</h1><p>Machine-readable: <a href="/v1/openapi.json">/v1/openapi.json</a>.
Errors: <code>{"error":{"code","message",...}}</code>.</p><div id="routes">Loading…</div>
<script>
fetch('/v1/openapi.json').then(r=>r.json()).then(d=>{const el=document.getElementById('routes');el.textContent='';
for(const [p,ops] of Object.entries(d.paths)){for(const [m,o] of Object.entries(ops)){
const div=document.createElement('div');const s=document.createElement('span');s.className='m';s.textContent=m;
const c=document.createElement('code');c.textContent=p;const t=document.createElement('p');
t.textContent=(o.summary||'')+(o.security&&o.security.length?' ('+Object.keys(o.security[0])[0]+')':'');
div.append(s,c,t);el.append(div);}}});
</script></body></html>"#,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_documented_with_its_answers() {
        let spec = crate::openapi_document();
        for (method, path) in crate::ROUTES {
            let op = &spec["paths"][path][method];
            assert!(op.is_object(), "{method} {path} missing from openapi");
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|k| k.starts_with('2') || k == "101"),
                "{method} {path}: no success answer"
            );
        }
        let n: usize = spec["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|ops| ops.as_object().unwrap().len())
            .sum();
        assert_eq!(
            n,
            crate::ROUTES.len(),
            "a documented route is not in ROUTES"
        );
    }

    #[test]
    fn every_body_and_success_has_a_schema() {
        let spec = crate::openapi_document();
        for (path, ops) in spec["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                if let Some(body) = op.get("requestBody") {
                    assert!(
                        body["content"]["application/json"]["schema"].is_object(),
                        "{method} {path}: request body without a schema"
                    );
                }
                for (code, r) in op["responses"].as_object().unwrap() {
                    if code.starts_with('2') && code != "204" {
                        assert!(
                            r["content"]
                                .as_object()
                                .is_some_and(|c| c.values().all(|m| m["schema"].is_object())),
                            "{method} {path} {code}: no schema"
                        );
                    }
                }
            }
        }
        for name in [
            "ErrorBody",
            "Event",
            "TypingFrame",
            "ClientFrame",
            "Message",
        ] {
            assert!(
                spec["components"]["schemas"][name].is_object(),
                "schema {name} missing"
            );
        }
    }
}
