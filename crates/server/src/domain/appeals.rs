//! Appeals: free, one per enforcement, within the operator's window; decided by a person who
//! did not take the decision (see [`crate::domain::moderation`]).

use crate::domain::enforcement::AppealView;
use crate::domain::error::{store_conflict, DomainError, DomainResult};
use crate::domain::ids::{AppealId, EnforcementId, UserId};
use crate::AppState;
use parley_store::MAX_NOTE;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An enforcement as an appeal names it: `en_12`, `12` or the number 12.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum EnforcementRef {
    Text(String),
    Number(i64),
}

impl EnforcementRef {
    /// The enforcement, when the reference is well formed.
    pub fn id(&self) -> Option<EnforcementId> {
        match self {
            EnforcementRef::Text(x) => EnforcementId::parse(x),
            EnforcementRef::Number(n) => (*n > 0).then_some(EnforcementId(*n)),
        }
    }
}

/// `POST /v1/appeals`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealBody {
    pub enforcement_id: EnforcementRef,
    /// Why the user disagrees (1 to 2,000 bytes).
    pub statement: String,
}

/// The answer to an appeal.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Filed {
    pub appeal: AppealView,
}

/// Files `me`'s appeal (also used by the demo to seed one).
pub async fn file(s: &AppState, me: &UserId, b: AppealBody) -> DomainResult<Filed> {
    let id = b
        .enforcement_id
        .id()
        .ok_or_else(|| DomainError::not_found("enforcement"))?;
    let statement = b.statement.trim();
    if statement.is_empty() {
        return Err(DomainError::invalid("statement is empty"));
    }
    if statement.len() > MAX_NOTE {
        return Err(DomainError::too_large("statement", MAX_NOTE));
    }
    let a = s
        .store()
        .file_appeal(id.get(), me.as_str(), statement, s.now_ms())
        .await
        .map_err(store_conflict)?;
    tracing::info!(appeal = %AppealId(a.id), "appeal filed");
    Ok(Filed {
        appeal: AppealView::of(&a),
    })
}
