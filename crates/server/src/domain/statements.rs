//! Statements of reasons (DSA art. 17) and the strikes and restrictions they announce.

use crate::domain::standing::to_policy_history;
use crate::AppState;
use parley_policy::Strike;
use parley_store::{NewEnforcement, NewStrike, UserSafety};
use serde::Serialize;
use serde_json::Value;

pub use crate::domain::clock::{when, DAY_MS};

// ------------------------------------------------------------------------------- statements

/// A statement of reasons as stored with its enforcement (see
/// [`crate::domain::views::Statement`]).
#[derive(Debug, Clone, Serialize)]
pub struct StatementRecord {
    pub facts: String,
    pub rule: String,
    pub automated: bool,
    pub how_to_appeal: String,
    pub appeal_deadline: i64,
    /// An automated decision's findings (the policy's reasons).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<Value>,
}

impl StatementRecord {
    /// The stored form.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

pub fn statement(
    s: &AppState,
    facts: String,
    rule: String,
    automated: bool,
    now: i64,
) -> StatementRecord {
    let deadline = appeal_deadline(s, now);
    StatementRecord {
        facts,
        rule,
        automated,
        how_to_appeal: format!(
            "You can appeal this decision free of charge until {}: send POST /v1/appeals with this \
             enforcement's id and why you disagree, or use the Appeal button next to it. A person \
             who did not take this decision reviews your appeal and you are told the outcome.",
            parley_store::utc_day(deadline)
        ),
        appeal_deadline: deadline,
        findings: None,
    }
}

pub fn appeal_deadline(s: &AppState, now: i64) -> i64 {
    now.saturating_add(i64::from(s.inner.config.appeal_window_days).saturating_mul(DAY_MS))
}

/// The rule texts of the violating findings, one sentence each.
pub fn rules_of(reasons: &Value) -> String {
    let mut rules: Vec<String> = reasons
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|r| r["action"] != "allow" && r["action"] != "allow_with_notice")
                .filter_map(|r| r["rule_text"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    rules.dedup();
    if rules.is_empty() {
        "The platform's communication rules".to_string()
    } else {
        rules.join(". ")
    }
}

pub fn labels_of(s: &AppState, reasons: &Value) -> String {
    let mut labels: Vec<String> = Vec::new();
    for r in reasons.as_array().into_iter().flatten() {
        if r["action"] == "allow" || r["action"] == "allow_with_notice" {
            continue;
        }
        let Some(cat) = r["category"].as_str() else {
            continue;
        };
        let label = s
            .inner
            .policy
            .texts
            .labels
            .iter()
            .find(|(c, _)| c.to_string() == cat)
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| cat.replace('_', " "));
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    match labels.len() {
        0 => "contact information".into(),
        1 => labels.remove(0),
        n => format!("{} and {}", labels[..n - 1].join(", "), labels[n - 1]),
    }
}

pub fn strike_of(s: &AppState, strike: Option<&Strike>, now: i64) -> Option<NewStrike> {
    let st = strike?;
    let clean = i64::from(s.inner.policy.escalation.clean_period_days).saturating_mul(DAY_MS);
    Some(NewStrike {
        weight: i64::from(st.weight),
        categories: st.categories.clone(),
        at: now,
        expires_at: now.saturating_add(clean),
    })
}

pub fn strike_sentence(s: &AppState, strike: &Option<NewStrike>) -> String {
    match strike {
        Some(st) => format!(
            " This counts as a strike of weight {}; strikes stop counting after {} days without a new one.",
            st.weight, s.inner.policy.escalation.clean_period_days
        ),
        None => String::new(),
    }
}

/// A restriction when the sender's strikes (with `new` ones) reach the policy's restriction
/// level and no restriction in force already lasts as long.
pub fn escalated_restriction(
    s: &AppState,
    user: &str,
    safety: &UserSafety,
    new: &[&NewStrike],
    now: i64,
    decision_id: Option<i64>,
) -> Option<NewEnforcement> {
    let mut history = to_policy_history(safety);
    history.strikes.extend(new.iter().map(|n| Strike {
        at: n.at.div_euclid(1000),
        weight: u32::try_from(n.weight).unwrap_or(u32::MAX),
        categories: n.categories.clone(),
    }));
    let e = s.inner.policy.escalation(&history, now.div_euclid(1000));
    let until = e.restricted_until?.saturating_mul(1000);
    if until <= now
        || safety
            .restrictions
            .iter()
            .any(|r| r.ends_at.is_none_or(|x| x >= until))
    {
        return None;
    }
    let facts = format!(
        "After repeated violations ({} strike points within {} days), your messaging is restricted until {}.",
        e.points,
        s.inner.policy.escalation.clean_period_days,
        when(until)
    );
    let rule = format!(
        "Senders who reach {} strike points cannot send messages for {} hours",
        s.inner.policy.escalation.restrict, s.inner.policy.escalation.restriction_hours
    );
    Some(NewEnforcement {
        user_id: user.into(),
        kind: "restriction".into(),
        automated: true,
        subject_kind: "user".into(),
        subject_id: Some(user.into()),
        conversation_id: None,
        message_id: None,
        decision_id,
        moderator_id: None,
        statement: statement(s, facts, rule, true, now).to_value(),
        created_at: now,
        ends_at: Some(until),
        appealable_until: appeal_deadline(s, now),
        blocked_text: None,
        blocked_purpose: None,
        strike: None,
    })
}
