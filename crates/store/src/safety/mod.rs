//! Trust and safety: the review queue (held messages, reports, appeals), strikes, enforcements
//! with their statements of reasons, and appeals. Same conventions as the rest of the store: the
//! same SQL on both backends, timestamps in Unix milliseconds, every multi-row change in one
//! transaction.
//!
//! Held messages enter the queue by a database trigger (migration 2) in the transaction that
//! stores or edits them, whatever code path that is; reports merge into the open item of their
//! target (a partial unique index keeps one open item per target); an appeal opens an item of its
//! own. Resolving an item applies everything the decision implies (message review, enforcements,
//! strikes removed, a blocked message delivered) in one transaction.
//!
//! Files: the model here; `rows.rs` (columns, rows, checks, enforcement inserts);
//! `enforcements.rs`, `reports.rs` (reports and the queue), `appeals.rs`, `resolve.rs` (a
//! moderator's decision on an item), `stats.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::*;

#[macro_use]
mod rows;
mod appeals;
mod enforcements;
mod reports;
mod resolve;
mod stats;

pub(crate) use rows::{check_enforcement, enforcement_event_data, enforcement_of, fill_draft};
pub use stats::utc_day;

/// `Conflict` message when a queue item is already resolved (the server maps it to its own code).
pub const ALREADY_RESOLVED: &str = "the item is already resolved";
/// `Conflict` message when the moderator who enforced a decision tries to decide its appeal.
pub const SAME_REVIEWER: &str = "an appeal must be decided by another moderator";
/// `Conflict` message when an enforcement already has an appeal.
pub const ALREADY_APPEALED: &str = "this decision has already been appealed";
/// `Forbidden` reason when the appeal window has closed.
pub const APPEAL_WINDOW_CLOSED: &str = "the appeal window has closed";

/// Largest note, statement or reason text accepted (bytes).
pub const MAX_NOTE: usize = 4000;

// ---------------------------------------------------------------------------------------- model

/// What kind of work a queue item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A message the policy held for review.
    HeldMessage,
    /// One or more users reported a message, a conversation or a user.
    Report,
    /// A user appealed an enforcement.
    Appeal,
}

impl ItemKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::HeldMessage => "held_message",
            ItemKind::Report => "report",
            ItemKind::Appeal => "appeal",
        }
    }
    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<ItemKind> {
        match s {
            "held_message" => Some(ItemKind::HeldMessage),
            "report" => Some(ItemKind::Report),
            "appeal" => Some(ItemKind::Appeal),
            _ => None,
        }
    }
}

/// How a queue item was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// `approve`, `reject`, `warn`, `restrict`, `suspend`, or `withdrawn` (a held message
    /// edited or deleted by its author before review).
    pub action: String,
    pub note: Option<String>,
    /// `None` when nobody decided (withdrawn).
    pub moderator_id: Option<String>,
    pub at: Millis,
}

/// One item of the review queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModerationItem {
    pub id: i64,
    pub kind: ItemKind,
    /// True while waiting for a decision.
    pub open: bool,
    /// Higher first.
    pub priority: i64,
    /// `message`, `user`, `conversation` or `enforcement`.
    pub target_kind: String,
    pub target_id: String,
    /// The sender, reported user or appellant.
    pub subject_user_id: Option<String>,
    pub conversation_id: Option<String>,
    pub message_id: Option<i64>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub resolution: Option<Resolution>,
}

/// What a report is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportTarget {
    Message(i64),
    User(String),
    Conversation(String),
}

/// A report as filed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReport {
    pub reporter_id: String,
    pub target: ReportTarget,
    /// One of the operator's reasons (the server checks the list).
    pub reason: String,
    pub note: Option<String>,
    /// Priority of the item if this report opens one; a merged report raises it by 5 (max 100).
    pub priority: i64,
}

/// One stored report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub id: i64,
    pub item_id: i64,
    pub reporter_id: String,
    pub target_kind: String,
    pub target_id: String,
    pub reason: String,
    pub note: Option<String>,
    pub created_at: Millis,
}

