//! The calls of a conversation as its members see them: the call cards (who called, how it
//! ended, how long it lasted, what media was used).

use crate::domain::ids::{ConversationId, UserId};
use crate::domain::{DomainError, DomainResult};
use crate::AppState;
use parley_store::CallRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One call (metadata only: no SDP, no ICE candidates, no addresses, no media).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallView {
    pub id: String,
    pub conversation_id: String,
    pub caller_id: String,
    /// Who took part (the caller first).
    pub parties: Vec<String>,
    pub video: bool,
    /// ringing, active or ended.
    pub state: String,
    /// Unix ms.
    pub created_at: i64,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    /// completed, canceled, no_answer, declined, busy, failed, ice_failed.
    pub end_reason: Option<String>,
    pub duration_ms: Option<i64>,
    pub audio_used: bool,
    pub video_used: bool,
    pub screen_used: bool,
    /// Media went through a TURN relay (null: not reported).
    pub relayed: Option<bool>,
}

impl CallView {
    pub fn of(r: CallRecord) -> CallView {
        let state = match (r.ended_at, r.answered_at) {
            (Some(_), _) => "ended",
            (None, Some(_)) => "active",
            (None, None) => "ringing",
        };
        CallView {
            state: state.into(),
            id: r.id,
            conversation_id: r.conversation_id,
            caller_id: r.caller_id,
            parties: r.parties,
            video: r.video,
            created_at: r.created_at,
            answered_at: r.answered_at,
            ended_at: r.ended_at,
            end_reason: r.end_reason,
            duration_ms: r.duration_ms,
            audio_used: r.audio_used,
            video_used: r.video_used,
            screen_used: r.screen_used,
            relayed: r.relayed,
        }
    }
}

/// `GET /v1/conversations/{id}/calls` parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallsParams {
    /// 1 to 500 (default 50).
    pub limit: Option<u32>,
}

/// `GET /v1/conversations/{id}/calls`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallList {
    /// Newest first.
    pub calls: Vec<CallView>,
    /// The call in progress in this conversation (on this node), if any.
    pub current: Option<String>,
}

/// The calls of a conversation, for a member (404 otherwise).
pub async fn of_conversation(
    s: &AppState,
    me: &UserId,
    conv: &ConversationId,
    q: CallsParams,
) -> DomainResult<CallList> {
    if !s.store().is_member(conv.as_str(), me.as_str()).await? {
        return Err(DomainError::not_found("conversation"));
    }
    let calls = s
        .store()
        .conversation_calls(conv.as_str(), q.limit.unwrap_or(50).clamp(1, 500))
        .await?;
    Ok(CallList {
        calls: calls.into_iter().map(CallView::of).collect(),
        current: s.inner.calls.of_conversation(conv.as_str()),
    })
}
