//! Enforcements: what an automated block or mask records (with its strike and the restriction
//! the escalation reaches), and how a user sees their enforcements and standing.

use crate::domain::decide::Checked;
use crate::domain::error::DomainResult;
use crate::domain::ids::{AppealId, EnforcementId, ItemId, UserId};
use crate::domain::standing::escalation_at;
use crate::domain::statements::{
    appeal_deadline, escalated_restriction, labels_of, rules_of, statement, strike_of,
    strike_sentence, when,
};
use crate::AppState;
use parley_policy::Action;
use parley_store::{Appeal, Enforcement, NewEnforcement, NewStrike};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
/// What an automated decision was about, for its enforcement.
pub struct AutomatedSubject<'a> {
    /// `message`, `profile`, `job`, `proposal`, `invite`.
    pub kind: &'a str,
    pub id: Option<String>,
    pub conversation_id: Option<&'a str>,
    pub message_id: Option<i64>,
    /// The recorded decision.
    pub decision_id: Option<i64>,
    /// A blocked message's text and declared purpose (kept so an overturned block can be
    /// delivered).
    pub blocked: Option<(&'a str, Option<&'a str>)>,
}

/// The enforcements an automated mask or block implies for `user` (with the strike the policy
/// gives, and the restriction the escalation reaches): none for other actions. Nothing is
/// written: the caller commits these drafts with the decision, in one store transaction
/// (`post_message_enforced`, `record_decision_enforced`).
pub async fn automated_enforcements(
    s: &AppState,
    user: &str,
    subject: &AutomatedSubject<'_>,
    c: &Checked,
) -> DomainResult<Vec<NewEnforcement>> {
    let kind = match c.action() {
        Action::Block => "block",
        Action::Mask => "mask",
        _ => return Ok(Vec::new()),
    };
    let now = s.now_ms();
    let safety = s.store().user_safety(user, now).await?;
    // The policy decides which surfaces give strikes (`[escalation] surfaces`).
    let strike = strike_of(s, c.decision.strike.as_ref(), now);
    let reasons = serde_json::to_value(&c.decision.reasons).unwrap_or_default();
    let place = match (subject.kind, subject.conversation_id) {
        ("message", Some(conv)) => format!("your message in conversation {conv}"),
        ("message", None) => "your message".to_string(),
        (k, _) => format!("your {k} text"),
    };
    let outcome = match (kind, subject.kind) {
        ("block", "message") => "was not delivered because it contained",
        ("block", _) => "was not published because it contained",
        (_, "message") => "was delivered with these parts hidden:",
        _ => "was published with these parts hidden:",
    };
    let facts = format!(
        "On {} {place} {outcome} {} (found automatically).{}",
        when(now),
        labels_of(s, &reasons),
        strike_sentence(s, &strike)
    );
    let mut st = statement(s, facts, rules_of(&reasons), true, now);
    st.findings = Some(reasons);
    let main = NewEnforcement {
        user_id: user.into(),
        kind: kind.into(),
        automated: true,
        subject_kind: subject.kind.into(),
        subject_id: subject.id.clone(),
        conversation_id: subject.conversation_id.map(str::to_string),
        message_id: subject.message_id,
        decision_id: subject.decision_id,
        moderator_id: None,
        statement: st.to_value(),
        created_at: now,
        ends_at: None,
        appealable_until: appeal_deadline(s, now),
        blocked_text: subject.blocked.map(|(t, _)| t.to_string()),
        blocked_purpose: subject.blocked.and_then(|(_, p)| p.map(str::to_string)),
        strike: strike.clone(),
    };
    let mut list = vec![main];
    let new: Vec<&NewStrike> = strike.iter().collect();
    if let Some(r) = escalated_restriction(s, user, &safety, &new, now, subject.decision_id) {
        list.push(r);
    }
    Ok(list)
}

/// An enforcement as its user (or a moderator) sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Enforcement)]
pub struct EnforcementView {
    pub id: EnforcementId,
    /// block, mask, strike, warning, restriction, suspension.
    pub kind: String,
    pub automated: bool,
    pub created_at: i64,
    pub ends_at: Option<i64>,
    pub lifted_at: Option<i64>,
    pub active: bool,
    pub conversation_id: Option<String>,
    pub message_id: Option<i64>,
    #[schema(value_type = crate::domain::views::Statement)]
    pub statement: Value,
    pub appealable: bool,
    pub appealable_until: i64,
    pub appeal: Option<AppealView>,
    /// The blocked text delivered after an overturned appeal.
    pub delivered_message_id: Option<i64>,
}

