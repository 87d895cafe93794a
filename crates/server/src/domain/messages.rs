//! Messages: posting (detector, policy per recipient, split contact details, the sender's
//! history; the message, its decision and its enforcement), editing, deleting, read markers,
//! typing, and checking a draft.

use crate::domain::attachments;
use crate::domain::decide::{parse_purpose, Checked};
use crate::domain::enforcement::{automated_enforcements, AutomatedSubject};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{ConversationId, MessageId, UserId, MAX_ID};
use crate::domain::standing::ensure_may_post;
use crate::domain::views::{DecisionSummary, MessageView};
use crate::{AppState, BusEvent};
use parley_policy::{Action, Surface};
use parley_store::{
    Message, MessageEdit, MessageState, NewDecision, NewMessage, StoreError, WINDOW_MOVED,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `POST /v1/conversations/{id}/messages`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostBody {
    /// The text (at most `max_message_bytes`); may be left out or empty only when the message
    /// carries attachments.
    #[serde(default)]
    pub body: Option<String>,
    /// The sender's idempotency key (1 to 128 bytes): the same key answers the same message.
    pub client_id: String,
    /// A declared purpose: `scoping_access:SYSTEM` or `legal_document`.
    pub purpose: Option<String>,
    /// Files to attach (at most 20): ids of the sender's finished uploads in this
    /// conversation (the last path segment of the upload's `Location`), each attached once.
    #[serde(default)]
    pub attachments: Vec<String>,
}

/// How a post ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    /// Delivered (maybe masked, or with a notice).
    Delivered,
    /// Held for a moderator's review.
    Held,
}

/// A stored message and the decision on it, as its author sees them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageDecision {
    pub message: MessageView,
    pub decision: DecisionSummary,
}

fn check_len(field: &str, v: &str, max: usize) -> DomainResult<()> {
    if v.len() > max {
        return Err(DomainError::too_large(field, max));
    }
    Ok(())
}

/// The decision on a new text in a conversation: per recipient, completed by the sender's
/// recent messages (contact details split over several messages).
async fn decide_new(
    s: &AppState,
    conv: &str,
    me: &str,
    text: &str,
    client_id: Option<&str>,
    purpose: Option<parley_policy::Purpose>,
) -> DomainResult<Checked> {
    let alone = s.decide_message(conv, me, text, purpose.clone()).await?;
    s.check_split(conv, me, text, client_id, purpose, alone)
        .await
}

