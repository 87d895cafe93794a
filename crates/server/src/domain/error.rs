//! The domain layer's one error type. The HTTP layer maps it to a status and a stable code
//! (`crate::error::ApiError`); nothing here knows about HTTP.

use crate::domain::ids::EnforcementId;
use parley_store::StoreError;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Why a domain operation did not happen. Nothing of the operation is stored when it fails.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The input breaks a rule of the API (a missing or malformed field).
    #[error("{0}")]
    Invalid(String),
    /// A field (or the whole) is larger than allowed.
    #[error("{0}")]
    TooLarge(String),
    /// Unknown, or not visible to the caller (non-members get this too).
    #[error("{0} not found")]
    NotFound(String),
    /// Not found, with a code of its own (`attachment_not_found`).
    #[error("{message}")]
    Missing { code: &'static str, message: String },
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Refused for a reason with its own stable code (`appeal_window_closed`).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    /// The operation conflicts with the current state (`already_resolved`, `same_reviewer`,
    /// `already_appealed`, `conflict`).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The policy blocked or held the text: nothing published.
    #[error("{}", .0.explanation)]
    PolicyViolation(Box<Violation>),
    /// The caller's messaging is restricted or suspended.
    #[error("{}", .0.message)]
    Restricted(Box<Restriction>),
    /// Something the server itself got wrong (e.g. seeding the demo).
    #[error("{0}")]
    Internal(String),
    /// The store failed (or refused, e.g. a duplicate).
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type DomainResult<T> = Result<T, DomainError>;

impl From<crate::domain::ids::IdError> for DomainError {
    fn from(e: crate::domain::ids::IdError) -> DomainError {
        DomainError::Invalid(e.0)
    }
}

impl DomainError {
    pub fn invalid(m: impl Into<String>) -> DomainError {
        DomainError::Invalid(m.into())
    }
    pub fn not_found(what: &str) -> DomainError {
        DomainError::NotFound(what.to_string())
    }
    pub fn too_large(field: &str, max: usize) -> DomainError {
        DomainError::TooLarge(format!("{field} is longer than {max} bytes"))
    }
    pub fn forbidden(m: impl Into<String>) -> DomainError {
        DomainError::Forbidden(m.into())
    }
    /// The stable code of an error answer.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::Invalid(_) => "invalid_request",
            DomainError::TooLarge(_) => "too_large",
            DomainError::NotFound(_) => "not_found",
            DomainError::Forbidden(_) => "forbidden",
            DomainError::Refused { code, .. }
            | DomainError::Conflict { code, .. }
            | DomainError::Missing { code, .. } => code,
            DomainError::PolicyViolation(_) => "policy_violation",
            DomainError::Restricted(_) => "restricted",
            DomainError::Internal(_) => "internal",
            DomainError::Store(_) => "store",
        }
    }
}

/// Maps the store's refusals that have their own codes.
pub fn store_conflict(e: StoreError) -> DomainError {
    match &e {
        StoreError::Conflict(m) if m == parley_store::ALREADY_RESOLVED => DomainError::Conflict {
            code: "already_resolved",
            message: m.clone(),
        },
        StoreError::Conflict(m) if m == parley_store::SAME_REVIEWER => DomainError::Conflict {
            code: "same_reviewer",
            message: m.clone(),
        },
        StoreError::Conflict(m) if m == parley_store::ALREADY_APPEALED => DomainError::Conflict {
            code: "already_appealed",
            message: m.clone(),
        },
        StoreError::Forbidden(m) if *m == parley_store::APPEAL_WINDOW_CLOSED => {
            DomainError::Refused {
                code: "appeal_window_closed",
                message: m.to_string(),
            }
        }
        _ => DomainError::Store(e),
    }
}

/// A blocked or held text: the action, what was found and the explanation (the 422 details).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Violation {
    /// `block` or `hold_for_review`.
    pub action: String,
    /// The findings (see `Finding`), with `message_ids` when split over several messages.
    #[schema(value_type = Vec<crate::domain::views::Finding>)]
    pub findings: Value,
    pub explanation: String,
}

/// A restriction in force (the 403 `restricted` details).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Restriction {
    #[serde(skip)]
    pub message: String,
    pub enforcement_id: EnforcementId,
    pub kind: String,
    /// Unix milliseconds; null: until further notice.
    pub ends_at: Option<i64>,
    /// The statement of reasons.
    #[schema(value_type = crate::domain::views::Statement)]
    pub statement: Value,
}