/// The outcome of filing a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FiledReport {
    pub report: Report,
    pub item: ModerationItem,
    /// True when an open item for the same target already existed.
    pub merged: bool,
}

/// A strike to record with an enforcement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewStrike {
    pub weight: i64,
    pub categories: Vec<String>,
    pub at: Millis,
    /// The earliest time it stops counting (the policy's clean period after `at`).
    pub expires_at: Millis,
}

/// One stored strike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrikeRecord {
    pub id: i64,
    pub user_id: String,
    pub enforcement_id: Option<i64>,
    pub weight: i64,
    pub categories: Vec<String>,
    pub at: Millis,
    pub expires_at: Millis,
    /// Set when an appeal removed it.
    pub removed_at: Option<Millis>,
    pub removed_reason: Option<String>,
}

/// An enforcement to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEnforcement {
    pub user_id: String,
    /// `block`, `mask`, `strike`, `warning`, `restriction` or `suspension`.
    pub kind: String,
    pub automated: bool,
    /// What it is about: `message`, `user`, `profile`, `job`...
    pub subject_kind: String,
    pub subject_id: Option<String>,
    pub conversation_id: Option<String>,
    pub message_id: Option<i64>,
    /// The policy decision behind it (enforcements of one decision are lifted together).
    pub decision_id: Option<i64>,
    /// The moderator who decided (human enforcements).
    pub moderator_id: Option<String>,
    /// Statement of reasons: facts, rule, automated, how_to_appeal, appeal_deadline.
    pub statement: Value,
    pub created_at: Millis,
    /// End of a restriction or suspension (`None`: no end, or not a restriction).
    pub ends_at: Option<Millis>,
    pub appealable_until: Millis,
    /// A blocked text, kept so an overturned block can deliver it.
    pub blocked_text: Option<String>,
    pub blocked_purpose: Option<String>,
    pub strike: Option<NewStrike>,
}

/// One stored enforcement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enforcement {
    pub id: i64,
    pub user_id: String,
    pub kind: String,
    pub automated: bool,
    pub subject_kind: String,
    pub subject_id: Option<String>,
    pub conversation_id: Option<String>,
    pub message_id: Option<i64>,
    pub decision_id: Option<i64>,
    pub item_id: Option<i64>,
    pub moderator_id: Option<String>,
    pub statement: Value,
    pub created_at: Millis,
    pub ends_at: Option<Millis>,
    pub appealable_until: Millis,
    /// Set when an appeal overturned it.
    pub lifted_at: Option<Millis>,
    pub blocked_text: Option<String>,
    pub blocked_purpose: Option<String>,
    /// The message delivered when the block was overturned.
    pub delivered_message_id: Option<i64>,
}

impl Enforcement {
    /// Whether it restricts messaging at `now` (an unlifted restriction or suspension in force).
    pub fn restricts_at(&self, now: Millis) -> bool {
        matches!(self.kind.as_str(), "restriction" | "suspension")
            && self.lifted_at.is_none()
            && self.ends_at.is_none_or(|e| e > now)
    }
}

/// One stored appeal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appeal {
    pub id: i64,
    pub enforcement_id: i64,
    pub appellant_id: String,
    pub statement: String,
    pub item_id: i64,
    /// `open`, `upheld` (the enforcement stands) or `overturned`.
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<Millis>,
    pub note: Option<String>,
    pub created_at: Millis,
}

/// A user's standing: what the policy's escalation needs, and the restrictions in force.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct UserSafety {
    /// Strikes not removed by an appeal, newest first (at most 500).
    pub strikes: Vec<StrikeRecord>,
    /// Restrictions and suspensions in force at the time asked, latest end first.
    pub restrictions: Vec<Enforcement>,
    /// Enforcements of any kind ever recorded (not lifted).
    pub violations: i64,
}