/// Posts a message as `me`. A block stores the decision and its enforcement (one transaction)
/// and answers the violation; a hold stores the message for review; otherwise the message is
/// delivered to every member (masked when the policy says so, committed with the mask's
/// enforcement in one transaction).
pub async fn post(
    s: &AppState,
    conversation: &ConversationId,
    me: &UserId,
    b: PostBody,
) -> DomainResult<(Posted, MessageDecision)> {
    let (conv, me) = (conversation.as_str(), me.as_str());
    let body = b.body.unwrap_or_default();
    check_len("body", &body, s.inner.config.max_message_bytes)?;
    check_len("client_id", &b.client_id, MAX_ID)?;
    if body.trim().is_empty() && b.attachments.is_empty() {
        return Err(DomainError::invalid("body is empty"));
    }
    if b.client_id.is_empty() {
        return Err(DomainError::invalid("client_id is empty"));
    }
    let purpose = parse_purpose(b.purpose.as_deref())?;
    ensure_may_post(s, me).await?;
    if !b.attachments.is_empty() {
        if !s.store().is_member(conv, me).await? {
            return Err(DomainError::not_found("conversation"));
        }
        attachments::check(s, conv, me, &b.client_id, &b.attachments).await?;
    }
    let mut moved = 0;
    let (c, out) = loop {
        // Several nodes: the head of the sender's window is read before the window, and the write
        // fails when the sender posted here since; decided again (at most 3 times) on the new one.
        let guard = s.window_guard(conv, me).await?;
        let c = decide_new(s, conv, me, &body, Some(&b.client_id), purpose.clone()).await?;
        if c.action() == Action::Block {
            // The decision and the block's enforcement (its strike, the restriction it reaches)
            // commit together; the blocked text is kept in the enforcement for an appeal.
            let subject = AutomatedSubject {
                kind: "message",
                id: None,
                conversation_id: Some(conv),
                message_id: None,
                decision_id: None,
                blocked: Some((&body, b.purpose.as_deref())),
            };
            let drafts = automated_enforcements(s, me, &subject, &c).await?;
            let decided = s
                .store()
                .record_decision_enforced(
                    &NewDecision {
                        subject_kind: "message".into(),
                        subject_id: None,
                        conversation_id: Some(conv.into()),
                        message_id: None,
                        message_version: None,
                        actor_id: Some(me.into()),
                        decision: c.input("message"),
                    },
                    &drafts,
                )
                .await?;
            notify_enforced(s, &decided.enforcements);
            tracing::info!(conversation = %conv, user = %me, "message blocked");
            return Err(c.violation_error());
        }
        let held = c.action() == Action::HoldForReview;
        // A masked message commits with its enforcement (the store links it to the message and
        // to the decision stored with it).
        let drafts = if c.action() == Action::Mask {
            let subject = AutomatedSubject {
                kind: "message",
                id: None,
                conversation_id: Some(conv),
                message_id: None,
                decision_id: None,
                blocked: None,
            };
            automated_enforcements(s, me, &subject, &c).await?
        } else {
            Vec::new()
        };
        let r = s
            .store()
            .post_message_guarded(
                &NewMessage {
                    conversation_id: conv.into(),
                    author_id: me.into(),
                    client_id: b.client_id.clone(),
                    purpose: b.purpose.clone().filter(|p| !p.trim().is_empty()),
                    delivered: (!held).then(|| c.delivered(&body)),
                    original: body.clone(),
                    state: if held {
                        MessageState::Held
                    } else {
                        MessageState::Delivered
                    },
                    decision: c.input("message"),
                    created_at: None,
                },
                &drafts,
                &b.attachments,
                guard.filter(|_| moved < 3),
            )
            .await;
        match r {
            Err(StoreError::Conflict(m)) if m == WINDOW_MOVED => moved += 1,
            r => break (c, r.map_err(attachments::store_error)?),
        }
    };
    let posted = out.posted;
    let m = &posted.message;
    if posted.created {
        s.remember_for_window(m);
        // A message with files goes through the recipients' event logs, which read its
        // attachments; the others are handed over as they are.
        let seqs = if b.attachments.is_empty() {
            &posted.event_seqs[..]
        } else {
            &[]
        };
        fan_out(s, conv, me, m, seqs).await;
        notify_enforced(s, &out.enforcements);
    }
    tracing::info!(
        conversation = %conv,
        message_id = m.id,
        action = c.decision.action.as_str(),
        retry = !posted.created,
        "message posted"
    );
    let how = if m.state == MessageState::Held {
        Posted::Held
    } else {
        Posted::Delivered
    };
    // On a retry, the decision is the stored one.
    let decision = if posted.created {
        c.summary(Some(m.id))
    } else {
        stored_summary(m)
    };
    let mut view = [MessageView::of(m, me)];
    attachments::fill(s, &mut view, me).await?;
    let [message] = view;
    Ok((how, MessageDecision { message, decision }))
}

/// Tells the users of new enforcements (each has `enforcement.created` in its event log).
fn notify_enforced(s: &AppState, list: &[parley_store::Enforcement]) {
    if !list.is_empty() {
        s.notify(list.iter().map(|e| e.user_id.clone()));
        tracing::info!(enforcements = list.len(), "automated enforcement");
    }
}

