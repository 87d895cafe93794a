//! The integration API (operator key): organisations, users, their tokens, contracts.
//! PUTs are idempotent: 201 when created, 200 when updated.

use crate::domain::directory::{
    self, ContractBody, ContractView, IssuedToken, OrgBody, OrgView, Revoked, TokenBody, Upserted,
    UserBody, UserView,
};
use crate::error::{ErrorBody, Json, Path};
use crate::routes::auth;
use crate::{ApiError, ApiResult, AppState};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_org))
        .routes(routes!(put_user))
        .routes(routes!(create_token, revoke_tokens))
        .routes(routes!(put_contract))
}

/// 201 when created, 200 when updated.
pub fn upserted<T>(u: Upserted<T>) -> (StatusCode, Json<T>) {
    let status = if u.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(u.value))
}

/// Creates or updates an organisation.
#[utoipa::path(put, path = "/v1/orgs/{id}", tag = "integration",
    security(("operatorKey" = [])),
    params(("id" = String, Path, description = "The organisation's id")),
    request_body = OrgBody,
    responses(
        (status = 200, description = "Updated", body = OrgView),
        (status = 201, description = "Created", body = OrgView),
    ))]
pub async fn put_org(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<OrgBody>,
) -> ApiResult<(StatusCode, Json<OrgView>)> {
    auth::operator(&s, &headers)?;
    let id = auth::new_id(id)?;
    crate::ident::check_name("name", &b.name)?;
    Ok(upserted(directory::put_org(&s, &id, b).await?))
}

/// Creates or updates a user.
#[utoipa::path(put, path = "/v1/users/{id}", tag = "integration",
    security(("operatorKey" = [])),
    params(("id" = String, Path, description = "The user's id")),
    request_body = UserBody,
    responses(
        (status = 200, description = "Updated", body = UserView),
        (status = 201, description = "Created", body = UserView),
    ))]
pub async fn put_user(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<UserBody>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    auth::operator(&s, &headers)?;
    let id = auth::new_id(id)?;
    crate::ident::check_name("name", &b.name)?;
    Ok(upserted(directory::put_user(&s, &id, b).await?))
}

/// Issues a token for the user (the body may be empty).
#[utoipa::path(post, path = "/v1/users/{id}/tokens", tag = "integration",
    security(("operatorKey" = [])),
    params(("id" = String, Path, description = "The user's id")),
    request_body(content = Option<TokenBody>, description = "Optional: lifetime and label"),
    responses(
        (status = 201, body = IssuedToken),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub async fn create_token(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<IssuedToken>)> {
    auth::operator(&s, &headers)?;
    let b: TokenBody = if body.iter().all(u8::is_ascii_whitespace) {
        TokenBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(e.to_string()))?
    };
    let id = auth::known_id(id, "user")?;
    Ok((
        StatusCode::CREATED,
        Json(directory::issue_token(&s, &id, b).await?),
    ))
}

/// Revokes all the user's tokens (on every node at once).
#[utoipa::path(delete, path = "/v1/users/{id}/tokens", tag = "integration",
    security(("operatorKey" = [])),
    params(("id" = String, Path, description = "The user's id")),
    responses((status = 200, body = Revoked)))]
pub async fn revoke_tokens(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Revoked>> {
    auth::operator(&s, &headers)?;
    let id = auth::known_id(id, "user")?;
    Ok(Json(directory::revoke_tokens(&s, &id).await?))
}

/// Creates or updates a contract (`offered`, `active`, `ended`).
#[utoipa::path(put, path = "/v1/contracts/{id}", tag = "integration",
    security(("operatorKey" = [])),
    params(("id" = String, Path, description = "The contract's id")),
    request_body = ContractBody,
    responses(
        (status = 200, description = "Updated", body = ContractView),
        (status = 201, description = "Created", body = ContractView),
    ))]
pub async fn put_contract(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<ContractBody>,
) -> ApiResult<(StatusCode, Json<ContractView>)> {
    auth::operator(&s, &headers)?;
    let id = auth::new_id(id)?;
    Ok(upserted(directory::put_contract(&s, &id, b).await?))
}
