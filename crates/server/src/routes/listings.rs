//! The marketplace's texts (operator key): profiles, job posts, proposals, invites, each
//! checked on its surface (422 `policy_violation` when blocked or held, nothing stored).

use crate::domain::listings::{
    self, InviteBody, InviteView, JobBody, JobView, ProfileBody, ProfileView, ProposalBody,
    ProposalView,
};
use crate::error::{ErrorBody, Json, Path};
use crate::routes::auth;
use crate::routes::integration::upserted;
use crate::{ApiResult, AppState};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_profile))
        .routes(routes!(put_job))
        .routes(routes!(put_proposal))
        .routes(routes!(put_invite))
}

/// Creates or updates a profile; texts checked (always pre-contract).
#[utoipa::path(put, path = "/v1/users/{id}/profile", tag = "integration",
    security(("operatorKey" = [])),
    params(("id" = String, Path, description = "The user's id")),
    request_body = ProfileBody,
    responses(
        (status = 200, description = "Updated", body = ProfileView),
        (status = 201, description = "Created", body = ProfileView),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "policy_violation: blocked or held, nothing stored", body = ErrorBody),
    ))]
pub async fn put_profile(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<ProfileBody>,
) -> ApiResult<(StatusCode, Json<ProfileView>)> {
    auth::operator(&s, &headers)?;
    let id = auth::known_id(id, "user")?;
    Ok(upserted(listings::put_profile(&s, &id, b).await?))
}

/// Creates or updates a job post; texts checked (always pre-contract).
#[utoipa::path(put, path = "/v1/jobs/{id}", tag = "integration",
    security(("operatorKey" = [])),
    params(("id" = String, Path, description = "The job's id")),
    request_body = JobBody,
    responses(
        (status = 200, description = "Updated", body = JobView),
        (status = 201, description = "Created", body = JobView),
        (status = 422, description = "policy_violation: blocked or held, nothing stored", body = ErrorBody),
    ))]
pub async fn put_job(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<JobBody>,
) -> ApiResult<(StatusCode, Json<JobView>)> {
    auth::operator(&s, &headers)?;
    let id = auth::new_id(id)?;
    Ok(upserted(listings::put_job(&s, &id, b).await?))
}

/// Creates or updates a proposal; the cover letter is checked with the stage between the
/// job's organisation and the freelancer.
#[utoipa::path(put, path = "/v1/proposals/{id}", tag = "integration",
    security(("operatorKey" = [])),
    params(("id" = String, Path, description = "The proposal's id")),
    request_body = ProposalBody,
    responses(
        (status = 200, description = "Updated", body = ProposalView),
        (status = 201, description = "Created", body = ProposalView),
        (status = 422, description = "policy_violation: blocked or held, nothing stored", body = ErrorBody),
    ))]
pub async fn put_proposal(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<ProposalBody>,
) -> ApiResult<(StatusCode, Json<ProposalView>)> {
    auth::operator(&s, &headers)?;
    let id = auth::new_id(id)?;
    Ok(upserted(listings::put_proposal(&s, &id, b).await?))
}

/// Creates or updates an invite; the message is checked with the stage between the
/// organisation and the freelancer.
#[utoipa::path(put, path = "/v1/invites/{id}", tag = "integration",
    security(("operatorKey" = [])),
    params(("id" = String, Path, description = "The invite's id")),
    request_body = InviteBody,
    responses(
        (status = 200, description = "Updated", body = InviteView),
        (status = 201, description = "Created", body = InviteView),
        (status = 422, description = "policy_violation: blocked or held, nothing stored", body = ErrorBody),
    ))]
pub async fn put_invite(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<InviteBody>,
) -> ApiResult<(StatusCode, Json<InviteView>)> {
    auth::operator(&s, &headers)?;
    let id = auth::new_id(id)?;
    Ok(upserted(listings::put_invite(&s, &id, b).await?))
}
