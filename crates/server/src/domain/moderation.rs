//! A moderator's decision on a queue item (held message, report, appeal): the review, the
//! enforcements it imposes, an overturn, all committed in one store transaction
//! ([`parley_store::Store::resolve_item`]).

use crate::domain::enforcement::EnforcementView;
use crate::domain::error::{store_conflict, DomainError, DomainResult};
use crate::domain::ids::ItemId;
use crate::domain::queue::{item_view, original_decision, report_labels, ItemView};
use crate::domain::statements::{
    appeal_deadline, escalated_restriction, labels_of, rules_of, statement, strike_of,
    strike_sentence, when, DAY_MS,
};
use crate::AppState;
use parley_policy::Action;
use parley_store::{
    DecisionInput, ItemDecision, ItemKind, Message, ModerationItem, NewEnforcement, NewStrike,
    Review, StoreError, MAX_NOTE,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Who decides when the operator key is used instead of a moderator's token.
pub const OPERATOR: &str = "operator";

/// What a moderator does with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModeratorAction {
    /// Held message: deliver it. Report: dismiss it. Appeal: overturn the decision.
    Approve,
    /// Held message: do not deliver it (a human block with its strike). Report: remove the
    /// reported message, with a strike. Appeal: uphold the decision.
    Reject,
    /// Reject (a held message) and warn the user.
    Warn,
    /// Reject and restrict the user's messaging for the policy's restriction hours.
    Restrict,
    /// Reject and suspend the user's messaging until further notice.
    Suspend,
}

impl ModeratorAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ModeratorAction::Approve => "approve",
            ModeratorAction::Reject => "reject",
            ModeratorAction::Warn => "warn",
            ModeratorAction::Restrict => "restrict",
            ModeratorAction::Suspend => "suspend",
        }
    }
}

/// `POST /v1/moderation/items/{id}/decision`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    pub action: ModeratorAction,
    /// Shown to the user in the statement of reasons (at most 2,000 bytes).
    pub note: Option<String>,
}

/// The answer to a decision: the resolved item and what it imposed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionOutcome {
    pub item: ItemView,
    pub enforcements: Vec<EnforcementView>,
    /// A held message approved, or a blocked text delivered after an overturned appeal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_message_id: Option<i64>,
    /// A reported message removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_message_id: Option<i64>,
}

/// The decision part of a stored human decision (the shape of the policy's decisions).
#[derive(Debug, Clone, Serialize)]
struct HumanVerdict {
    action: String,
    automated: bool,
    violation: bool,
    explanation: Option<String>,
    reasons: Value,
}

/// A human decision as stored.
#[derive(Debug, Clone, Serialize)]
struct HumanRecord {
    decision: HumanVerdict,
    moderator_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<Value>,
    /// The report item whose decision removed a message.
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<String>,
    /// The appeal item whose overturn delivered a blocked text.
    #[serde(skip_serializing_if = "Option::is_none")]
    appeal_item: Option<String>,
}

impl HumanRecord {
    fn new(action: &str, moderator: &str, explanation: Option<String>) -> HumanRecord {
        HumanRecord {
            decision: HumanVerdict {
                action: action.to_string(),
                automated: false,
                violation: action != "approve" && action != "allow",
                explanation,
                reasons: Value::Array(Vec::new()),
            },
            moderator_id: moderator.to_string(),
            stage: None,
            plan: None,
            item: None,
            appeal_item: None,
        }
    }
    fn input(&self, surface: &str) -> DecisionInput {
        DecisionInput {
            surface: surface.into(),
            action: self.decision.action.clone(),
            automated: false,
            decision: serde_json::to_value(self).unwrap_or(Value::Null),
        }
    }
}

