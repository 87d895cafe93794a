//! The moderators' console (a user with the `moderator` role, or the operator key; 403 for
//! everyone else): the review queue, decisions, statistics.

use crate::domain::ids::ItemId;
use crate::domain::moderation::{self, DecisionBody, DecisionOutcome};
use crate::domain::queue::{self, QueuePage, QueueParams, Stats};
use crate::error::{ErrorBody, Json, Path, Query};
use crate::routes::auth;
use crate::{ApiError, ApiResult, AppState};
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_queue))
        .routes(routes!(decide))
        .routes(routes!(stats))
}

/// The review queue: priority desc, then oldest first; each item with its evidence spans,
/// rule, confidence, context, the sender's history, reports, appeal and resolution.
#[utoipa::path(get, path = "/v1/moderation/queue", tag = "moderation",
    security(("userToken" = []), ("operatorKey" = [])),
    params(QueueParams),
    responses(
        (status = 200, body = QueuePage),
        (status = 400, description = "invalid_request: unknown status or kind, bad cursor", body = ErrorBody),
        (status = 403, description = "forbidden: not a moderator", body = ErrorBody),
    ))]
pub async fn list_queue(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<QueueParams>,
) -> ApiResult<Json<QueuePage>> {
    auth::moderator(&s, &headers).await?;
    Ok(Json(queue::list(&s, q).await?))
}

/// Decides a queue item. Held message: approve delivers it; reject, warn, restrict and suspend
/// do not, with their enforcements. Report: approve dismisses; reject removes the reported
/// message. Appeal: approve overturns, reject upholds.
#[utoipa::path(post, path = "/v1/moderation/items/{id}/decision", tag = "moderation",
    security(("userToken" = []), ("operatorKey" = [])),
    params(("id" = String, Path, description = "The item's id (`mi_N`)")),
    request_body = DecisionBody,
    responses(
        (status = 200, body = DecisionOutcome),
        (status = 403, description = "forbidden: not a moderator", body = ErrorBody),
        (status = 404, description = "No such item", body = ErrorBody),
        (status = 409, description = "already_resolved, or same_reviewer (the appealed decision was this moderator's)", body = ErrorBody),
    ))]
pub async fn decide(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<DecisionBody>,
) -> ApiResult<Json<DecisionOutcome>> {
    let me = auth::moderator(&s, &headers).await?;
    let item = ItemId::parse(&id).ok_or_else(|| ApiError::not_found("item"))?;
    Ok(Json(moderation::decide(&s, &me, item, b).await?))
}

/// `GET /v1/moderation/stats` parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// 1 to 90 (default 14).
    pub days: Option<u32>,
}

/// Dashboard counts: by category, by action, flagged per day, open items, appeals.
#[utoipa::path(get, path = "/v1/moderation/stats", tag = "moderation",
    security(("userToken" = []), ("operatorKey" = [])),
    params(StatsParams),
    responses(
        (status = 200, body = Stats),
        (status = 400, description = "invalid_request: a bad parameter", body = ErrorBody),
        (status = 403, description = "forbidden: not a moderator", body = ErrorBody),
    ))]
pub async fn stats(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<StatsParams>,
) -> ApiResult<Json<Stats>> {
    auth::moderator(&s, &headers).await?;
    Ok(Json(queue::stats(&s, q.days).await?))
}