/// A page request of the queue: items after `after` in queue order (priority desc, age asc).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QueueQuery {
    /// `Some(true)`: open items; `Some(false)`: resolved; `None`: both.
    pub open: Option<bool>,
    pub kind: Option<ItemKind>,
    /// 1..=500; 0 means 50.
    pub limit: u32,
    pub after: Option<QueueCursor>,
}

/// Position in the queue order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueCursor {
    pub priority: i64,
    pub created_at: Millis,
    pub id: i64,
}

impl ModerationItem {
    /// The cursor just after this item.
    pub fn cursor(&self) -> QueueCursor {
        QueueCursor {
            priority: self.priority,
            created_at: self.created_at,
            id: self.id,
        }
    }
}

/// A held message's review, applied with the item's resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// `Some(text)` delivers the message with this text; `None` rejects it.
    pub delivered: Option<String>,
    /// The human decision stored on the message.
    pub decision: DecisionInput,
}

/// A moderator's decision on a queue item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemDecision {
    pub item_id: i64,
    pub moderator_id: String,
    /// `approve`, `reject`, `warn`, `restrict`, `suspend`.
    pub action: String,
    pub note: Option<String>,
    /// The human decision, recorded in the decisions table (automated = false).
    pub decision: DecisionInput,
    /// For held messages: deliver or reject it.
    pub review: Option<Review>,
    /// Enforcements the decision imposes (with their strikes).
    pub enforcements: Vec<NewEnforcement>,
    /// For appeals: true overturns the enforcement (lifts it and its decision's other
    /// enforcements, removes their strikes, delivers a blocked text); false upholds it.
    pub overturn: Option<bool>,
    /// For an overturn that delivers a blocked text or restores a removed or rejected message:
    /// the decision stored on the message.
    pub delivery_decision: Option<DecisionInput>,
    /// For a report of a delivered message: `Some` removes it (state `rejected`, recipients get
    /// `message.deleted`) with this decision stored on it.
    #[serde(default)]
    pub removal_decision: Option<DecisionInput>,
    pub now: Millis,
}

/// What resolving an item changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedItem {
    pub item: ModerationItem,
    /// The reviewed held message.
    pub reviewed: Option<Message>,
    /// A blocked message delivered, or a removed or rejected one restored, by an overturn.
    pub delivered: Option<Message>,
    /// A reported message removed by the decision.
    pub removed: Option<Message>,
    pub enforcements: Vec<Enforcement>,
    /// Users with new events (to notify).
    pub notify: Vec<String>,
}

/// Counts for the moderators' dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ModerationStats {
    /// Decisions the policy flagged (mask, block, hold for review) per finding category.
    pub by_category: BTreeMap<String, i64>,
    /// Non-allow decisions (automated or human) per action.
    pub by_action: BTreeMap<String, i64>,
    /// Flagged decisions per UTC day (`YYYY-MM-DD`), oldest first, every day of the range.
    pub per_day: Vec<(String, i64)>,
    /// Open items per kind.
    pub open: BTreeMap<String, i64>,
    /// Appeals decided, and how many overturned the decision.
    pub appeals_decided: i64,
    pub appeals_overturned: i64,
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restrictions_in_force() {
        let e = Enforcement {
            id: 1,
            user_id: "u".into(),
            kind: "restriction".into(),
            automated: true,
            subject_kind: "message".into(),
            subject_id: None,
            conversation_id: None,
            message_id: None,
            decision_id: None,
            item_id: None,
            moderator_id: None,
            statement: Value::Null,
            created_at: 0,
            ends_at: Some(100),
            appealable_until: 1000,
            lifted_at: None,
            blocked_text: None,
            blocked_purpose: None,
            delivered_message_id: None,
        };
        assert!(e.restricts_at(99));
        assert!(!e.restricts_at(100));
        let lifted = Enforcement {
            lifted_at: Some(50),
            ..e.clone()
        };
        assert!(!lifted.restricts_at(10));
        let warning = Enforcement {
            kind: "warning".into(),
            ..e
        };
        assert!(!warning.restricts_at(10));
    }
}
