//! What callers see: the typed bodies of answers and events (messages as each viewer sees
//! them, conversations, findings, statements of reasons). Built from the store's records by the
//! domain; serialized unchanged by the routes and the WebSocket.

use parley_store::{Conversation, Message, MessageState};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// What the detector found in the author's original text, and the rule the policy applied
/// (documentation of the objects in `findings` arrays).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Finding {
    /// The policy rule applied.
    pub rule: String,
    /// The rule in words.
    pub rule_text: Option<String>,
    pub detector_rule: Option<String>,
    /// email, phone, link, handle, ...
    pub category: String,
    /// For links: the kind of link.
    pub kind: Option<String>,
    /// Byte offset in the original.
    pub start: usize,
    pub end: usize,
    /// The text found (the author's own).
    pub matched: Option<String>,
    pub confidence: f64,
    /// The confidence tier.
    pub tier: Option<String>,
    /// The action this finding led to.
    pub action: Option<String>,
    /// When the details were split over several messages: every message involved.
    pub message_ids: Option<Vec<i64>>,
}

/// A statement of reasons (DSA art. 17): the facts, the rule, whether automated means decided,
/// and how to appeal (documentation of the `statement` objects).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Statement {
    pub facts: String,
    pub rule: String,
    pub automated: bool,
    pub how_to_appeal: String,
    /// Unix milliseconds.
    pub appeal_deadline: i64,
    /// For an automated decision: what was found.
    pub findings: Option<Vec<Finding>>,
}

/// The state of a message.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageStateView {
    Delivered,
    Held,
    Rejected,
}

impl From<MessageState> for MessageStateView {
    fn from(s: MessageState) -> Self {
        match s {
            MessageState::Delivered => MessageStateView::Delivered,
            MessageState::Held => MessageStateView::Held,
            MessageState::Rejected => MessageStateView::Rejected,
        }
    }
}

/// A message as the viewer sees it: recipients get the delivered text; the author also gets
/// what they wrote and the decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Message)]
pub struct MessageView {
    pub id: i64,
    pub conversation_id: String,
    pub author_id: String,
    /// The author's only.
    pub client_id: Option<String>,
    pub purpose: Option<String>,
    pub state: MessageStateView,
    /// The original for the author, the delivered (maybe masked) text for the others; null
    /// once deleted.
    pub body: Option<String>,
    pub version: i64,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
    /// The policy's notice to recipients, when it gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub notice: Option<Value>,
    /// Author only: what the others see.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub delivered_body: Option<Option<String>>,
    /// Author only: the decision's action (allow, allow_with_notice, mask, hold_for_review,
    /// reject...).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub action: Option<Value>,
    /// Author only, when the decision had reasons (a masked or held message): what was hidden
    /// or held and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Finding>>)]
    pub findings: Option<Value>,
    /// Author only: the decision's explanation (a reviewer's for a rejected message).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub explanation: Option<Value>,
    /// Files attached to the message: for the author every one with its state; for the
    /// others those that are clean (scanned clean or approved by a moderator). Absent when
    /// none.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub attachments: Vec<crate::domain::attachments::AttachmentView>,
}

impl MessageView {
    /// `m` as `viewer` sees it: recipients get the delivered text only; the author also sees
    /// what they wrote and the decision (action, findings and explanation).
    pub fn of(m: &Message, viewer: &str) -> MessageView {
        let own = m.author_id == viewer;
        let deleted = m.deleted_at.is_some();
        let body = if deleted {
            None
        } else if own {
            Some(m.original.clone())
        } else {
            m.delivered.clone()
        };
        let decision = &m.decision["decision"];
        let field = |k: &str| Some(decision.get(k).cloned().unwrap_or(Value::Null));
        let mut v = MessageView {
            id: m.id,
            conversation_id: m.conversation_id.clone(),
            author_id: m.author_id.clone(),
            client_id: own.then(|| m.client_id.clone()),
            purpose: m.purpose.clone(),
            state: m.state.into(),
            body,
            version: m.version,
            created_at: m.created_at,
            edited_at: m.edited_at,
            deleted_at: m.deleted_at,
            notice: None,
            delivered_body: None,
            action: None,
            findings: None,
            explanation: None,
            attachments: Vec::new(),
        };
        if !deleted {
            v.notice = decision
                .get("recipient_notice")
                .filter(|n| !n.is_null())
                .cloned();
        }
        if own && !deleted {
            v.delivered_body = Some(m.delivered.clone());
            v.action = field("action");
            if m.state == MessageState::Rejected {
                // The reviewer's reasons (the statement of reasons is at /v1/me/enforcements).
                v.explanation = field("explanation");
            }
            // What was hidden or held and why, from the stored decision, so the author sees it
            // after a reload as right after sending.
            if let Some(reasons) = decision
                .get("reasons")
                .filter(|r| r.as_array().is_some_and(|a| !a.is_empty()))
            {
                v.findings = Some(reasons.clone());
                if v.explanation.is_none() {
                    v.explanation = field("explanation");
                }
            }
        }
        v
    }
}

/// What a conversation is about: `{kind, id, title}`; null for a direct conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ConversationRef)]
pub struct RefView {
    /// job, proposal, invite or contract.
    #[schema(value_type = String)]
    pub kind: parley_store::RefKind,
    pub id: String,
    /// Read live from the referenced object: the job's title (for a job, proposal, invite or
    /// contract; "Invite" / "Contract" without a job).
    pub title: Option<String>,
}

impl RefView {
    pub fn of(c: &Conversation) -> Option<RefView> {
        c.reference.as_ref().map(|r| RefView {
            kind: r.kind,
            id: r.id.clone(),
            title: c.ref_title.clone(),
        })
    }
}

/// A conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Conversation)]
pub struct ConversationView {
    pub id: String,
    pub subject: Option<String>,
    #[serde(rename = "ref")]
    pub reference: Option<RefView>,
    pub created_by: Option<String>,
    pub last_message_id: Option<i64>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

impl ConversationView {
    pub fn of(c: &Conversation) -> ConversationView {
        ConversationView {
            id: c.id.clone(),
            subject: c.subject.clone(),
            reference: RefView::of(c),
            created_by: c.created_by.clone(),
            last_message_id: c.last_message_id,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// The policy's decision on a text, as its author sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionSummary {
    /// allow, allow_with_notice, mask, block, hold_for_review.
    #[schema(value_type = String)]
    pub action: Value,
    #[schema(value_type = bool)]
    pub violation: Value,
    #[schema(value_type = String)]
    pub explanation: Value,
    #[schema(value_type = Vec<Finding>)]
    pub findings: Value,
    /// What recipients are told, when the policy tells them something.
    #[schema(value_type = Option<String>)]
    pub recipient_notice: Value,
    /// pre_contract, active_contract, ended_contract.
    #[schema(value_type = String)]
    pub stage: Value,
}