/// Recipients whose event is known get the message itself (no read back); the others are told
/// to read their log.
async fn fan_out(s: &AppState, conv: &str, me: &str, m: &Message, event_seqs: &[(String, i64)]) {
    for (user_id, seq) in event_seqs {
        s.inner.bus.publish(BusEvent::Message {
            user_id: user_id.clone(),
            seq: *seq,
            message: Box::new(m.clone()),
        });
    }
    if event_seqs.is_empty() {
        match s.send_context(conv, me).await {
            Ok(ctx) => s.notify(ctx.members.iter().cloned()),
            Err(_) => notify_members(s, conv).await,
        }
    }
}

/// A stored message's decision as its author sees it (a retried post).
fn stored_summary(m: &Message) -> DecisionSummary {
    let d = &m.decision["decision"];
    DecisionSummary {
        action: d["action"].clone(),
        violation: d["violation"].clone(),
        explanation: d["explanation"].clone(),
        findings: d["reasons"].clone(),
        recipient_notice: d.get("recipient_notice").cloned().unwrap_or(Value::Null),
        stage: m.decision["stage"].clone(),
    }
}

/// Tells every member of a conversation to read their event log.
pub async fn notify_members(s: &AppState, conversation_id: &str) {
    match s.store().conversation_members(conversation_id).await {
        Ok(members) => s.notify(members.into_iter().map(|m| m.user_id)),
        Err(e) => tracing::warn!(error = %e, "could not list members for fan-out"),
    }
}

/// The message, if `me` can see it and it belongs to this conversation (NotFound otherwise).
async fn message_in(s: &AppState, conv: &str, mid: MessageId, me: &str) -> DomainResult<Message> {
    if !s.store().is_member(conv, me).await? {
        return Err(DomainError::not_found("conversation"));
    }
    let m = s.store().get_message(mid.get(), me).await?;
    if m.conversation_id != conv {
        return Err(DomainError::not_found("message"));
    }
    Ok(m)
}

/// `PATCH /v1/conversations/{id}/messages/{message_id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditBody {
    pub body: String,
}

/// Edits `me`'s own message; the new text is checked again.
pub async fn edit(
    s: &AppState,
    conversation: &ConversationId,
    mid: MessageId,
    me: &UserId,
    b: EditBody,
) -> DomainResult<(Posted, MessageDecision)> {
    let (id, me) = (conversation.as_str(), me.as_str());
    let m = message_in(s, id, mid, me).await?;
    check_len("body", &b.body, s.inner.config.max_message_bytes)?;
    if b.body.trim().is_empty() {
        return Err(DomainError::invalid("body is empty"));
    }
    if m.author_id != me {
        return Err(DomainError::forbidden("only the author can edit a message"));
    }
    ensure_may_post(s, me).await?;
    let purpose = parse_purpose(m.purpose.as_deref()).unwrap_or(None);
    let c = s.decide_message(id, me, &b.body, purpose).await?;
    if c.action() == Action::Block {
        s.store()
            .record_decision(&NewDecision {
                subject_kind: "message".into(),
                subject_id: Some(m.id.to_string()),
                conversation_id: Some(id.into()),
                message_id: Some(m.id),
                message_version: None,
                actor_id: Some(me.into()),
                decision: c.input("message"),
            })
            .await?;
        return Err(c.violation_error());
    }
    let held = c.action() == Action::HoldForReview;
    let edited = s
        .store()
        .edit_message(
            m.id,
            me,
            &MessageEdit {
                delivered: (!held).then(|| c.delivered(&b.body)),
                original: b.body,
                state: if held {
                    MessageState::Held
                } else {
                    MessageState::Delivered
                },
                decision: c.input("message"),
            },
        )
        .await?;
    notify_members(s, id).await;
    let how = if held {
        Posted::Held
    } else {
        Posted::Delivered
    };
    let mut view = [MessageView::of(&edited, me)];
    attachments::fill(s, &mut view, me).await?;
    let [message] = view;
    Ok((
        how,
        MessageDecision {
            message,
            decision: c.summary(None),
        },
    ))
}

