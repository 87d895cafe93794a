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

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Result, StoreError};
use crate::model::*;
use crate::ops::{
    check_id, check_name, check_text, corrupt, json_text, json_value, message_of, page_limit,
    BeginWrite, Get, MAX_SHORT,
};
use crate::{Backend, Store};

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

/// Appends one entry to the hash-chained audit log inside the caller's transaction
/// (`audit_append!`, with an owned subject so `format!` can be passed directly).
macro_rules! audit {
    ($tx:ident, $kind:expr, $actor:expr, $subject:expr, $data:expr, $now:expr) => {{
        let a_subject: String = ($subject).to_string();
        let a_data: &serde_json::Value = $data;
        audit_append!($tx, $kind, $actor, a_subject.as_str(), a_data, $now);
    }};
}

macro_rules! item_cols {
    () => {
        "id, kind, status, priority, target_kind, target_id, subject_user_id, conversation_id, \
         message_id, created_at, updated_at, resolution_action, resolution_note, resolved_by, resolved_at"
    };
}
macro_rules! report_cols {
    () => {
        "id, item_id, reporter_id, target_kind, target_id, reason, note, created_at"
    };
}
macro_rules! enforcement_cols {
    () => {
        "id, user_id, kind, automated, subject_kind, subject_id, conversation_id, message_id, \
         decision_id, item_id, moderator_id, statement, created_at, ends_at, appealable_until, \
         lifted_at, blocked_text, blocked_purpose, delivered_message_id"
    };
}
macro_rules! strike_cols {
    () => {
        "id, user_id, enforcement_id, weight, categories, at, expires_at, removed_at, removed_reason"
    };
}
macro_rules! appeal_cols {
    () => {
        "id, enforcement_id, appellant_id, statement, item_id, status, decided_by, decided_at, note, created_at"
    };
}

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

// ------------------------------------------------------------------------------------- rows

fn item_of(r: &impl Get) -> Result<ModerationItem> {
    let action = r.os("resolution_action")?;
    let resolution = match action {
        Some(action) => Some(Resolution {
            action,
            note: r.os("resolution_note")?,
            moderator_id: r.os("resolved_by")?,
            at: r.oi("resolved_at")?.unwrap_or(r.i("updated_at")?),
        }),
        None => None,
    };
    Ok(ModerationItem {
        id: r.i("id")?,
        kind: ItemKind::parse(&r.s("kind")?).ok_or_else(|| corrupt("moderation_items"))?,
        open: r.s("status")? == "open",
        priority: r.i("priority")?,
        target_kind: r.s("target_kind")?,
        target_id: r.s("target_id")?,
        subject_user_id: r.os("subject_user_id")?,
        conversation_id: r.os("conversation_id")?,
        message_id: r.oi("message_id")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
        resolution,
    })
}

fn report_of(r: &impl Get) -> Result<Report> {
    Ok(Report {
        id: r.i("id")?,
        item_id: r.i("item_id")?,
        reporter_id: r.s("reporter_id")?,
        target_kind: r.s("target_kind")?,
        target_id: r.s("target_id")?,
        reason: r.s("reason")?,
        note: r.os("note")?,
        created_at: r.i("created_at")?,
    })
}

fn enforcement_of(r: &impl Get) -> Result<Enforcement> {
    Ok(Enforcement {
        id: r.i("id")?,
        user_id: r.s("user_id")?,
        kind: r.s("kind")?,
        automated: r.b("automated")?,
        subject_kind: r.s("subject_kind")?,
        subject_id: r.os("subject_id")?,
        conversation_id: r.os("conversation_id")?,
        message_id: r.oi("message_id")?,
        decision_id: r.oi("decision_id")?,
        item_id: r.oi("item_id")?,
        moderator_id: r.os("moderator_id")?,
        statement: json_value(r.s("statement")?),
        created_at: r.i("created_at")?,
        ends_at: r.oi("ends_at")?,
        appealable_until: r.i("appealable_until")?,
        lifted_at: r.oi("lifted_at")?,
        blocked_text: r.os("blocked_text")?,
        blocked_purpose: r.os("blocked_purpose")?,
        delivered_message_id: r.oi("delivered_message_id")?,
    })
}

fn strike_of(r: &impl Get) -> Result<StrikeRecord> {
    Ok(StrikeRecord {
        id: r.i("id")?,
        user_id: r.s("user_id")?,
        enforcement_id: r.oi("enforcement_id")?,
        weight: r.i("weight")?,
        categories: r
            .s("categories")?
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect(),
        at: r.i("at")?,
        expires_at: r.i("expires_at")?,
        removed_at: r.oi("removed_at")?,
        removed_reason: r.os("removed_reason")?,
    })
}

fn appeal_of(r: &impl Get) -> Result<Appeal> {
    Ok(Appeal {
        id: r.i("id")?,
        enforcement_id: r.i("enforcement_id")?,
        appellant_id: r.s("appellant_id")?,
        statement: r.s("statement")?,
        item_id: r.i("item_id")?,
        status: r.s("status")?,
        decided_by: r.os("decided_by")?,
        decided_at: r.oi("decided_at")?,
        note: r.os("note")?,
        created_at: r.i("created_at")?,
    })
}

/// Every message of a list of rows, in row order.
fn messages_of(rows: &[impl Get]) -> Result<Vec<Message>> {
    rows.iter().map(|r| message_of(r, "")).collect()
}

const ENFORCEMENT_KINDS: &[&str] = &[
    "block",
    "mask",
    "strike",
    "warning",
    "restriction",
    "suspension",
];
const ITEM_ACTIONS: &[&str] = &["approve", "reject", "warn", "restrict", "suspend"];

fn check_note(what: &str, s: Option<&str>) -> Result<()> {
    match s {
        Some(s) if s.len() > MAX_NOTE => Err(StoreError::Invalid(format!(
            "{what} must be at most {MAX_NOTE} bytes"
        ))),
        Some(s) => check_text(what, s),
        None => Ok(()),
    }
}

