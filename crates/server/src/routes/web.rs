//! The web message center: the page and its embedded assets (see [`crate::web`]).

use crate::error::{ErrorBody, Path};
use crate::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(paths(asset))]
struct Assets;

pub fn router() -> OpenApiRouter<AppState> {
    // The assets' route is a wildcard (`{*path}` for axum, `{path}` in the document).
    OpenApiRouter::with_openapi(Assets::openapi())
        .routes(routes!(index))
        .routes(routes!(embed))
        .route("/app/{*path}", get(asset))
}

/// The web message center (HTML page).
#[utoipa::path(get, path = "/", tag = "web",
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 304, description = "Not modified (If-None-Match)"),
    ))]
pub async fn index(headers: HeaderMap) -> Response {
    crate::web::index(&headers)
}

/// The embeddable chat (HTML page for `<parley-chat>` or an `<iframe>`; `?conversation=ID`).
/// Framable by the origins of `embed_origins` (CSP `frame-ancestors`).
#[utoipa::path(get, path = "/embed", tag = "web",
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 304, description = "Not modified (If-None-Match)"),
    ))]
pub async fn embed(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let c = &s.inner.config;
    crate::web::embed(&headers, &c.embed_origins, c.demo)
}

/// Web UI assets (JavaScript modules, CSS, icons), embedded in the binary.
#[utoipa::path(get, path = "/app/{path}", tag = "web",
    params(("path" = String, Path, description = "The asset's file name, e.g. app.js")),
    responses(
        (status = 200, description = "The asset", content_type = "text/javascript", body = String),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 404, description = "No such asset", body = ErrorBody),
    ))]
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    crate::web::asset(&path, &headers)
}
