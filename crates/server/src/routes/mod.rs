//! The HTTP layer: one module per resource, each handler a few lines (authenticate, extract,
//! call the domain, map the result or the error). Every handler carries `#[utoipa::path]`; the
//! routers are [`OpenApiRouter`]s, so registering a route also documents it, and
//! `/v1/openapi.json` is derived from them.
//!
//! A new capability adds `routes/<thing>.rs` with `pub fn router() -> OpenApiRouter<AppState>`
//! and one line in [`router`].

pub mod auth;
pub mod calendar;
pub mod calls;
pub mod conversations;
pub mod dashboard;
pub mod docs;
pub mod enforcements;
pub mod exports;
pub mod files;
pub mod integration;
pub mod listings;
pub mod messages;
pub mod metrics;
pub mod moderation;
pub mod reports;
pub mod scheduling;
pub mod turn_admin;
pub mod uploads;
pub mod users;
pub mod web;
pub mod webhooks;

use crate::AppState;
use utoipa_axum::router::OpenApiRouter;

/// Every documented route of the API, with the document's base (info, security schemes,
/// the WebSocket's named schemas).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(docs::base())
        .merge(docs::router())
        .merge(web::router())
        .merge(users::router())
        .merge(integration::router())
        .merge(listings::router())
        .merge(conversations::router())
        .merge(messages::router())
        .merge(moderation::router())
        .merge(reports::router())
        .merge(enforcements::router())
        .merge(exports::router())
        .merge(metrics::router())
        .merge(dashboard::router())
        .merge(scheduling::router())
        .merge(calendar::router())
        .merge(calls::router())
        .merge(turn_admin::router())
        .merge(webhooks::router())
}

/// The routes that authenticate in their handlers (tus answers OPTIONS without credentials; a
/// signed download link is its own credential): merged outside the guard's route layer, but
/// documented like the others.
pub fn self_authenticated() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(uploads::router())
        .merge(files::router())
}

/// Any other path: 404 `not_found`.
pub async fn fallback() -> crate::ApiError {
    crate::ApiError::not_found("route")
}

/// A known path with another method: 405 `method_not_allowed`.
pub async fn method_not_allowed() -> crate::ApiError {
    crate::ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
}