/// The enforcement a moderator's action imposes on `user` (besides a rejection's block).
#[allow(clippy::too_many_arguments)] // each argument is a distinct fact of the statement
fn moderator_enforcement(
    s: &AppState,
    action: ModeratorAction,
    user: &str,
    moderator: &str,
    item: &ModerationItem,
    about: &str,
    rule: &str,
    note: Option<&str>,
    now: i64,
) -> Option<NewEnforcement> {
    let note_sentence = note
        .filter(|n| !n.trim().is_empty())
        .map(|n| format!(" The moderator noted: {n}"))
        .unwrap_or_default();
    let (kind, ends_at, facts, strike) = match action {
        ModeratorAction::Warn => (
            "warning",
            None,
            format!("On {} a moderator reviewed {about} and warned you.{note_sentence}", when(now)),
            None,
        ),
        ModeratorAction::Restrict => {
            let hours = i64::from(s.inner.policy.escalation.restriction_hours.max(1));
            let until = now.saturating_add(hours.saturating_mul(3_600_000));
            (
                "restriction",
                Some(until),
                format!(
                    "On {} a moderator reviewed {about} and restricted your messaging until {}.{note_sentence}",
                    when(now),
                    when(until)
                ),
                None,
            )
        }
        ModeratorAction::Suspend => (
            "suspension",
            None,
            format!(
                "On {} a moderator reviewed {about} and suspended your messaging until further notice.{note_sentence}",
                when(now)
            ),
            None,
        ),
        ModeratorAction::Reject => {
            let weight = s
                .inner
                .policy
                .escalation
                .weights
                .get(&Action::Block)
                .copied()
                .unwrap_or(0);
            let strike = (weight > 0).then(|| NewStrike {
                weight: i64::from(weight),
                categories: Vec::new(),
                at: now,
                expires_at: now.saturating_add(
                    i64::from(s.inner.policy.escalation.clean_period_days).saturating_mul(DAY_MS),
                ),
            });
            let facts = format!(
                "On {} a moderator reviewed {about} and found that it breaks the rules.{}{note_sentence}",
                when(now),
                strike_sentence(s, &strike)
            );
            ("strike", None, facts, strike)
        }
        ModeratorAction::Approve => return None,
    };
    Some(NewEnforcement {
        user_id: user.into(),
        kind: kind.into(),
        automated: false,
        subject_kind: item.target_kind.clone(),
        subject_id: Some(item.target_id.clone()),
        conversation_id: item.conversation_id.clone(),
        message_id: item.message_id,
        decision_id: None,
        moderator_id: Some(moderator.into()),
        statement: statement(s, facts, rule.to_string(), false, now).to_value(),
        created_at: now,
        ends_at,
        appealable_until: appeal_deadline(s, now),
        blocked_text: None,
        blocked_purpose: None,
        strike,
    })
}

/// Decides a queue item as `moderator` (a user with the moderator role, or [`OPERATOR`]).
pub async fn decide(
    s: &AppState,
    moderator: &str,
    item_id: ItemId,
    b: DecisionBody,
) -> DomainResult<DecisionOutcome> {
    let action = b.action;
    let note = b.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if let Some(n) = note {
        if n.len() > MAX_NOTE {
            return Err(DomainError::too_large("note", MAX_NOTE));
        }
    }
    let item = match s.store().moderation_item(item_id.get()).await {
        Ok(i) => i,
        Err(StoreError::NotFound(_)) => return Err(DomainError::not_found("item")),
        Err(e) => return Err(e.into()),
    };
    if !item.open {
        return Err(DomainError::Conflict {
            code: "already_resolved",
            message: parley_store::ALREADY_RESOLVED.to_string(),
        });
    }
    let now = s.now_ms();
    let mut d = ItemDecision {
        item_id: item.id,
        moderator_id: moderator.to_string(),
        action: action.as_str().into(),
        note: note.map(str::to_string),
        decision: HumanRecord::new(action.as_str(), moderator, note.map(str::to_string))
            .input("moderation"),
        review: None,
        enforcements: Vec::new(),
        overturn: None,
        delivery_decision: None,
        removal_decision: None,
        now,
    };
    let ctx = Ctx {
        s,
        moderator,
        item: &item,
        action,
        note,
        now,
    };
    match item.kind {
        ItemKind::HeldMessage => {
            let mid = item
                .message_id
                .ok_or_else(|| DomainError::not_found("message"))?;
            let m = s.store().get_message_any(mid).await?;
            held_message(&ctx, &m, &mut d).await?;
        }
        ItemKind::Report => report(&ctx, &mut d).await?,
        ItemKind::Appeal => appeal(&ctx, &mut d)?,
    }
    let resolved = s.store().resolve_item(&d).await.map_err(store_conflict)?;
    s.notify(resolved.notify.iter().cloned());
    tracing::info!(
        item = %ItemId(item.id),
        kind = item.kind.as_str(),
        action = action.as_str(),
        moderator = %moderator,
        enforcements = resolved.enforcements.len(),
        "moderation decision"
    );
    Ok(DecisionOutcome {
        item: item_view(s, &resolved.item).await?,
        enforcements: resolved
            .enforcements
            .iter()
            .map(|e| EnforcementView::of(e, None, now))
            .collect(),
        delivered_message_id: resolved.delivered.as_ref().map(|m| m.id),
        removed_message_id: resolved.removed.as_ref().map(|m| m.id),
    })
}

