//! A user's standing: the enforcement history the policy escalates with, and whether they may
//! post now.

use crate::domain::clock::when;
use crate::domain::error::{DomainError, DomainResult, Restriction};
use crate::domain::ids::EnforcementId;
use crate::AppState;
use parley_policy::{Escalation, History, Strike};
use parley_store::UserSafety;

pub fn to_policy_history(safety: &UserSafety) -> History {
    History {
        strikes: safety
            .strikes
            .iter()
            .map(|s| Strike {
                at: s.at.div_euclid(1000),
                weight: u32::try_from(s.weight).unwrap_or(u32::MAX),
                categories: s.categories.clone(),
            })
            .collect(),
        restricted_until: safety
            .restrictions
            .iter()
            .filter_map(|r| r.ends_at)
            .max()
            .map(|e| e.div_euclid(1000)),
    }
}

/// The sender's enforcement history for the policy (strikes not removed by an appeal, the end
/// of a restriction in force).
pub async fn history_of(s: &AppState, user: &str) -> DomainResult<History> {
    let safety = s.store().user_safety(user, s.now_ms()).await?;
    Ok(to_policy_history(&safety))
}

/// 403 `restricted` (with the statement of reasons) when a restriction or suspension is in force.
pub async fn ensure_may_post(s: &AppState, user: &str) -> DomainResult<()> {
    let now = s.now_ms();
    if let Some(r) = s.store().active_restriction(user, now).await? {
        let until = match r.ends_at {
            Some(e) => format!("until {}", when(e)),
            None => "until further notice".to_string(),
        };
        return Err(DomainError::Restricted(Box::new(Restriction {
            message: format!("Your messaging is restricted {until}. You may appeal."),
            enforcement_id: EnforcementId(r.id),
            kind: r.kind,
            ends_at: r.ends_at,
            statement: r.statement,
        })));
    }
    Ok(())
}

pub fn escalation_at(s: &AppState, safety: &UserSafety, now: i64) -> Escalation {
    s.inner
        .policy
        .escalation(&to_policy_history(safety), now.div_euclid(1000))
}
