//! The marketplace's directory, synced by the operator: organisations, users, their tokens,
//! contracts.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{ObjectId, OrgId, UserId};
use crate::{AppState, Invalidation};
use parley_store::{ContractInput, ContractStatus, OrgInput, Role, UserInput};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const MAX_NAME: usize = 200;
const MAX_SHORT: usize = 128;

/// Whether an idempotent PUT created the object or updated it.
pub struct Upserted<T> {
    pub created: bool,
    pub value: T,
}

fn check_len(field: &str, v: &str, max: usize) -> DomainResult<()> {
    if v.len() > max {
        return Err(DomainError::too_large(field, max));
    }
    Ok(())
}

/// `PUT /v1/orgs/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgBody {
    /// At most 200 bytes.
    pub name: String,
    /// The operator's plan name (the policy may differ per plan).
    pub plan: String,
}

/// An organisation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Org)]
pub struct OrgView {
    pub id: String,
    pub name: String,
    pub plan: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Creates or updates an organisation.
pub async fn put_org(s: &AppState, id: &OrgId, b: OrgBody) -> DomainResult<Upserted<OrgView>> {
    check_len("name", &b.name, MAX_NAME)?;
    check_len("plan", &b.plan, MAX_SHORT)?;
    let u = s
        .store()
        .put_org(
            id.as_str(),
            &OrgInput {
                name: b.name,
                plan: b.plan,
            },
        )
        .await?;
    s.invalidate(Invalidation::Contexts);
    let o = u.value;
    Ok(Upserted {
        created: u.created,
        value: OrgView {
            id: o.id,
            name: o.name,
            plan: o.plan,
            created_at: o.created_at,
            updated_at: o.updated_at,
        },
    })
}

/// A role of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    Client,
    Freelancer,
    Moderator,
}

impl From<RoleName> for Role {
    fn from(r: RoleName) -> Role {
        match r {
            RoleName::Client => Role::Client,
            RoleName::Freelancer => Role::Freelancer,
            RoleName::Moderator => Role::Moderator,
        }
    }
}

/// `PUT /v1/users/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    /// At most 200 bytes.
    pub name: String,
    pub org_id: Option<OrgId>,
    #[serde(default)]
    pub roles: Vec<RoleName>,
    /// ISO 3166 country code.
    pub country: Option<String>,
    /// IANA time zone.
    pub time_zone: Option<String>,
}

/// A user.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserView {
    pub id: String,
    pub name: String,
    pub org_id: Option<String>,
    #[schema(value_type = Vec<RoleName>)]
    pub roles: Vec<Role>,
    pub country: Option<String>,
    pub time_zone: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl UserView {
    pub fn of(u: parley_store::User) -> UserView {
        UserView {
            id: u.id,
            name: u.name,
            org_id: u.org_id,
            roles: u.roles,
            country: u.country,
            time_zone: u.time_zone,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// Creates or updates a user.
pub async fn put_user(s: &AppState, id: &UserId, b: UserBody) -> DomainResult<Upserted<UserView>> {
    check_len("name", &b.name, MAX_NAME)?;
    let u = s
        .store()
        .put_user(
            id.as_str(),
            &UserInput {
                name: b.name,
                org_id: b.org_id.map(OrgId::into_string),
                roles: b.roles.into_iter().map(Role::from).collect(),
                country: b.country,
                time_zone: b.time_zone,
            },
        )
        .await?;
    s.invalidate(Invalidation::Contexts);
    Ok(Upserted {
        created: u.created,
        value: UserView::of(u.value),
    })
}

/// `POST /v1/users/{id}/tokens` (the body may be empty).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// Lifetime in seconds (default from the configuration; 1 s to 1 year).
    pub ttl_secs: Option<i64>,
    pub label: Option<String>,
}

/// A new token: shown once, never stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedToken {
    pub token: String,
    /// Unix milliseconds.
    pub expires_at: i64,
    /// The token's id (hex SHA-256 of the token).
    pub id: String,
}

/// Issues a token for a user.
pub async fn issue_token(s: &AppState, id: &UserId, b: TokenBody) -> DomainResult<IssuedToken> {
    let ttl = b
        .ttl_secs
        .unwrap_or(s.inner.config.token_ttl_secs)
        .clamp(1, 365 * 24 * 3600);
    s.store().get_user(id.as_str()).await?;
    let t = s
        .store()
        .create_token(
            id.as_str(),
            parley_store::now_ms().saturating_add(ttl.saturating_mul(1000)),
            b.label.as_deref(),
        )
        .await?;
    tracing::info!(user = %id, "token issued");
    Ok(IssuedToken {
        token: t.token,
        expires_at: t.info.expires_at,
        id: t.info.id,
    })
}

/// How many tokens were revoked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Revoked {
    pub revoked: u64,
}

/// Revokes every token of a user (on every node at once).
pub async fn revoke_tokens(s: &AppState, id: &UserId) -> DomainResult<Revoked> {
    let now = parley_store::now_ms();
    let n = s.store().revoke_all_tokens(id.as_str(), now).await?;
    s.invalidate(Invalidation::TokensValidAfter {
        user_id: id.to_string(),
        valid_after: now,
    });
    tracing::info!(user = %id, revoked = n, "tokens revoked");
    Ok(Revoked { revoked: n })
}

/// The state of a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContractState {
    Offered,
    Active,
    Ended,
}

impl From<ContractState> for ContractStatus {
    fn from(c: ContractState) -> ContractStatus {
        match c {
            ContractState::Offered => ContractStatus::Offered,
            ContractState::Active => ContractStatus::Active,
            ContractState::Ended => ContractStatus::Ended,
        }
    }
}

/// `PUT /v1/contracts/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractBody {
    pub client_org_id: OrgId,
    pub freelancer_id: UserId,
    pub status: ContractState,
    pub job_id: Option<ObjectId>,
}

/// A contract between a client organisation and a freelancer.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Contract)]
pub struct ContractView {
    pub id: String,
    pub client_org_id: String,
    pub freelancer_id: String,
    #[schema(value_type = ContractState)]
    pub status: ContractStatus,
    pub job_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Creates or updates a contract (the stage of every conversation between the two).
pub async fn put_contract(
    s: &AppState,
    id: &ObjectId,
    b: ContractBody,
) -> DomainResult<Upserted<ContractView>> {
    let u = s
        .store()
        .put_contract(
            id.as_str(),
            &ContractInput {
                client_org_id: b.client_org_id.into_string(),
                freelancer_id: b.freelancer_id.into_string(),
                status: b.status.into(),
                job_id: b.job_id.map(ObjectId::into_string),
            },
        )
        .await?;
    s.invalidate(Invalidation::Contexts);
    let c = u.value;
    Ok(Upserted {
        created: u.created,
        value: ContractView {
            id: c.id,
            client_org_id: c.client_org_id,
            freelancer_id: c.freelancer_id,
            status: c.status,
            job_id: c.job_id,
            created_at: c.created_at,
            updated_at: c.updated_at,
        },
    })
}