/// What every branch of a decision needs.
struct Ctx<'a> {
    s: &'a AppState,
    moderator: &'a str,
    item: &'a ModerationItem,
    action: ModeratorAction,
    note: Option<&'a str>,
    now: i64,
}

/// A held message: approve delivers it; anything else rejects it with a human block (and the
/// strike the policy gives a confirmed hold), plus a warning, restriction or suspension.
async fn held_message(c: &Ctx<'_>, m: &Message, d: &mut ItemDecision) -> DomainResult<()> {
    let (s, now, note) = (c.s, c.now, c.note);
    let auto = original_decision(s, m).await?;
    let reasons = auto["decision"]["reasons"].clone();
    let mut review = HumanRecord::new(c.action.as_str(), c.moderator, note.map(str::to_string));
    review.decision.reasons = reasons.clone();
    review.stage = Some(auto["stage"].clone());
    review.plan = Some(auto["plan"].clone());
    if c.action == ModeratorAction::Approve {
        review.decision.action = "allow".into();
        review.decision.violation = false;
        d.review = Some(Review {
            delivered: Some(m.original.clone()),
            decision: review.input("moderation"),
        });
        return Ok(());
    }
    review.decision.action = "reject".into();
    review.decision.violation = true;
    review.decision.explanation = Some(format!(
        "A moderator reviewed this message and did not deliver it: {}.{}",
        rules_of(&reasons),
        note.map(|n| format!(" Note: {n}")).unwrap_or_default()
    ));
    d.review = Some(Review {
        delivered: None,
        decision: review.input("moderation"),
    });
    // The rejection itself: a human block with the strike the policy gives a confirmed held
    // violation; the blocked text is kept for an appeal.
    let policy_decision: Option<parley_policy::Decision> =
        serde_json::from_value(auto["decision"].clone()).ok();
    let strike = policy_decision
        .as_ref()
        .and_then(|pd| s.inner.policy.strike_on_review(pd, now.div_euclid(1000)));
    let strike = strike_of(s, strike.as_ref(), now);
    let facts = format!(
        "On {} a moderator reviewed your held message in conversation {} ({}) and did not deliver it.{}{}",
        when(now),
        m.conversation_id,
        labels_of(s, &reasons),
        strike_sentence(s, &strike),
        note.map(|n| format!(" The moderator noted: {n}")).unwrap_or_default()
    );
    let mut st = statement(s, facts, rules_of(&reasons), false, now);
    st.findings = Some(reasons.clone());
    let safety = s.store().user_safety(&m.author_id, now).await?;
    d.enforcements.push(NewEnforcement {
        user_id: m.author_id.clone(),
        kind: "block".into(),
        automated: false,
        subject_kind: "message".into(),
        subject_id: Some(m.id.to_string()),
        conversation_id: Some(m.conversation_id.clone()),
        message_id: Some(m.id),
        decision_id: None,
        moderator_id: Some(c.moderator.to_string()),
        statement: st.to_value(),
        created_at: now,
        ends_at: None,
        appealable_until: appeal_deadline(s, now),
        blocked_text: Some(m.original.clone()),
        blocked_purpose: m.purpose.clone(),
        strike: strike.clone(),
    });
    // A rejection is the block above; warn, restrict and suspend add their own.
    if c.action != ModeratorAction::Reject {
        d.enforcements.extend(moderator_enforcement(
            s,
            c.action,
            &m.author_id,
            c.moderator,
            c.item,
            "your held message",
            &rules_of(&reasons),
            note,
            now,
        ));
    }
    let new: Vec<&NewStrike> = d
        .enforcements
        .iter()
        .filter_map(|e| e.strike.as_ref())
        .collect();
    if !matches!(
        c.action,
        ModeratorAction::Restrict | ModeratorAction::Suspend
    ) {
        if let Some(r) = escalated_restriction(s, &m.author_id, &safety, &new, now, None) {
            d.enforcements.push(r);
        }
    }
    Ok(())
}

