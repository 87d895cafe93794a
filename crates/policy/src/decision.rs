//! What [`crate::Policy::decide`] answers: a [`Decision`] with its reasons, and the exceptions
//! that let a finding through.

use crate::context::{Strike, Surface, UnixSeconds};
use crate::model::{Action, Tier};
use parley_detect::{Category, LinkKind};
use serde::{Deserialize, Serialize};

/// Why a finding was let through although it is contact information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// The client organisation's plan is exempt.
    ExemptPlan,
    /// A contract between the two parties is running.
    ActiveContract,
    /// A contract between the two parties has ended (the rule stays lifted).
    EndedContract,
    /// Declared access to a system needed for scoping.
    ScopingAccess,
    /// Declared legal document.
    LegalDocument,
    /// A portfolio link (allowed in proposals).
    Portfolio,
}

/// One finding that mattered to the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// The policy rule, e.g. `pre_contract.phone` or `pre_contract.link.meeting`.
    pub rule: String,
    /// The rule in words (from `[texts.rules]`).
    pub rule_text: String,
    /// The detector rule that fired, e.g. `phone.e164`.
    pub detector_rule: String,
    /// The category (for a link on a blocked domain: `link` with the blocked kind).
    pub category: Category,
    /// The link kind, for links.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub kind: Option<LinkKind>,
    /// Evidence span start (byte offset in the text).
    pub start: usize,
    /// Evidence span end (exclusive).
    pub end: usize,
    /// The evidence.
    pub matched: String,
    /// The detector's confidence.
    pub confidence: f32,
    /// The confidence tier.
    pub tier: Tier,
    /// The action this finding alone calls for.
    pub action: Action,
    /// False when a person decides (hold for review).
    pub automated: bool,
    /// The exception applied, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exception: Option<ExceptionKind>,
}

/// A share let through by a declared exception, to be recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedException {
    /// `scoping_access` or `legal_document`.
    pub kind: ExceptionKind,
    /// The system named for scoping access.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub system: Option<String>,
    /// What was shared.
    pub category: Category,
    /// Span start.
    pub start: usize,
    /// Span end.
    pub end: usize,
    /// The shared text.
    pub matched: String,
}

/// What happens to a text, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The surface the text was written on (decides whether it gives a strike,
    /// see `[escalation] surfaces`). Decisions stored before it was recorded
    /// read back as `message`.
    #[serde(default = "message_surface")]
    pub surface: Surface,
    /// The action.
    pub action: Action,
    /// False exactly when the action is `allow` or `allow_with_notice`.
    pub violation: bool,
    /// False when a person makes the final call (`hold_for_review`).
    pub automated: bool,
    /// The text with contact details replaced, when the action is `mask`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub masked_text: Option<String>,
    /// One per finding that mattered (allowed link kinds are left out).
    pub reasons: Vec<Reason>,
    /// For the sender: which words, which rule, and what they may do instead.
    pub explanation: String,
    /// For the recipient, when the text is delivered with a reminder.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub recipient_notice: Option<String>,
    /// Shares let through by a declared exception, to be recorded.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub recorded_exceptions: Vec<RecordedException>,
    /// The strike this decision gives the sender, if any (the server stores it).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub strike: Option<Strike>,
    /// The sender's escalation after this decision, when it is a violation.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub escalation: Option<Escalation>,
}

fn message_surface() -> Surface {
    Surface::Message
}

/// How far a sender's repeated violations have escalated.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum EscalationLevel {
    /// No active strikes above the notice threshold.
    #[default]
    None,
    /// The sender is warned.
    Notice,
    /// Masking is raised to blocking.
    Block,
    /// Messaging is restricted for a while.
    Restrict,
    /// Suspension is recommended to a reviewer.
    Suspend,
}

impl EscalationLevel {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationLevel::None => "none",
            EscalationLevel::Notice => "notice",
            EscalationLevel::Block => "block",
            EscalationLevel::Restrict => "restrict",
            EscalationLevel::Suspend => "suspend",
        }
    }
}

/// A sender's escalation state at a time.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Escalation {
    /// The level reached.
    pub level: EscalationLevel,
    /// Sum of the weights of the active strikes.
    pub points: u32,
    /// Number of active (unexpired) strikes.
    pub active_strikes: usize,
    /// When the active strikes expire if no new one comes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub strikes_expire_at: Option<UnixSeconds>,
    /// The end of the messaging restriction in force (the server enforces it).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub restricted_until: Option<UnixSeconds>,
    /// Whether suspension is recommended to a reviewer.
    pub recommend_suspension: bool,
}
