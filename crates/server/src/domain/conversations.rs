//! Conversations: created by the operator, listed and read by their members.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{ConversationId, UserId};
use crate::domain::views::{ConversationView, MessageView, RefView};
use crate::{AppState, Invalidation};
use parley_store::{ConversationCursor, ConversationRef, NewConversation, Role};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

const MAX_MEMBERS: usize = 100;
const MAX_SUBJECT: usize = 200;

/// What a conversation is about (a job, proposal, invite or contract of the marketplace).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = NewConversationRef)]
pub struct RefBody {
    /// job, proposal, invite or contract.
    #[schema(value_type = String)]
    pub kind: parley_store::RefKind,
    pub id: String,
}

/// `POST /v1/conversations`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConversationBody {
    /// The members' user ids (1 to 100; each must exist).
    pub members: Vec<UserId>,
    /// At most 200 bytes.
    pub subject: Option<String>,
    #[serde(rename = "ref")]
    pub reference: Option<RefBody>,
    pub created_by: Option<UserId>,
}

/// The answer to `POST /v1/conversations`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Created {
    pub id: String,
    pub conversation: ConversationView,
}

/// Creates a conversation (operator).
pub async fn create(s: &AppState, b: NewConversationBody) -> DomainResult<Created> {
    if b.members.is_empty() || b.members.len() > MAX_MEMBERS {
        return Err(DomainError::invalid(
            "a conversation needs 1 to 100 members",
        ));
    }
    if let Some(subj) = &b.subject {
        if subj.len() > MAX_SUBJECT {
            return Err(DomainError::too_large("subject", MAX_SUBJECT));
        }
    }
    let c = s
        .store()
        .create_conversation(&NewConversation {
            members: b.members.into_iter().map(UserId::into_string).collect(),
            subject: b.subject,
            reference: b.reference.map(|r| ConversationRef {
                kind: r.kind,
                id: r.id,
            }),
            created_by: b.created_by.map(UserId::into_string),
        })
        .await?;
    s.invalidate(Invalidation::Contexts);
    Ok(Created {
        id: c.id.clone(),
        conversation: ConversationView::of(&c),
    })
}

/// `GET /v1/conversations` parameters: a page before the cursor of the previous page.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
    /// With `before_id`: the `next` cursor of the previous page.
    pub before_updated_at: Option<i64>,
    pub before_id: Option<String>,
}

/// One conversation in my inbox.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxEntry {
    pub id: String,
    pub subject: Option<String>,
    #[serde(rename = "ref")]
    pub reference: Option<RefView>,
    pub members: Vec<String>,
    pub updated_at: i64,
    pub last_message: Option<MessageView>,
    pub unread: i64,
    pub last_read_message_id: i64,
}

/// The cursor of the next page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxCursor {
    pub updated_at: i64,
    pub id: String,
}

/// `GET /v1/conversations`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Inbox {
    pub conversations: Vec<InboxEntry>,
    /// Null on the last page.
    pub next: Option<InboxCursor>,
}

/// My conversations, most recent first.
pub async fn inbox(s: &AppState, me: &UserId, q: ListParams) -> DomainResult<Inbox> {
    let cursor = match (q.before_updated_at, q.before_id) {
        (Some(updated_at), Some(id)) => Some(ConversationCursor { updated_at, id }),
        (None, None) => None,
        _ => {
            return Err(DomainError::invalid(
                "before_updated_at and before_id go together",
            ))
        }
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let list = s
        .store()
        .list_conversations(me.as_str(), cursor.as_ref(), limit)
        .await?;
    let next = (list.len() == limit as usize)
        .then(|| list.last().map(|l| l.cursor()))
        .flatten()
        .map(|c| InboxCursor {
            updated_at: c.updated_at,
            id: c.id,
        });
    let mut conversations: Vec<InboxEntry> = list
        .iter()
        .map(|c| InboxEntry {
            id: c.conversation.id.clone(),
            subject: c.conversation.subject.clone(),
            reference: RefView::of(&c.conversation),
            members: c.members.clone(),
            updated_at: c.conversation.updated_at,
            last_message: c
                .last_message
                .as_ref()
                .map(|m| MessageView::of(m, me.as_str())),
            unread: c.unread,
            last_read_message_id: c.last_read_message_id,
        })
        .collect();
    let last = conversations
        .iter_mut()
        .filter_map(|c| c.last_message.as_mut())
        .collect();
    crate::domain::attachments::fill_each(s, last, me.as_str()).await?;
    Ok(Inbox {
        conversations,
        next,
    })
}

/// A member as the other members see them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    pub id: String,
    pub name: String,
    pub org_id: Option<String>,
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<Role>,
    pub time_zone: Option<String>,
    pub last_read_message_id: i64,
}

/// `GET /v1/conversations/{id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationDetail {
    pub conversation: ConversationView,
    pub members: Vec<MemberView>,
}

/// One conversation with its members (NotFound for non-members).
pub async fn get(
    s: &AppState,
    me: &UserId,
    id: &ConversationId,
) -> DomainResult<ConversationDetail> {
    let c = s
        .store()
        .get_conversation_for(id.as_str(), me.as_str())
        .await?;
    let members = s.store().conversation_members(id.as_str()).await?;
    let ids: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
    let users = s.store().get_users(&ids).await?;
    let members = users
        .into_iter()
        .map(|u| {
            let read = members
                .iter()
                .find(|m| m.user_id == u.id)
                .map_or(0, |m| m.last_read_message_id);
            MemberView {
                id: u.id,
                name: u.name,
                org_id: u.org_id,
                roles: u.roles,
                time_zone: u.time_zone,
                last_read_message_id: read,
            }
        })
        .collect();
    Ok(ConversationDetail {
        conversation: ConversationView::of(&c),
        members,
    })
}

/// `GET /v1/conversations/{id}/messages` parameters (message id cursors).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesParams {
    /// Messages before this id.
    pub before: Option<i64>,
    /// Messages after this id.
    pub after: Option<i64>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// A page of messages, newest last.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessagesPage {
    pub messages: Vec<MessageView>,
    pub has_more: bool,
}

/// A page of a conversation's messages as `me` sees them (NotFound for non-members).
pub async fn messages(
    s: &AppState,
    me: &UserId,
    id: &ConversationId,
    q: MessagesParams,
) -> DomainResult<MessagesPage> {
    let page = s
        .store()
        .list_messages(
            id.as_str(),
            me.as_str(),
            &parley_store::PageRequest {
                before: q.before,
                after: q.after,
                limit: q.limit.unwrap_or(50).clamp(1, 200),
            },
        )
        .await?;
    let mut messages: Vec<MessageView> = page
        .messages
        .iter()
        .map(|m| MessageView::of(m, me.as_str()))
        .collect();
    crate::domain::attachments::fill(s, &mut messages, me.as_str()).await?;
    Ok(MessagesPage {
        messages,
        has_more: page.has_more,
    })
}