/// A report: approve dismisses; reject removes a reported message and gives a strike; warn,
/// restrict and suspend act on the reported user.
async fn report(c: &Ctx<'_>, d: &mut ItemDecision) -> DomainResult<()> {
    let (s, item, now, note) = (c.s, c.item, c.now, c.note);
    if c.action == ModeratorAction::Approve {
        return Ok(());
    }
    let user = item.subject_user_id.clone().ok_or_else(|| {
        DomainError::invalid("this report names no user: approve (dismiss) it, or report the user")
    })?;
    let about = match item.target_kind.as_str() {
        "message" => "a message of yours that was reported",
        _ => "reports about you",
    };
    let reports = s.store().item_reports(item.id).await?;
    let rule = report_labels(s, reports.iter().map(|r| r.reason.clone())).join("; ");
    let rule = format!("Community rules: {rule}");
    if c.action == ModeratorAction::Reject && item.message_id.is_some() {
        // The reported message is removed (recipients get message.deleted).
        let explanation = format!(
            "A moderator removed this message after reports ({rule}).{}",
            note.map(|n| format!(" Note: {n}")).unwrap_or_default()
        );
        let mut removal = HumanRecord::new("reject", c.moderator, Some(explanation));
        removal.item = Some(ItemId(item.id).to_string());
        d.removal_decision = Some(removal.input("message"));
    }
    if let Some(mut e) = moderator_enforcement(
        s,
        c.action,
        &user,
        c.moderator,
        item,
        about,
        &rule,
        note,
        now,
    ) {
        if d.removal_decision.is_some() {
            if let Some(f) = e.statement["facts"].as_str() {
                e.statement["facts"] = Value::String(format!(
                    "{f} The message was removed from the conversation."
                ));
            }
        }
        let safety = s.store().user_safety(&user, now).await?;
        let new: Vec<&NewStrike> = e.strike.iter().collect();
        let escalated = escalated_restriction(s, &user, &safety, &new, now, None);
        d.enforcements.push(e);
        d.enforcements.extend(escalated);
    }
    Ok(())
}

/// An appeal: approve overturns, reject upholds (the store refuses the moderator who took the
/// appealed decision).
fn appeal(c: &Ctx<'_>, d: &mut ItemDecision) -> DomainResult<()> {
    d.overturn = Some(match c.action {
        ModeratorAction::Approve => true,
        ModeratorAction::Reject => false,
        _ => {
            return Err(DomainError::invalid(
                "an appeal is approved (overturned) or rejected (upheld)",
            ))
        }
    });
    let mut delivery = HumanRecord::new(
        "allow",
        c.moderator,
        Some("Delivered after a successful appeal.".into()),
    );
    delivery.appeal_item = Some(ItemId(c.item.id).to_string());
    d.delivery_decision = Some(delivery.input("message"));
    Ok(())
}
