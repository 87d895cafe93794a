//! Who may act on whom: a user reports only people they share a conversation with (reports of a
//! message or a conversation already need its membership, checked by the store). A stranger's
//! id and an unknown id answer alike (404 `not_found`, "user not found"), so ids cannot be
//! enumerated through reports.

use crate::{ApiError, ApiResult, AppState};
use parley_store::ReportTarget;

/// 404 "user not found" when `target` is a user `me` shares no conversation with.
pub async fn ensure_may_report(s: &AppState, me: &str, target: &ReportTarget) -> ApiResult<()> {
    if let ReportTarget::User(user) = target {
        if user != me && !s.store().share_a_conversation(me, user).await? {
            return Err(ApiError::not_found("user"));
        }
    }
    Ok(())
}
