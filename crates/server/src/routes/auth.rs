//! Who is calling: the operator (admin key), a user (token), or a moderator (either).

use crate::domain::ids::{TextId, UserId};
use crate::domain::moderation::OPERATOR;
use crate::{bearer, ApiError, ApiResult, AppState};
use axum::http::{HeaderMap, StatusCode};
use parley_store::Role;

/// The operator key (rate limited per key).
pub fn operator(s: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    s.require_admin(headers)
}

/// The user of the bearer token (rate limited per user).
pub async fn user(s: &AppState, headers: &HeaderMap) -> ApiResult<UserId> {
    let me = s.require_user(headers).await?;
    UserId::parse(me).map_err(|_| ApiError::unauthorized())
}

/// Whether the bearer credential is the operator key.
pub fn is_operator_key(s: &AppState, headers: &HeaderMap) -> bool {
    match (s.inner.config.admin_key.as_deref(), bearer(headers)) {
        (Some(key), Some(given)) => crate::constant_time_eq(given.as_bytes(), key.as_bytes()),
        _ => false,
    }
}

/// The moderator making a request: a user with the `moderator` role, or the operator key
/// (recorded as `operator`). 401 without valid credentials, 403 for everyone else.
pub async fn moderator(s: &AppState, headers: &HeaderMap) -> ApiResult<String> {
    if is_operator_key(s, headers) {
        s.require_admin(headers)?;
        return Ok(OPERATOR.to_string());
    }
    let me = user(s, headers).await?;
    let u = s.store().get_user(me.as_str()).await?;
    if !u.has_role(Role::Moderator) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "moderator role required",
        ));
    }
    Ok(me.into_string())
}

/// The id of an object to create or update, from a path segment (400 when malformed).
pub fn new_id<T: TextId>(s: String) -> ApiResult<T> {
    T::parse(s).map_err(|e| ApiError::bad_request(e.0))
}

/// The id of an existing object, from a path segment (404 `what` when malformed: no such
/// object can exist).
pub fn known_id<T: TextId>(s: String, what: &str) -> ApiResult<T> {
    T::parse(s).map_err(|_| ApiError::not_found(what))
}
