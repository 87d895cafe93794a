//! Users as the web UI shows them (the signed-in user, the demo's people).

use crate::domain::directory::RoleName;
use crate::domain::error::DomainResult;
use crate::AppState;
use parley_store::{Role, StoreError, User};
use serde::Serialize;
use utoipa::ToSchema;

/// An organisation as the web UI shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgCard {
    pub id: String,
    pub name: String,
    /// Null when the organisation is not known to the store.
    pub plan: Option<String>,
}

/// A user as the web UI shows it: id, display name, roles, organisation (name and plan),
/// locale.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserCard {
    pub id: String,
    pub name: String,
    #[schema(value_type = Vec<RoleName>)]
    pub roles: Vec<Role>,
    pub org: Option<OrgCard>,
    pub country: Option<String>,
    pub time_zone: Option<String>,
}

/// The card of a user.
pub async fn card(s: &AppState, u: &User) -> DomainResult<UserCard> {
    let org = match u.org_id.as_deref() {
        None => None,
        Some(id) => Some(match s.store().get_org(id).await {
            Ok(o) => OrgCard {
                id: o.id,
                name: o.name,
                plan: Some(o.plan),
            },
            Err(StoreError::NotFound(_)) => OrgCard {
                id: id.to_string(),
                name: id.to_string(),
                plan: None,
            },
            Err(e) => return Err(e.into()),
        }),
    };
    Ok(UserCard {
        id: u.id.clone(),
        name: u.name.clone(),
        roles: u.roles.clone(),
        org,
        country: u.country.clone(),
        time_zone: u.time_zone.clone(),
    })
}

/// The card of the user `me`.
pub async fn me(s: &AppState, me: &crate::domain::ids::UserId) -> DomainResult<UserCard> {
    let user = s.store().get_user(me.as_str()).await?;
    card(s, &user).await
}