impl EnforcementView {
    pub fn of(e: &Enforcement, appeal: Option<&Appeal>, now: i64) -> EnforcementView {
        let active = match e.kind.as_str() {
            "restriction" | "suspension" => e.restricts_at(now),
            _ => e.lifted_at.is_none(),
        };
        EnforcementView {
            id: EnforcementId(e.id),
            kind: e.kind.clone(),
            automated: e.automated,
            created_at: e.created_at,
            ends_at: e.ends_at,
            lifted_at: e.lifted_at,
            active,
            conversation_id: e.conversation_id.clone(),
            message_id: e.message_id,
            statement: e.statement.clone(),
            appealable: appeal.is_none() && now <= e.appealable_until && e.lifted_at.is_none(),
            appealable_until: e.appealable_until,
            appeal: appeal.map(AppealView::of),
            delivered_message_id: e.delivered_message_id,
        }
    }
}

/// The enforcement of an `enforcement.created` / `enforcement.updated` event as its user sees it
/// (the store's event data, ids in their public form): id, kind, statement, ends_at,
/// appealable and the rest of the public view that fits an event.
pub fn enforcement_event_view(data: &Value) -> Option<Value> {
    let e = data.get("enforcement")?;
    let id = e.get("id")?.as_i64()?;
    let mut v = e.clone();
    v["id"] = Value::String(EnforcementId(id).to_string());
    Some(v)
}

/// An appeal.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Appeal)]
pub struct AppealView {
    pub id: AppealId,
    pub enforcement_id: EnforcementId,
    /// The appealed decision (the enforcement's id).
    pub decision_ref: EnforcementId,
    pub appellant_id: String,
    pub statement: String,
    /// open, overturned, upheld.
    pub status: String,
    pub item_id: ItemId,
    pub created_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    pub note: Option<String>,
    /// In the review queue: the appealed enforcement's kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforcement_kind: Option<String>,
}

impl AppealView {
    pub fn of(a: &Appeal) -> AppealView {
        AppealView {
            id: AppealId(a.id),
            enforcement_id: EnforcementId(a.enforcement_id),
            decision_ref: EnforcementId(a.enforcement_id),
            appellant_id: a.appellant_id.clone(),
            statement: a.statement.clone(),
            status: a.status.clone(),
            item_id: ItemId(a.item_id),
            created_at: a.created_at,
            decided_at: a.decided_at,
            decided_by: a.decided_by.clone(),
            note: a.note.clone(),
            enforcement_kind: None,
        }
    }
}

/// A user's standing: the escalation level their strikes reach.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Standing {
    /// none, warned, restricted, ... (the policy's escalation levels).
    pub level: String,
    pub points: u32,
    pub active_strikes: usize,
    /// Unix milliseconds.
    pub strikes_expire_at: Option<i64>,
    pub restricted_until: Option<i64>,
    pub suspended: bool,
}

/// `GET /v1/me/enforcements`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyEnforcements {
    pub enforcements: Vec<EnforcementView>,
    pub standing: Standing,
}

/// A user's enforcements (newest first, at most 200) and standing.
pub async fn of_user(s: &AppState, me: &UserId) -> DomainResult<MyEnforcements> {
    let now = s.now_ms();
    let list = s.store().enforcements_of(me.as_str(), 200).await?;
    let safety = s.store().user_safety(me.as_str(), now).await?;
    let e = escalation_at(s, &safety, now);
    Ok(MyEnforcements {
        enforcements: list
            .iter()
            .map(|(e, a)| EnforcementView::of(e, a.as_ref(), now))
            .collect(),
        standing: Standing {
            level: e.level.as_str().to_string(),
            points: e.points,
            active_strikes: e.active_strikes,
            strikes_expire_at: e.strikes_expire_at.map(|x| x.saturating_mul(1000)),
            restricted_until: safety.restrictions.iter().filter_map(|r| r.ends_at).max(),
            suspended: safety.restrictions.iter().any(|r| r.kind == "suspension"),
        },
    })
}