/// A deleted message (a tombstone).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Deleted {
    pub message: MessageView,
}

/// Deletes `me`'s own message.
pub async fn delete(
    s: &AppState,
    conversation: &ConversationId,
    mid: MessageId,
    me: &UserId,
) -> DomainResult<Deleted> {
    let (id, me) = (conversation.as_str(), me.as_str());
    let m = message_in(s, id, mid, me).await?;
    if m.author_id != me {
        return Err(DomainError::forbidden(
            "only the author can delete a message",
        ));
    }
    let d = s.store().delete_message(m.id, me).await?;
    notify_members(s, id).await;
    Ok(Deleted {
        message: MessageView::of(&d, me),
    })
}

/// `POST /v1/conversations/{id}/read`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadBody {
    pub message_id: i64,
}

/// My read marker in a conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadMarker {
    pub conversation_id: String,
    pub user_id: String,
    pub last_read_message_id: i64,
    pub unread: i64,
}

/// Moves `me`'s read marker.
pub async fn mark_read(
    s: &AppState,
    conversation: &ConversationId,
    me: &UserId,
    b: ReadBody,
) -> DomainResult<ReadMarker> {
    let r = s
        .store()
        .mark_read(conversation.as_str(), me.as_str(), b.message_id)
        .await?;
    notify_members(s, conversation.as_str()).await;
    Ok(ReadMarker {
        conversation_id: r.conversation_id,
        user_id: r.user_id,
        last_read_message_id: r.last_read_message_id,
        unread: r.unread,
    })
}

/// Tells the other members that `me` is typing (NotFound unless a member).
pub async fn typing(s: &AppState, conv: &str, me: &str) -> DomainResult<()> {
    if !s.store().is_member(conv, me).await? {
        return Err(DomainError::not_found("conversation"));
    }
    if !s.inner.typing.allow(conv, me) {
        return Ok(()); // coalesced: the members heard this typing less than a second ago
    }
    for m in s.store().conversation_members(conv).await? {
        if m.user_id != me {
            s.inner.bus.publish(BusEvent::Typing {
                user_id: m.user_id,
                conversation_id: conv.to_string(),
                from: me.to_string(),
            });
        }
    }
    Ok(())
}

/// `POST /v1/check`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    pub body: String,
    /// Decide as a message in this conversation (per recipient, with split details).
    pub conversation_id: Option<ConversationId>,
    pub purpose: Option<String>,
    /// Without a conversation: the surface (default `message`, pre-contract).
    pub surface: Option<String>,
}

/// The decision a draft would get.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckResult {
    #[serde(flatten)]
    pub decision: DecisionSummary,
    /// What recipients would see when masked.
    pub masked_body: Option<String>,
}

/// Checks a draft without sending it.
pub async fn check_draft(s: &AppState, me: &UserId, b: CheckBody) -> DomainResult<CheckResult> {
    let me = me.as_str();
    check_len("body", &b.body, s.inner.config.max_message_bytes)?;
    let purpose = parse_purpose(b.purpose.as_deref())?;
    let c = match &b.conversation_id {
        Some(conv) => decide_new(s, conv.as_str(), me, &b.body, None, purpose).await?,
        None => {
            let surface = match b.surface.as_deref() {
                None => Surface::Message,
                Some(x) => Surface::parse(x)
                    .ok_or_else(|| DomainError::invalid(format!("unknown surface {x:?}")))?,
            };
            let user = s.store().get_user(me).await?;
            let plan = s.plan_of(user.org_id.as_deref()).await?;
            s.decide(
                &b.body,
                surface,
                parley_policy::Stage::PreContract,
                &plan,
                purpose,
            )
        }
    };
    Ok(CheckResult {
        decision: c.summary(None),
        masked_body: c.decision.masked_text.clone(),
    })
}