fn check_enforcement(e: &NewEnforcement) -> Result<String> {
    check_id("user_id", &e.user_id)?;
    if !ENFORCEMENT_KINDS.contains(&e.kind.as_str()) {
        return Err(StoreError::Invalid(format!(
            "unknown enforcement kind {:?}",
            e.kind
        )));
    }
    check_name("subject_kind", &e.subject_kind, MAX_SHORT)?;
    if let Some(t) = &e.blocked_text {
        check_text("blocked text", t)?;
    }
    if let Some(s) = &e.strike {
        if s.weight < 0 || s.categories.iter().any(|c| c.contains(',')) {
            return Err(StoreError::Invalid("malformed strike".into()));
        }
    }
    json_text(&e.statement)
}

/// Inserts one enforcement (and its strike); evaluates to the stored enforcement.
macro_rules! insert_enforcement {
    ($tx:ident, $e:expr, $statement:expr, $item:expr) => {{
        let e: &NewEnforcement = $e;
        let row = sqlx::query(concat!(
            "INSERT INTO enforcements (user_id, kind, automated, subject_kind, subject_id, conversation_id, \
             message_id, decision_id, item_id, moderator_id, statement, created_at, ends_at, appealable_until, \
             blocked_text, blocked_purpose) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             RETURNING ",
            enforcement_cols!()
        ))
        .bind(e.user_id.as_str())
        .bind(e.kind.as_str())
        .bind(e.automated)
        .bind(e.subject_kind.as_str())
        .bind(e.subject_id.as_deref())
        .bind(e.conversation_id.as_deref())
        .bind(e.message_id)
        .bind(e.decision_id)
        .bind($item)
        .bind(e.moderator_id.as_deref())
        .bind($statement)
        .bind(e.created_at)
        .bind(e.ends_at)
        .bind(e.appealable_until)
        .bind(e.blocked_text.as_deref())
        .bind(e.blocked_purpose.as_deref())
        .fetch_one(&mut *$tx)
        .await?;
        let stored = enforcement_of(&row)?;
        if let Some(s) = &e.strike {
            sqlx::query(
                "INSERT INTO strikes (user_id, enforcement_id, weight, categories, at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(e.user_id.as_str())
            .bind(stored.id)
            .bind(s.weight)
            .bind(s.categories.join(","))
            .bind(s.at)
            .bind(s.expires_at)
            .execute(&mut *$tx)
            .await?;
        }
        audit!(
            $tx,
            "enforcement",
            e.moderator_id.as_deref(),
            format!("enforcement:{}", stored.id).as_str(),
            &serde_json::json!({
                "user_id": stored.user_id, "kind": stored.kind, "automated": stored.automated,
                "subject_kind": stored.subject_kind, "subject_id": stored.subject_id,
                "decision_id": stored.decision_id, "item_id": stored.item_id,
                "ends_at": stored.ends_at, "strike": e.strike,
                // The statement may quote what the user wrote or a moderator's note: only its
                // digest goes into a log nobody can erase (the text stays in `enforcements`).
                "statement_sha256": crate::audit::sha256_hex(
                    crate::audit::canonical_json(&stored.statement).as_bytes()
                ),
                "appeal_deadline": stored.appealable_until,
            }),
            e.created_at
        );
        stored
    }};
}

/// The data of an `enforcement.created` / `enforcement.updated` event: the enforcement's public
/// view as its user sees it (`appealable` as of `$now`; `$appealed` when it has an appeal).
pub(crate) fn enforcement_event_data(
    e: &Enforcement,
    appealed: bool,
    now: Millis,
) -> Result<String> {
    json_text(&serde_json::json!({"enforcement": {
        "id": e.id,
        "kind": e.kind,
        "statement": e.statement,
        "created_at": e.created_at,
        "ends_at": e.ends_at,
        "lifted_at": e.lifted_at,
        "conversation_id": e.conversation_id,
        "message_id": e.message_id,
        "delivered_message_id": e.delivered_message_id,
        "appealable_until": e.appealable_until,
        "appealable": !appealed && now <= e.appealable_until && e.lifted_at.is_none(),
    }}))
}

/// Appends `$kind` (`enforcement.created` or `enforcement.updated`) for each enforcement to its
/// user's event log, in the caller's transaction, the users' rows locked in sorted order.
macro_rules! emit_enforcements {
    ($tx:ident, $kind:expr, $list:expr, $appealed:expr, $now:expr) => {{
        let mut list: Vec<&Enforcement> = $list.iter().collect();
        list.sort_by(|a, b| a.user_id.cmp(&b.user_id).then(a.id.cmp(&b.id)));
        for e in list {
            let data = enforcement_event_data(e, $appealed, $now)?;
            emit!(
                $tx,
                [e.user_id.clone()],
                $kind,
                e.conversation_id.as_deref(),
                None::<i64>,
                Some(data.as_str()),
                $now
            );
        }
    }};
}

/// Moves a message from state `$from` to `$to` by a moderator (removal of a delivered message,
/// restoration of a rejected one) with a `reviewed` version, the decision, and events: the
/// author gets `message.updated`, the others `message.created` (restored) or `message.deleted`
/// (removed). Evaluates to `Some((message, members))`, or `None` when the message is not in
/// state `$from` (or deleted).
macro_rules! moderate_message {
    ($tx:ident, $id:expr, $from:expr, $to:expr, $decision:expr, $decision_json:expr, $moderator:expr, $now:expr) => {{
        let conv = lock_message_conversation!($tx, $id);
        let row = sqlx::query(concat!(
            "UPDATE messages SET state = $3, delivered = COALESCE(delivered, original), decision = $4, \
             version = version + 1 WHERE id = $1 AND state = $2 AND deleted_at IS NULL RETURNING ",
            msg_cols!()
        ))
        .bind($id)
        .bind($from)
        .bind($to)
        .bind($decision_json)
        .fetch_optional(&mut *$tx)
        .await?;
        match row {
            None => None,
            Some(r) => {
                let m = message_of(&r, "")?;
                insert_version!($tx, m, "reviewed", Some($moderator), $now);
                insert_message_decision!(
                    $tx,
                    conv.as_str(),
                    m,
                    $moderator,
                    $decision,
                    $decision_json,
                    $now
                );
                let others = if m.state == MessageState::Delivered {
                    "message.created"
                } else {
                    "message.deleted"
                };
                let all = announce_moderated!($tx, conv.as_str(), m, others, $now);
                Some((m, all))
            }
        }
    }};
}

/// The UTC calendar day of a time, `YYYY-MM-DD`.
pub fn utc_day(ms: Millis) -> String {
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm), UTC.
    let days = ms.div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

impl Store {
    // ------------------------------------------------------------------------ enforcements

    /// Records enforcements (and their strikes) in one transaction, each appended to the audit
    /// trail and announced to its user (`enforcement.created` in their event log; the caller
    /// notifies the users). The user must exist.
    pub async fn record_enforcements(&self, list: &[NewEnforcement]) -> Result<Vec<Enforcement>> {
        let statements = list
            .iter()
            .map(check_enforcement)
            .collect::<Result<Vec<_>>>()?;
        on_write!(self, |p| {
            let mut tx = p.begin_write().await?;
            let mut out = Vec::with_capacity(list.len());
            for (e, st) in list.iter().zip(&statements) {
                out.push(insert_enforcement!(tx, e, st.as_str(), None::<i64>));
            }
            // The users hear of them live (`enforcement.created`), in the same transaction.
            let now = out.iter().map(|e| e.created_at).max().unwrap_or(0);
            emit_enforcements!(tx, "enforcement.created", out, false, now);
            tx.commit().await?;
            Ok(out)
        })
    }

    /// One enforcement by id.
    pub async fn get_enforcement(&self, id: i64) -> Result<Enforcement> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                enforcement_cols!(),
                " FROM enforcements WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(enforcement_of)
                .unwrap_or(Err(StoreError::NotFound("enforcement")))
        })
    }

    /// A user's enforcements, newest first, each with its appeal if any.
    pub async fn enforcements_of(
        &self,
        user_id: &str,
        limit: u32,
    ) -> Result<Vec<(Enforcement, Option<Appeal>)>> {
        let limit = page_limit(limit);
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                enforcement_cols!(),
                " FROM enforcements WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
            ))
            .bind(user_id)
            .bind(limit)
            .fetch_all(p)
            .await?;
            let list = rows
                .iter()
                .map(enforcement_of)
                .collect::<Result<Vec<_>>>()?;
            let appeals = sqlx::query(concat!(
                "SELECT ",
                appeal_cols!(),
                " FROM appeals WHERE appellant_id = $1"
            ))
            .bind(user_id)
            .fetch_all(p)
            .await?
            .iter()
            .map(appeal_of)
            .collect::<Result<Vec<_>>>()?;
            Ok(list
                .into_iter()
                .map(|e| {
                    let a = appeals.iter().find(|a| a.enforcement_id == e.id).cloned();
                    (e, a)
                })
                .collect())
        })
    }

    /// Strikes of a user, newest first, including removed ones.
    pub async fn strikes_of(&self, user_id: &str) -> Result<Vec<StrikeRecord>> {
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                strike_cols!(),
                " FROM strikes WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT 500"
            ))
            .bind(user_id)
            .fetch_all(p)
            .await?;
            rows.iter().map(strike_of).collect()
        })
    }

    /// A user's standing at `now`: strikes not removed (the policy decides which still count),
    /// restrictions in force, and how many enforcements stand against them.
    pub async fn user_safety(&self, user_id: &str, now: Millis) -> Result<UserSafety> {
        on_read!(self, |p| {
            let strikes = sqlx::query(concat!(
                "SELECT ",
                strike_cols!(),
                " FROM strikes WHERE user_id = $1 AND removed_at IS NULL ORDER BY at DESC, id DESC LIMIT 500"
            ))
            .bind(user_id)
            .fetch_all(p)
            .await?
            .iter()
            .map(strike_of)
            .collect::<Result<Vec<_>>>()?;
            let restrictions = sqlx::query(concat!(
                "SELECT ",
                enforcement_cols!(),
                " FROM enforcements WHERE user_id = $1 AND kind IN ('restriction', 'suspension') \
                 AND lifted_at IS NULL AND (ends_at IS NULL OR ends_at > $2) \
                 ORDER BY ends_at IS NULL DESC, ends_at DESC, id DESC LIMIT 50"
            ))
            .bind(user_id)
            .bind(now)
            .fetch_all(p)
            .await?
            .iter()
            .map(enforcement_of)
            .collect::<Result<Vec<_>>>()?;
            let violations: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM enforcements WHERE user_id = $1 AND lifted_at IS NULL",
            )
            .bind(user_id)
            .fetch_one(p)
            .await?;
            Ok(UserSafety {
                strikes,
                restrictions,
                violations,
            })
        })
    }

    /// The restriction or suspension in force at `now` that ends last (a suspension without
    /// end first), if any: one indexed read, made before every post.
    pub async fn active_restriction(
        &self,
        user_id: &str,
        now: Millis,
    ) -> Result<Option<Enforcement>> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                enforcement_cols!(),
                " FROM enforcements WHERE user_id = $1 AND kind IN ('restriction', 'suspension') \
                 AND lifted_at IS NULL AND (ends_at IS NULL OR ends_at > $2) \
                 ORDER BY ends_at IS NULL DESC, ends_at DESC, id DESC LIMIT 1"
            ))
            .bind(user_id)
            .bind(now)
            .fetch_optional(p)
            .await?;
            row.as_ref().map(enforcement_of).transpose()
        })
    }

    // ------------------------------------------------------------------------ reports

    /// Files a report. The reporter must be able to see the target (a member of the message's
    /// or the conversation's conversation; any existing user): NotFound otherwise. Merges into
    /// the target's open report item if there is one (`merged`); the same reporter reporting
    /// the same open item again keeps their first report.
    pub async fn file_report(&self, r: &NewReport, now: Millis) -> Result<FiledReport> {
        check_id("reporter_id", &r.reporter_id)?;
        check_name("reason", &r.reason, MAX_SHORT)?;
        check_note("note", r.note.as_deref())?;
        on_write!(self, |p| {
            let mut tx = p.begin_write().await?;
            let (target_kind, target_id, subject, conv, message_id) = match &r.target {
                ReportTarget::Message(id) => {
                    let row = sqlx::query(
                        "SELECT m.conversation_id, m.author_id, m.state, \
                         (SELECT COUNT(*) FROM conversation_members cm WHERE cm.conversation_id = m.conversation_id \
                          AND cm.user_id = $2) AS member FROM messages m WHERE m.id = $1",
                    )
                    .bind(*id)
                    .bind(r.reporter_id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound("message"))?;
                    let author = row.s("author_id")?;
                    let visible = row.s("state")? == "delivered" || author == r.reporter_id;
                    if row.i("member")? == 0 || !visible {
                        return Err(StoreError::NotFound("message"));
                    }
                    if author == r.reporter_id {
                        return Err(StoreError::Invalid(
                            "you cannot report your own message".into(),
                        ));
                    }
                    (
                        "message",
                        id.to_string(),
                        Some(author),
                        Some(row.s("conversation_id")?),
                        Some(*id),
                    )
                }
                ReportTarget::User(u) => {
                    check_id("user_id", u)?;
                    if u == &r.reporter_id {
                        return Err(StoreError::Invalid("you cannot report yourself".into()));
                    }
                    if sqlx::query("SELECT id FROM users WHERE id = $1")
                        .bind(u.as_str())
                        .fetch_optional(&mut *tx)
                        .await?
                        .is_none()
                    {
                        return Err(StoreError::NotFound("user"));
                    }
                    ("user", u.clone(), Some(u.clone()), None, None)
                }
                ReportTarget::Conversation(c) => {
                    check_id("conversation_id", c)?;
                    if sqlx::query(
                        "SELECT user_id FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
                    )
                    .bind(c.as_str())
                    .bind(r.reporter_id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_none()
                    {
                        return Err(StoreError::NotFound("conversation"));
                    }
                    ("conversation", c.clone(), None, Some(c.clone()), None)
                }
            };
            let existing = sqlx::query(concat!(
                "SELECT ",
                item_cols!(),
                " FROM moderation_items WHERE kind = 'report' AND target_kind = $1 AND target_id = $2 AND status = 'open'"
            ))
            .bind(target_kind)
            .bind(target_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let (item_id, merged) = match existing {
                Some(row) => {
                    let item = item_of(&row)?;
                    (item.id, true)
                }
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO moderation_items (kind, status, priority, target_kind, target_id, \
                         subject_user_id, conversation_id, message_id, created_at, updated_at) \
                         VALUES ('report', 'open', $1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
                    )
                    .bind(r.priority.clamp(0, 100))
                    .bind(target_kind)
                    .bind(target_id.as_str())
                    .bind(subject.as_deref())
                    .bind(conv.as_deref())
                    .bind(message_id)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    (id, false)
                }
            };
            let prior = sqlx::query(concat!(
                "SELECT ",
                report_cols!(),
                " FROM reports WHERE item_id = $1 AND reporter_id = $2"
            ))
            .bind(item_id)
            .bind(r.reporter_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let report = match prior {
                Some(row) => report_of(&row)?,
                None => {
                    let row = sqlx::query(concat!(
                        "INSERT INTO reports (item_id, reporter_id, target_kind, target_id, reason, note, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
                        report_cols!()
                    ))
                    .bind(item_id)
                    .bind(r.reporter_id.as_str())
                    .bind(target_kind)
                    .bind(target_id.as_str())
                    .bind(r.reason.as_str())
                    .bind(r.note.as_deref())
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    let report = report_of(&row)?;
                    if merged {
                        // More reporters, more urgent (a higher reason priority also wins).
                        sqlx::query(
                            "UPDATE moderation_items SET updated_at = $2, priority = CASE \
                             WHEN (CASE WHEN priority >= $3 THEN priority ELSE $3 END) + 5 > 100 THEN 100 \
                             ELSE (CASE WHEN priority >= $3 THEN priority ELSE $3 END) + 5 END WHERE id = $1",
                        )
                        .bind(item_id)
                        .bind(now)
                        .bind(r.priority.clamp(0, 100))
                        .execute(&mut *tx)
                        .await?;
                    }
                    audit!(
                        tx,
                        "report",
                        Some(r.reporter_id.as_str()),
                        format!("{target_kind}:{target_id}").as_str(),
                        &serde_json::json!({"report_id": report.id, "item_id": item_id,
                            "reason": report.reason, "merged": merged}),
                        now
                    );
                    report
                }
            };
            let item = sqlx::query(concat!(
                "SELECT ",
                item_cols!(),
                " FROM moderation_items WHERE id = $1"
            ))
            .bind(item_id)
            .fetch_one(&mut *tx)
            .await?;
            let item = item_of(&item)?;
            tx.commit().await?;
            Ok(FiledReport {
                report,
                item,
                merged,
            })
        })
    }

    /// The reports merged into one item, oldest first.
    pub async fn item_reports(&self, item_id: i64) -> Result<Vec<Report>> {
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                report_cols!(),
                " FROM reports WHERE item_id = $1 ORDER BY id"
            ))
            .bind(item_id)
            .fetch_all(p)
            .await?;
            rows.iter().map(report_of).collect()
        })
    }

    // ------------------------------------------------------------------------ queue

    /// Queue items in queue order: priority (highest first), then age (oldest first).
    pub async fn moderation_queue(&self, q: &QueueQuery) -> Result<Vec<ModerationItem>> {
        let limit = page_limit(q.limit);
        let status = q.open.map(|o| if o { "open" } else { "resolved" });
        let kind = q.kind.map(ItemKind::as_str);
        let (cp, cc, ci) = match q.after {
            Some(c) => (Some(c.priority), c.created_at, c.id),
            None => (None, 0, 0),
        };
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                item_cols!(),
                " FROM moderation_items WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR kind = $2) \
                 AND ($3 IS NULL OR priority < $3 OR (priority = $3 AND (created_at > $4 OR (created_at = $4 AND id > $5)))) \
                 ORDER BY priority DESC, created_at, id LIMIT $6"
            ))
            .bind(status)
            .bind(kind)
            .bind(cp)
            .bind(cc)
            .bind(ci)
            .bind(limit)
            .fetch_all(p)
            .await?;
            rows.iter().map(item_of).collect()
        })
    }

    /// One queue item.
    pub async fn moderation_item(&self, id: i64) -> Result<ModerationItem> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                item_cols!(),
                " FROM moderation_items WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(item_of)
                .unwrap_or(Err(StoreError::NotFound("moderation item")))
        })
    }

    /// Messages around one message in its conversation, oldest first: up to `n` before it, the
    /// message itself, and up to `n` after it (every state; moderators see everything).
    pub async fn messages_around(&self, message_id: i64, n: u32) -> Result<Vec<Message>> {
        let n = i64::from(n.min(50));
        on_read!(self, |p| {
            let conv: Option<String> =
                sqlx::query_scalar("SELECT conversation_id FROM messages WHERE id = $1")
                    .bind(message_id)
                    .fetch_optional(p)
                    .await?;
            let conv = conv.ok_or(StoreError::NotFound("message"))?;
            let rows = sqlx::query(concat!(
                "SELECT ",
                msg_cols!(),
                " FROM messages WHERE conversation_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
            ))
            .bind(conv.as_str())
            .bind(message_id)
            .bind(n)
            .fetch_all(p)
            .await?;
            let mut before = messages_of(&rows)?;
            before.reverse();
            let rows = sqlx::query(concat!(
                "SELECT ",
                msg_cols!(),
                " FROM messages WHERE conversation_id = $1 AND id >= $2 ORDER BY id LIMIT $3"
            ))
            .bind(conv.as_str())
            .bind(message_id)
            .bind(n + 1)
            .fetch_all(p)
            .await?;
            before.extend(messages_of(&rows)?);
            Ok(before)
        })
    }

    /// The last `n` messages of a conversation, oldest first (every state).
    pub async fn recent_messages(&self, conversation_id: &str, n: u32) -> Result<Vec<Message>> {
        let n = i64::from(n.min(50));
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                msg_cols!(),
                " FROM messages WHERE conversation_id = $1 ORDER BY id DESC LIMIT $2"
            ))
            .bind(conversation_id)
            .bind(n)
            .fetch_all(p)
            .await?;
            let mut v = messages_of(&rows)?;
            v.reverse();
            Ok(v)
        })
    }

    // ------------------------------------------------------------------------ appeals

    /// Files an appeal against one of the appellant's enforcements (free; one per enforcement)
    /// and opens an appeal item. NotFound unless it is theirs; Forbidden after its window;
    /// Conflict when already appealed.
    pub async fn file_appeal(
        &self,
        enforcement_id: i64,
        appellant_id: &str,
        statement: &str,
        now: Millis,
    ) -> Result<Appeal> {
        check_id("appellant_id", appellant_id)?;
        check_name("statement", statement, MAX_NOTE)?;
        on_write!(self, |p| {
            let mut tx = p.begin_write().await?;
            let row = sqlx::query(concat!(
                "SELECT ",
                enforcement_cols!(),
                " FROM enforcements WHERE id = $1"
            ))
            .bind(enforcement_id)
            .fetch_optional(&mut *tx)
            .await?;
            let e = match row {
                Some(r) => enforcement_of(&r)?,
                None => return Err(StoreError::NotFound("enforcement")),
            };
            if e.user_id != appellant_id {
                return Err(StoreError::NotFound("enforcement"));
            }
            if now > e.appealable_until {
                return Err(StoreError::Forbidden(APPEAL_WINDOW_CLOSED));
            }
            if sqlx::query("SELECT id FROM appeals WHERE enforcement_id = $1")
                .bind(enforcement_id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some()
            {
                return Err(StoreError::Conflict(ALREADY_APPEALED.into()));
            }
            let item_id: i64 = sqlx::query_scalar(
                "INSERT INTO moderation_items (kind, status, priority, target_kind, target_id, \
                 subject_user_id, conversation_id, message_id, created_at, updated_at) \
                 VALUES ('appeal', 'open', 40, 'enforcement', $1, $2, $3, $4, $5, $5) RETURNING id",
            )
            .bind(enforcement_id.to_string())
            .bind(appellant_id)
            .bind(e.conversation_id.as_deref())
            .bind(e.message_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let row = sqlx::query(concat!(
                "INSERT INTO appeals (enforcement_id, appellant_id, statement, item_id, status, created_at) \
                 VALUES ($1, $2, $3, $4, 'open', $5) RETURNING ",
                appeal_cols!()
            ))
            .bind(enforcement_id)
            .bind(appellant_id)
            .bind(statement)
            .bind(item_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let appeal = appeal_of(&row)?;
            audit!(
                tx,
                "appeal.filed",
                Some(appellant_id),
                format!("enforcement:{enforcement_id}").as_str(),
                &serde_json::json!({"appeal_id": appeal.id, "item_id": item_id,
                    "enforcement_kind": e.kind}),
                now
            );
            tx.commit().await?;
            Ok(appeal)
        })
    }

    /// The appeal of an appeal item.
    pub async fn appeal_of_item(&self, item_id: i64) -> Result<Appeal> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                appeal_cols!(),
                " FROM appeals WHERE item_id = $1"
            ))
            .bind(item_id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(appeal_of)
                .unwrap_or(Err(StoreError::NotFound("appeal")))
        })
    }

    // ------------------------------------------------------------------------ decisions

    /// Resolves a queue item with everything the decision implies, in one transaction: the
    /// held message reviewed (delivered or rejected, with events), the human decision recorded,
    /// enforcements and strikes stored, an appeal upheld or overturned (enforcements of the
    /// appealed decision lifted, their strikes removed, a blocked text delivered as a new
    /// message with `message.created` to the members), the item closed, all audited.
    /// Conflict([`ALREADY_RESOLVED`]) when the item is closed, Conflict([`SAME_REVIEWER`]) when
    /// the moderator who enforced a decision decides its appeal.
    pub async fn resolve_item(&self, d: &ItemDecision) -> Result<ResolvedItem> {
        check_id("moderator_id", &d.moderator_id)?;
        if !ITEM_ACTIONS.contains(&d.action.as_str()) {
            return Err(StoreError::Invalid(format!(
                "unknown action {:?}",
                d.action
            )));
        }
        check_note("note", d.note.as_deref())?;
        let statements = d
            .enforcements
            .iter()
            .map(check_enforcement)
            .collect::<Result<Vec<_>>>()?;
        let decision_json = json_text(&d.decision.decision)?;
        let review_json = match &d.review {
            Some(r) => {
                if let Some(t) = &r.delivered {
                    check_text("delivered text", t)?;
                }
                Some(json_text(&r.decision.decision)?)
            }
            None => None,
        };
        let delivery_json = match &d.delivery_decision {
            Some(x) => Some(json_text(&x.decision)?),
            None => None,
        };
        let now = d.now;
        on_write!(self, |p| {
            let mut tx = p.begin_write().await?;
            // Lock order as every message write: the conversation first, then the item
            // (PostgreSQL row locks; SQLite has one writer).
            let conv: Option<Option<String>> =
                sqlx::query_scalar("SELECT conversation_id FROM moderation_items WHERE id = $1")
                    .bind(d.item_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(Some(c)) = &conv {
                lock_conversation!(tx, c.as_str());
            }
            let row = sqlx::query(concat!(
                "UPDATE moderation_items SET updated_at = updated_at WHERE id = $1 RETURNING ",
                item_cols!()
            ))
            .bind(d.item_id)
            .fetch_optional(&mut *tx)
            .await?;
            let item = match row {
                Some(r) => item_of(&r)?,
                None => return Err(StoreError::NotFound("moderation item")),
            };
            if !item.open {
                return Err(StoreError::Conflict(ALREADY_RESOLVED.into()));
            }
            let mut notify: Vec<String> = Vec::new();
            // Appeals: the appealed enforcement, checked before anything changes.
            let appealed = if item.kind == ItemKind::Appeal {
                let a = sqlx::query(concat!(
                    "SELECT ",
                    appeal_cols!(),
                    " FROM appeals WHERE item_id = $1"
                ))
                .bind(item.id)
                .fetch_one(&mut *tx)
                .await?;
                let a = appeal_of(&a)?;
                let e = sqlx::query(concat!(
                    "SELECT ",
                    enforcement_cols!(),
                    " FROM enforcements WHERE id = $1"
                ))
                .bind(a.enforcement_id)
                .fetch_one(&mut *tx)
                .await?;
                let e = enforcement_of(&e)?;
                if e.moderator_id.as_deref() == Some(d.moderator_id.as_str()) {
                    return Err(StoreError::Conflict(SAME_REVIEWER.into()));
                }
                Some((a, e))
            } else {
                None
            };
            // A held message: review it (events included).
            let reviewed = match (&d.review, item.message_id) {
                (Some(r), Some(mid)) if item.kind == ItemKind::HeldMessage => {
                    let state = if r.delivered.is_some() {
                        MessageState::Delivered
                    } else {
                        MessageState::Rejected
                    };
                    let rj = review_json.as_deref().unwrap_or("{}");
                    let m = review_in_tx!(
                        tx,
                        mid,
                        d.moderator_id.as_str(),
                        state,
                        r.delivered.as_deref(),
                        &r.decision,
                        rj,
                        now
                    );
                    if state == MessageState::Delivered {
                        let members = members_sorted!(tx, m.conversation_id.as_str());
                        notify.extend(members);
                    } else {
                        notify.push(m.author_id.clone());
                    }
                    Some(m)
                }
                (Some(_), _) => {
                    return Err(StoreError::Invalid(
                        "only a held message can be reviewed".into(),
                    ))
                }
                _ => None,
            };
            // The human decision about the item (reviews recorded theirs on the message).
            let decision_id = if reviewed.is_none() {
                let subject = format!("mi_{}", item.id);
                Some(insert_decision!(
                    tx,
                    "moderation_item",
                    Some(subject.as_str()),
                    item.conversation_id.as_deref(),
                    item.message_id,
                    None::<i64>,
                    Some(d.moderator_id.as_str()),
                    d.decision,
                    decision_json.as_str(),
                    now
                ))
            } else {
                None
            };
            let mut enforcements = Vec::with_capacity(d.enforcements.len());
            for (e, st) in d.enforcements.iter().zip(&statements) {
                let mut e = e.clone();
                if e.decision_id.is_none() {
                    e.decision_id = decision_id;
                }
                enforcements.push(insert_enforcement!(tx, &e, st.as_str(), Some(item.id)));
            }
            // Reports: remove the reported message.
            let mut removed = None;
            if let (Some(rd), Some(mid), ItemKind::Report) =
                (&d.removal_decision, item.message_id, item.kind)
            {
                let rj = json_text(&rd.decision)?;
                if let Some((m, members)) = moderate_message!(
                    tx,
                    mid,
                    "delivered",
                    "rejected",
                    rd,
                    rj.as_str(),
                    d.moderator_id.as_str(),
                    now
                ) {
                    notify.extend(members);
                    removed = Some(m);
                }
            }
            // Appeals: the outcome.
            let mut delivered = None;
            // Enforcements whose user hears `enforcement.updated`: the appealed one, and the
            // ones an overturn lifted with it.
            let mut updated: Vec<i64> = Vec::new();
            if let Some((a, e)) = &appealed {
                updated.push(e.id);
                let overturn = d.overturn.unwrap_or(false);
                sqlx::query(
                    "UPDATE appeals SET status = $2, decided_by = $3, decided_at = $4, note = $5 WHERE id = $1",
                )
                .bind(a.id)
                .bind(if overturn { "overturned" } else { "upheld" })
                .bind(d.moderator_id.as_str())
                .bind(now)
                .bind(d.note.as_deref())
                .execute(&mut *tx)
                .await?;
                if overturn {
                    // The appealed enforcement, and the automated restriction its strike
                    // triggered (same decision), are lifted together; an overturned
                    // restriction leaves the block behind it standing.
                    let triggered = matches!(e.kind.as_str(), "block" | "mask" | "strike");
                    let lifted: Vec<i64> = sqlx::query_scalar(
                        "UPDATE enforcements SET lifted_at = $3 WHERE user_id = $2 AND lifted_at IS NULL \
                         AND (id = $1 OR ($5 AND kind = 'restriction' AND automated = $6 \
                         AND ((decision_id IS NOT NULL AND decision_id = $4) \
                         OR (item_id IS NOT NULL AND item_id = $7)))) RETURNING id",
                    )
                    .bind(e.id)
                    .bind(e.user_id.as_str())
                    .bind(now)
                    .bind(e.decision_id)
                    .bind(triggered)
                    .bind(true)
                    .bind(e.item_id)
                    .fetch_all(&mut *tx)
                    .await?;
                    updated.extend(lifted.iter().copied());
                    for id in &lifted {
                        sqlx::query(
                            "UPDATE strikes SET removed_at = $2, removed_reason = 'appeal overturned' \
                             WHERE enforcement_id = $1 AND removed_at IS NULL",
                        )
                        .bind(*id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    // A masked message is shown as written (members get `message.updated`).
                    if let (Some(mid), "mask") = (e.message_id, e.kind.as_str()) {
                        let dd = d.delivery_decision.as_ref().unwrap_or(&d.decision);
                        let dj = json_text(&dd.decision)?;
                        let conv = lock_message_conversation!(tx, mid);
                        let row = sqlx::query(concat!(
                            "UPDATE messages SET delivered = original, decision = $2, version = version + 1 \
                             WHERE id = $1 AND state = 'delivered' AND deleted_at IS NULL \
                             AND delivered <> original RETURNING ",
                            msg_cols!()
                        ))
                        .bind(mid)
                        .bind(dj.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                        if let Some(r) = row {
                            let m = message_of(&r, "")?;
                            insert_version!(tx, m, "reviewed", Some(d.moderator_id.as_str()), now);
                            insert_message_decision!(
                                tx,
                                conv.as_str(),
                                m,
                                d.moderator_id.as_str(),
                                dd,
                                dj.as_str(),
                                now
                            );
                            let members = members_sorted!(tx, conv.as_str());
                            emit!(
                                tx,
                                members,
                                "message.updated",
                                conv.as_str(),
                                Some(m.id),
                                None::<&str>,
                                now
                            );
                            notify.extend(members);
                            delivered = Some(m);
                        }
                    }
                    // A removed or rejected message is restored; a blocked text that was never
                    // stored is delivered as a new message.
                    if let (Some(mid), None) = (e.message_id, &delivered) {
                        let dd = d.delivery_decision.as_ref().unwrap_or(&d.decision);
                        let dj = json_text(&dd.decision)?;
                        if let Some((m, members)) = moderate_message!(
                            tx,
                            mid,
                            "rejected",
                            "delivered",
                            dd,
                            dj.as_str(),
                            d.moderator_id.as_str(),
                            now
                        ) {
                            notify.extend(members);
                            delivered = Some(m);
                        }
                    }
                    if let (Some(text), Some(conv), None, None) = (
                        e.blocked_text.as_deref(),
                        e.conversation_id.as_deref(),
                        e.delivered_message_id,
                        e.message_id,
                    ) {
                        lock_conversation!(tx, conv);
                        let member = sqlx::query(
                            "SELECT user_id FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
                        )
                        .bind(conv)
                        .bind(e.user_id.as_str())
                        .fetch_optional(&mut *tx)
                        .await?
                        .is_some();
                        if member {
                            let dj = delivery_json.as_deref().unwrap_or("{}");
                            let row = sqlx::query(concat!(
                                "INSERT INTO messages (conversation_id, author_id, client_id, purpose, state, original, \
                                 delivered, decision, version, created_at) VALUES ($1, $2, $3, $4, 'delivered', $5, $5, $6, 1, $7) \
                                 RETURNING ",
                                msg_cols!()
                            ))
                            .bind(conv)
                            .bind(e.user_id.as_str())
                            .bind(format!("appeal-{}", a.id))
                            .bind(e.blocked_purpose.as_deref())
                            .bind(text)
                            .bind(dj)
                            .bind(now)
                            .fetch_one(&mut *tx)
                            .await?;
                            let m = message_of(&row, "")?;
                            insert_version!(tx, m, "created", Some(d.moderator_id.as_str()), now);
                            if let Some(dd) = &d.delivery_decision {
                                insert_decision!(
                                    tx,
                                    "message",
                                    Some(m.id.to_string()),
                                    Some(conv),
                                    Some(m.id),
                                    Some(1i64),
                                    Some(d.moderator_id.as_str()),
                                    dd,
                                    dj,
                                    now
                                );
                            }
                            sqlx::query(
                                "UPDATE conversations SET last_message_id = $2, updated_at = $3 WHERE id = $1",
                            )
                            .bind(conv)
                            .bind(m.id)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                            let members = members_sorted!(tx, conv);
                            emit!(
                                tx,
                                members,
                                "message.created",
                                conv,
                                Some(m.id),
                                None::<&str>,
                                now
                            );
                            notify.extend(members);
                            sqlx::query(
                                "UPDATE enforcements SET delivered_message_id = $2 WHERE id = $1",
                            )
                            .bind(e.id)
                            .bind(m.id)
                            .execute(&mut *tx)
                            .await?;
                            delivered = Some(m);
                        }
                    }
                }
                audit!(
                    tx,
                    "appeal.decided",
                    Some(d.moderator_id.as_str()),
                    format!("enforcement:{}", e.id).as_str(),
                    &serde_json::json!({"appeal_id": a.id, "item_id": item.id,
                        "outcome": if overturn { "overturned" } else { "upheld" },
                        "delivered_message_id": delivered.as_ref().map(|m: &Message| m.id)}),
                    now
                );
            }
            let row = sqlx::query(concat!(
                "UPDATE moderation_items SET status = 'resolved', resolution_action = $2, resolution_note = $3, \
                 resolved_by = $4, resolved_at = $5, updated_at = $5 WHERE id = $1 RETURNING ",
                item_cols!()
            ))
            .bind(item.id)
            .bind(d.action.as_str())
            .bind(d.note.as_deref())
            .bind(d.moderator_id.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let item = item_of(&row)?;
            audit!(
                tx,
                "moderation.decision",
                Some(d.moderator_id.as_str()),
                format!("mi_{}", item.id).as_str(),
                &serde_json::json!({"kind": item.kind, "action": d.action,
                    "note_sha256": d.note.as_deref().map(|n| crate::audit::sha256_hex(n.as_bytes())),
                    "target": format!("{}:{}", item.target_kind, item.target_id),
                    "decision_id": decision_id,
                    "enforcements": enforcements.iter().map(|e| e.id).collect::<Vec<_>>()}),
                now
            );
            if let (Some(m), Some((_, e))) = (&delivered, &appealed) {
                sqlx::query("UPDATE enforcements SET delivered_message_id = $2 WHERE id = $1")
                    .bind(e.id)
                    .bind(m.id)
                    .execute(&mut *tx)
                    .await?;
            }
            // The users hear of the new enforcements and of the decided appeal, live.
            emit_enforcements!(tx, "enforcement.created", enforcements, false, now);
            updated.sort_unstable();
            updated.dedup();
            let mut changed = Vec::with_capacity(updated.len());
            for id in &updated {
                let r = sqlx::query(concat!(
                    "SELECT ",
                    enforcement_cols!(),
                    " FROM enforcements WHERE id = $1"
                ))
                .bind(*id)
                .fetch_one(&mut *tx)
                .await?;
                changed.push(enforcement_of(&r)?);
            }
            // The appealed one has its appeal; a restriction lifted with it is no longer appealable.
            emit_enforcements!(tx, "enforcement.updated", changed, true, now);
            notify.extend(enforcements.iter().map(|e| e.user_id.clone()));
            notify.extend(changed.iter().map(|e| e.user_id.clone()));
            tx.commit().await?;
            notify.sort();
            notify.dedup();
            Ok(ResolvedItem {
                item,
                reviewed,
                removed,
                delivered,
                enforcements,
                notify,
            })
        })
    }

    // ------------------------------------------------------------------------ stats

    /// Dashboard counts for decisions made since `since` (UTC days from `since`'s day to
    /// `until`'s day in `per_day`).
    pub async fn moderation_stats(&self, since: Millis, until: Millis) -> Result<ModerationStats> {
        on_read!(self, |p| {
            let mut stats = ModerationStats::default();
            let rows = sqlx::query(
                "SELECT action, decision, created_at FROM decisions \
                 WHERE created_at >= $1 AND action <> 'allow' ORDER BY id LIMIT 200000",
            )
            .bind(since)
            .fetch_all(p)
            .await?;
            let mut per_day: BTreeMap<String, i64> = BTreeMap::new();
            let mut day = since - since.rem_euclid(86_400_000);
            while day <= until {
                per_day.insert(utc_day(day), 0);
                day += 86_400_000;
            }
            for r in &rows {
                let action = r.s("action")?;
                *stats.by_action.entry(action.clone()).or_default() += 1;
                // The policy's flags (a hold is recorded as not automated: a person decides).
                let flagged = matches!(action.as_str(), "mask" | "block" | "hold_for_review");
                if !flagged {
                    continue;
                }
                *per_day.entry(utc_day(r.i("created_at")?)).or_default() += 1;
                let d = json_value(r.s("decision")?);
                let reasons = d["decision"]["reasons"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let mut cats: Vec<String> = reasons
                    .iter()
                    .filter(|x| x["action"] != "allow" && x["action"] != "allow_with_notice")
                    .filter_map(|x| x["category"].as_str().map(str::to_string))
                    .collect();
                cats.sort();
                cats.dedup();
                for c in cats {
                    *stats.by_category.entry(c).or_default() += 1;
                }
            }
            stats.per_day = per_day.into_iter().collect();
            let open = sqlx::query(
                "SELECT kind, COUNT(*) AS n FROM moderation_items WHERE status = 'open' GROUP BY kind",
            )
            .fetch_all(p)
            .await?;
            for k in ["held_message", "report", "appeal"] {
                stats.open.insert(k.to_string(), 0);
            }
            for r in &open {
                stats.open.insert(r.s("kind")?, r.i("n")?);
            }
            let row = sqlx::query(
                "SELECT COUNT(*) AS decided, \
                 COALESCE(SUM(CASE WHEN status = 'overturned' THEN 1 ELSE 0 END), 0) AS overturned \
                 FROM appeals WHERE status <> 'open'",
            )
            .fetch_one(p)
            .await?;
            stats.appeals_decided = row.i("decided")?;
            stats.appeals_overturned = row.i("overturned")?;
            Ok(stats)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_dates() {
        assert_eq!(utc_day(0), "1970-01-01");
        assert_eq!(utc_day(86_400_000 - 1), "1970-01-01");
        assert_eq!(utc_day(951_782_400_000), "2000-02-29");
        assert_eq!(utc_day(1_796_083_200_000), "2026-12-01");
        assert_eq!(utc_day(-1), "1969-12-31");
    }

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
