//! Reports from users: filed against a message, a user or a conversation; duplicates of an open
//! target merge into one queue item.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{ConversationId, ItemId, MessageId, ReportId, UserId};
use crate::AppState;
use parley_store::{NewReport, ReportTarget, MAX_NOTE};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/reports`: exactly one of `message_id`, `user_id`, `conversation_id`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub message_id: Option<i64>,
    pub user_id: Option<UserId>,
    pub conversation_id: Option<ConversationId>,
    /// One of the operator's report reasons (`GET /v1/reports/reasons`).
    pub reason: String,
    /// At most 2,000 bytes.
    pub note: Option<String>,
}

/// What a report is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportTargetView {
    /// message, user or conversation.
    pub kind: String,
    pub id: String,
}

/// A filed report.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Report)]
pub struct ReportView {
    pub id: ReportId,
    /// The queue item it was filed into.
    pub item_id: ItemId,
    pub target: ReportTargetView,
    pub reason: String,
    pub note: Option<String>,
    pub created_at: i64,
}

/// The answer to a report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Filed {
    pub report: ReportView,
    /// True when it joined an open item about the same target.
    pub merged: bool,
}

/// A reason users may give.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReasonView {
    pub id: String,
    pub label: String,
}

/// `GET /v1/reports/reasons`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reasons {
    pub reasons: Vec<ReasonView>,
}

/// The operator's report reasons.
pub fn reasons(s: &AppState) -> Reasons {
    Reasons {
        reasons: s
            .inner
            .config
            .report_reasons
            .iter()
            .map(|r| ReasonView {
                id: r.id.clone(),
                label: r.label.clone(),
            })
            .collect(),
    }
}

/// Files `me`'s report (also used by the demo to seed one).
pub async fn file(s: &AppState, me: &UserId, b: ReportBody) -> DomainResult<Filed> {
    let target = match (b.message_id, b.user_id, b.conversation_id) {
        (Some(m), None, None) => ReportTarget::Message(
            MessageId::new(m)
                .ok_or_else(|| DomainError::not_found("message"))?
                .get(),
        ),
        (None, Some(u), None) => ReportTarget::User(u.into_string()),
        (None, None, Some(c)) => ReportTarget::Conversation(c.into_string()),
        _ => {
            return Err(DomainError::invalid(
                "give exactly one of message_id, user_id, conversation_id",
            ))
        }
    };
    ensure_may_report(s, me.as_str(), &target).await?;
    let reason = s
        .inner
        .config
        .report_reasons
        .iter()
        .find(|r| r.id == b.reason)
        .ok_or_else(|| {
            DomainError::invalid(format!(
                "unknown reason {:?} (see GET /v1/reports/reasons)",
                b.reason
            ))
        })?;
    let note = b.note.filter(|n| !n.trim().is_empty());
    if let Some(n) = &note {
        if n.len() > MAX_NOTE {
            return Err(DomainError::too_large("note", MAX_NOTE));
        }
    }
    let filed = s
        .store()
        .file_report(
            &NewReport {
                reporter_id: me.to_string(),
                target,
                reason: reason.id.clone(),
                note,
                priority: reason.priority,
            },
            s.now_ms(),
        )
        .await?;
    tracing::info!(item = %ItemId(filed.item.id), merged = filed.merged, "report filed");
    let r = &filed.report;
    Ok(Filed {
        report: ReportView {
            id: ReportId(r.id),
            item_id: ItemId(r.item_id),
            target: ReportTargetView {
                kind: r.target_kind.clone(),
                id: r.target_id.clone(),
            },
            reason: r.reason.clone(),
            note: r.note.clone(),
            created_at: r.created_at,
        },
        merged: filed.merged,
    })
}

/// A user reports only people they share a conversation with (reports of a message or a
/// conversation already need its membership, checked by the store). A stranger's id and an
/// unknown id answer alike (NotFound "user"), so ids cannot be enumerated through reports.
async fn ensure_may_report(s: &AppState, me: &str, target: &ReportTarget) -> DomainResult<()> {
    if let ReportTarget::User(user) = target {
        if user != me && !s.store().share_a_conversation(me, user).await? {
            return Err(DomainError::not_found("user"));
        }
    }
    Ok(())
}
