//! Trust and safety over HTTP: the moderators' review queue (`/v1/moderation/*`), reports,
//! a user's enforcements with their statements of reasons, and appeals.
//!
//! Every enforcement (automated block or mask with its strike, a restriction the policy's
//! escalation reaches, a moderator's rejection, warning, restriction or suspension) carries a
//! statement of reasons in the sense of DSA art. 17: the facts, the rule, whether automated means
//! decided, and how to appeal (free, electronically, to a person, until a deadline). The
//! escalation itself is the policy's (`parley_policy::Policy::escalation`); the store keeps the
//! history.

use crate::check::Checked;
use crate::error::{Json, Query};
use crate::{bearer, ApiError, ApiResult, AppState};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use parley_policy::{Action, Escalation, History, Strike};
use parley_store::{
    Appeal, DecisionInput, Enforcement, ItemDecision, ItemKind, Message, ModerationItem,
    NewEnforcement, NewReport, NewStrike, QueueCursor, QueueQuery, ReportTarget, Review, Role,
    StoreError, UserSafety,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;
/// Who decides when the operator key is used instead of a moderator's token.
const OPERATOR: &str = "operator";
const MAX_NOTE: usize = parley_store::MAX_NOTE;

// ------------------------------------------------------------------------------- ids & auth

fn item_id_str(id: i64) -> String {
    format!("mi_{id}")
}
fn enforcement_id_str(id: i64) -> String {
    format!("en_{id}")
}
fn appeal_id_str(id: i64) -> String {
    format!("ap_{id}")
}
fn report_id_str(id: i64) -> String {
    format!("rp_{id}")
}

/// `mi_12` (or `12`) -> 12.
fn parse_prefixed(s: &str, prefix: &str) -> Option<i64> {
    s.strip_prefix(prefix)
        .unwrap_or(s)
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
}

/// The moderator making a request: a user with the `moderator` role, or the operator key
/// (recorded as `operator`). 401 without valid credentials, 403 for everyone else.
pub async fn require_moderator(s: &AppState, headers: &HeaderMap) -> ApiResult<String> {
    if let (Some(key), Some(given)) = (s.inner.config.admin_key.as_deref(), bearer(headers)) {
        if crate::constant_time_eq(given.as_bytes(), key.as_bytes()) {
            s.require_admin(headers)?;
            return Ok(OPERATOR.to_string());
        }
    }
    let me = s.require_user(headers).await?;
    let user = s.store().get_user(&me).await?;
    if !user.has_role(Role::Moderator) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "moderator role required",
        ));
    }
    Ok(me)
}

fn store_conflict(e: StoreError) -> ApiError {
    match &e {
        StoreError::Conflict(m) if m == parley_store::ALREADY_RESOLVED => {
            ApiError::new(StatusCode::CONFLICT, "already_resolved", m.clone())
        }
        StoreError::Conflict(m) if m == parley_store::SAME_REVIEWER => {
            ApiError::new(StatusCode::CONFLICT, "same_reviewer", m.clone())
        }
        StoreError::Conflict(m) if m == parley_store::ALREADY_APPEALED => {
            ApiError::new(StatusCode::CONFLICT, "already_appealed", m.clone())
        }
        StoreError::Forbidden(m) if *m == parley_store::APPEAL_WINDOW_CLOSED => {
            ApiError::new(StatusCode::FORBIDDEN, "appeal_window_closed", *m)
        }
        _ => e.into(),
    }
}

// ------------------------------------------------------------------------------- standing

fn to_policy_history(safety: &UserSafety) -> History {
    History {
        strikes: safety
            .strikes
            .iter()
            .map(|s| Strike {
                at: s.at.div_euclid(1000),
                weight: u32::try_from(s.weight).unwrap_or(u32::MAX),
                categories: s.categories.clone(),
            })
            .collect(),
        restricted_until: safety
            .restrictions
            .iter()
            .filter_map(|r| r.ends_at)
            .max()
            .map(|e| e.div_euclid(1000)),
    }
}

/// The sender's enforcement history for the policy (strikes not removed by an appeal, the end
/// of a restriction in force).
pub async fn history_of(s: &AppState, user: &str) -> ApiResult<History> {
    let safety = s.store().user_safety(user, s.now_ms()).await?;
    Ok(to_policy_history(&safety))
}

/// 403 `restricted` (with the statement of reasons) when a restriction or suspension is in force.
pub async fn ensure_may_post(s: &AppState, user: &str) -> ApiResult<()> {
    let now = s.now_ms();
    if let Some(r) = s.store().active_restriction(user, now).await? {
        let until = match r.ends_at {
            Some(e) => format!("until {}", when(e)),
            None => "until further notice".to_string(),
        };
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "restricted",
            format!("Your messaging is restricted {until}. You may appeal."),
        )
        .with_extra(json!({
            "enforcement_id": enforcement_id_str(r.id),
            "kind": r.kind,
            "ends_at": r.ends_at,
            "statement": r.statement,
        })));
    }
    Ok(())
}

fn escalation_at(s: &AppState, safety: &UserSafety, now: i64) -> Escalation {
    s.inner
        .policy
        .escalation(&to_policy_history(safety), now.div_euclid(1000))
}

fn when(ms: i64) -> String {
    let secs = ms.rem_euclid(DAY_MS) / 1000;
    format!(
        "{} {:02}:{:02} UTC",
        parley_store::utc_day(ms),
        secs / 3600,
        secs % 3600 / 60
    )
}

// ------------------------------------------------------------------------------- statements

fn statement(s: &AppState, facts: String, rule: String, automated: bool, now: i64) -> Value {
    let deadline = appeal_deadline(s, now);
    json!({
        "facts": facts,
        "rule": rule,
        "automated": automated,
        "how_to_appeal": format!(
            "You can appeal this decision free of charge until {}: send POST /v1/appeals with this \
             enforcement's id and why you disagree, or use the Appeal button next to it. A person \
             who did not take this decision reviews your appeal and you are told the outcome.",
            parley_store::utc_day(deadline)
        ),
        "appeal_deadline": deadline,
    })
}

fn appeal_deadline(s: &AppState, now: i64) -> i64 {
    now.saturating_add(i64::from(s.inner.config.appeal_window_days).saturating_mul(DAY_MS))
}

/// The rule texts of the violating findings, one sentence each.
fn rules_of(reasons: &Value) -> String {
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

fn labels_of(s: &AppState, reasons: &Value) -> String {
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

fn strike_of(s: &AppState, strike: Option<&Strike>, now: i64) -> Option<NewStrike> {
    let st = strike?;
    let clean = i64::from(s.inner.policy.escalation.clean_period_days).saturating_mul(DAY_MS);
    Some(NewStrike {
        weight: i64::from(st.weight),
        categories: st.categories.clone(),
        at: now,
        expires_at: now.saturating_add(clean),
    })
}

fn strike_sentence(s: &AppState, strike: &Option<NewStrike>) -> String {
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
fn escalated_restriction(
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
        statement: statement(s, facts, rule, true, now),
        created_at: now,
        ends_at: Some(until),
        appealable_until: appeal_deadline(s, now),
        blocked_text: None,
        blocked_purpose: None,
        strike: None,
    })
}

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

/// Records the enforcement of an automated mask or block (with the strike the policy gives, and
/// the restriction the escalation reaches). Other actions record nothing.
pub async fn record_automated(
    s: &AppState,
    user: &str,
    subject: AutomatedSubject<'_>,
    c: &Checked,
) -> ApiResult<Vec<Enforcement>> {
    let kind = match c.action() {
        Action::Block => "block",
        Action::Mask => "mask",
        _ => return Ok(Vec::new()),
    };
    let now = s.now_ms();
    let safety = s.store().user_safety(user, now).await?;
    // The policy decides which surfaces give strikes (`[escalation] surfaces`).
    let strike = strike_of(s, c.decision.strike.as_ref(), now);
    let reasons = json!(c.decision.reasons);
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
    st["findings"] = reasons;
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
        statement: st,
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
    let stored = s.store().record_enforcements(&list).await?;
    // The user's event log has `enforcement.created` for each (same transaction).
    s.notify(stored.iter().map(|e| e.user_id.clone()));
    tracing::info!(user = %user, kind, enforcements = stored.len(), "automated enforcement");
    Ok(stored)
}

// ------------------------------------------------------------------------------- item views

fn user_brief(users: &BTreeMap<String, String>, id: &str) -> Value {
    json!({"id": id, "name": users.get(id).cloned().unwrap_or_else(|| id.to_string())})
}

async fn names(s: &AppState, ids: Vec<String>) -> ApiResult<BTreeMap<String, String>> {
    let mut ids = ids;
    ids.sort();
    ids.dedup();
    Ok(s.store()
        .get_users(&ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect())
}

fn spans_of(reasons: &Value) -> Vec<Value> {
    reasons
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    json!({
                        "start": r["start"], "end": r["end"], "category": r["category"],
                        "confidence": r["confidence"],
                        "rule": r["rule_text"].as_str().or(r["rule"].as_str()).unwrap_or(""),
                        "matched": r["matched"], "action": r["action"],
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn max_confidence(reasons: &Value) -> Value {
    reasons
        .as_array()
        .and_then(|a| {
            a.iter()
                .filter_map(|r| r["confidence"].as_f64())
                .max_by(|x, y| x.total_cmp(y))
        })
        .map_or(Value::Null, |c| json!(c))
}

/// The automated decision a message was first given (its first version's).
async fn original_decision(s: &AppState, m: &Message) -> ApiResult<Value> {
    let versions = s.store().message_versions(m.id).await?;
    Ok(versions
        .iter()
        .rev()
        .find(|v| v.kind != "reviewed")
        .map(|v| v.decision.clone())
        .unwrap_or_else(|| m.decision.clone()))
}

fn context_json(msgs: &[Message], skip: Option<i64>, users: &BTreeMap<String, String>) -> Value {
    json!(msgs
        .iter()
        .filter(|m| Some(m.id) != skip)
        .map(|m| json!({
            "id": m.id,
            "author_id": m.author_id,
            "author_name": users.get(&m.author_id).cloned().unwrap_or_else(|| m.author_id.clone()),
            "body": if m.deleted_at.is_some() { Value::Null } else { json!(m.original) },
            "created_at": m.created_at,
            "state": if m.deleted_at.is_some() { "deleted" } else { m.state.as_str() },
        }))
        .collect::<Vec<_>>())
}

fn enforcement_json(e: &Enforcement, appeal: Option<&Appeal>, now: i64) -> Value {
    let active = match e.kind.as_str() {
        "restriction" | "suspension" => e.restricts_at(now),
        _ => e.lifted_at.is_none(),
    };
    json!({
        "id": enforcement_id_str(e.id),
        "kind": e.kind,
        "automated": e.automated,
        "created_at": e.created_at,
        "ends_at": e.ends_at,
        "lifted_at": e.lifted_at,
        "active": active,
        "conversation_id": e.conversation_id,
        "message_id": e.message_id,
        "statement": e.statement,
        "appealable": appeal.is_none() && now <= e.appealable_until && e.lifted_at.is_none(),
        "appealable_until": e.appealable_until,
        "appeal": appeal.map(appeal_json),
        "delivered_message_id": e.delivered_message_id,
    })
}

/// The enforcement of an `enforcement.created` / `enforcement.updated` event as its user sees it
/// (the store's event data, ids in their public form): id, kind, statement, ends_at,
/// appealable and the rest of the public view that fits an event.
pub fn enforcement_event_view(data: &Value) -> Option<Value> {
    let e = data.get("enforcement")?;
    let id = e.get("id")?.as_i64()?;
    let mut v = e.clone();
    v["id"] = json!(enforcement_id_str(id));
    Some(v)
}

fn appeal_json(a: &Appeal) -> Value {
    json!({
        "id": appeal_id_str(a.id),
        "enforcement_id": enforcement_id_str(a.enforcement_id),
        "decision_ref": enforcement_id_str(a.enforcement_id),
        "appellant_id": a.appellant_id,
        "statement": a.statement,
        "status": a.status,
        "item_id": item_id_str(a.item_id),
        "created_at": a.created_at,
        "decided_at": a.decided_at,
        "decided_by": a.decided_by,
        "note": a.note,
    })
}

/// One queue item as the console shows it.
pub async fn item_json(s: &AppState, item: &ModerationItem) -> ApiResult<Value> {
    let now = s.now_ms();
    let store = s.store();
    let mut evidence = json!({"text": "", "spans": []});
    let mut rule = String::new();
    let mut confidence = Value::Null;
    let mut decision = Value::Null;
    let mut context: Vec<Message> = Vec::new();
    let mut focus: Option<i64> = None;
    let mut appeal = Value::Null;
    let mut reports = Vec::new();

    let message = match item.message_id {
        Some(mid) => match store.get_message_any(mid).await {
            Ok(m) => Some(m),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    if let Some(m) = &message {
        let d = original_decision(s, m).await?;
        let reasons = d["decision"]["reasons"].clone();
        evidence = json!({"text": m.original, "spans": spans_of(&reasons)});
        confidence = max_confidence(&reasons);
        if reasons.as_array().is_some_and(|a| !a.is_empty()) {
            rule = rules_of(&reasons);
        }
        decision = json!({
            "action": d["decision"]["action"],
            "automated": d["decision"]["automated"],
            "explanation": d["decision"]["explanation"],
            "findings": reasons,
            "stage": d["stage"],
        });
        context = store.messages_around(m.id, 3).await?;
        focus = Some(m.id);
    } else if item.target_kind == "conversation" {
        context = store.recent_messages(&item.target_id, 6).await?;
    }
    match item.kind {
        ItemKind::Report => {
            let reasons: BTreeMap<&str, &str> = s
                .inner
                .config
                .report_reasons
                .iter()
                .map(|r| (r.id.as_str(), r.label.as_str()))
                .collect();
            let list = store.item_reports(item.id).await?;
            let mut given: Vec<String> = Vec::new();
            for r in &list {
                let label = reasons.get(r.reason.as_str()).copied().unwrap_or(&r.reason);
                if !given.iter().any(|g| g == label) {
                    given.push(label.to_string());
                }
                reports.push(json!({
                    "id": report_id_str(r.id), "reporter_id": r.reporter_id, "reason": r.reason,
                    "note": r.note, "created_at": r.created_at,
                }));
            }
            let reported = format!("Reported as: {}", given.join("; "));
            rule = if rule.is_empty() {
                reported
            } else {
                format!("{reported}. {rule}")
            };
        }
        ItemKind::Appeal => {
            let a = store.appeal_of_item(item.id).await?;
            let e = store.get_enforcement(a.enforcement_id).await?;
            if let Some(t) = &e.blocked_text {
                evidence = json!({"text": t, "spans": spans_of(&e.statement["findings"])});
                confidence = max_confidence(&e.statement["findings"]);
            }
            rule = e.statement["rule"].as_str().unwrap_or_default().to_string();
            decision = json!({
                "action": e.kind,
                "automated": e.automated,
                "explanation": e.statement["facts"],
                "findings": e.statement.get("findings").cloned().unwrap_or(json!([])),
                "moderator_id": e.moderator_id,
                "enforcement": enforcement_json(&e, Some(&a), now),
            });
            let mut v = appeal_json(&a);
            v["enforcement_kind"] = json!(e.kind);
            appeal = v;
        }
        ItemKind::HeldMessage => {}
    }
    let mut ids: Vec<String> = context.iter().map(|m| m.author_id.clone()).collect();
    ids.extend(item.subject_user_id.clone());
    let users = names(s, ids).await?;
    let sender_history = match &item.subject_user_id {
        Some(u) => {
            let safety = store.user_safety(u, now).await?;
            let e = escalation_at(s, &safety, now);
            json!({
                "strikes": safety.strikes.len(),
                "active_strikes": e.active_strikes,
                "points": e.points,
                "level": e.level.as_str(),
                "restricted_until": safety.restrictions.iter().filter_map(|r| r.ends_at).max(),
                "suspended": safety.restrictions.iter().any(|r| r.kind == "suspension"),
                "previous_violations": safety.violations,
            })
        }
        None => Value::Null,
    };
    Ok(json!({
        "id": item_id_str(item.id),
        "kind": item.kind.as_str(),
        "status": if item.open { "open" } else { "resolved" },
        "priority": item.priority,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "target": {"kind": item.target_kind, "id": item.target_id},
        "conversation_id": item.conversation_id,
        "message_id": item.message_id,
        "subject_user": item.subject_user_id.as_deref().map(|u| user_brief(&users, u)),
        "evidence": evidence,
        "rule": rule,
        "confidence": confidence,
        "decision": decision,
        "context": context_json(&context, focus, &users),
        "sender_history": sender_history,
        "reports": reports,
        "appeal": appeal,
        "resolution": item.resolution.as_ref().map(|r| json!({
            "action": r.action, "note": r.note, "moderator_id": r.moderator_id, "at": r.at,
        })),
    }))
}

// ------------------------------------------------------------------------------- queue

#[derive(Deserialize)]
pub struct QueueParams {
    status: Option<String>,
    kind: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

fn encode_cursor(c: QueueCursor) -> String {
    format!("{}.{}.{}", c.priority, c.created_at, c.id)
}

fn decode_cursor(s: &str) -> ApiResult<QueueCursor> {
    let bad = || ApiError::bad_request("malformed cursor");
    let mut it = s.splitn(3, '.');
    let mut next = || -> ApiResult<i64> { it.next().and_then(|x| x.parse().ok()).ok_or_else(bad) };
    Ok(QueueCursor {
        priority: next()?,
        created_at: next()?,
        id: next()?,
    })
}

/// `GET /v1/moderation/queue`.
pub async fn queue(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<QueueParams>,
) -> ApiResult<Json<Value>> {
    require_moderator(&s, &headers).await?;
    let open = match q.status.as_deref() {
        None | Some("open") => Some(true),
        Some("resolved") => Some(false),
        Some("all") => None,
        Some(x) => return Err(ApiError::bad_request(format!("unknown status {x:?}"))),
    };
    let kind = match q.kind.as_deref() {
        None | Some("") => None,
        Some(k) => Some(
            ItemKind::parse(k)
                .ok_or_else(|| ApiError::bad_request(format!("unknown kind {k:?}")))?,
        ),
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 100);
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(decode_cursor(c)?),
        None => None,
    };
    let items = s
        .store()
        .moderation_queue(&QueueQuery {
            open,
            kind,
            limit,
            after,
        })
        .await?;
    let next = (items.len() == limit as usize)
        .then(|| items.last().map(|i| encode_cursor(i.cursor())))
        .flatten();
    let mut out = Vec::with_capacity(items.len());
    for it in &items {
        out.push(item_json(&s, it).await?);
    }
    Ok(Json(json!({"items": out, "next_cursor": next})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    action: String,
    note: Option<String>,
}

fn human_decision(action: &str, moderator: &str, note: Option<&str>) -> DecisionInput {
    DecisionInput {
        surface: "moderation".into(),
        action: action.into(),
        automated: false,
        decision: json!({
            "decision": {"action": action, "automated": false, "violation": action != "approve",
                         "explanation": note, "reasons": []},
            "moderator_id": moderator,
        }),
    }
}

/// The enforcement a moderator's action imposes on `user` (besides a rejection's block).
#[allow(clippy::too_many_arguments)] // each argument is a distinct fact of the statement
fn moderator_enforcement(
    s: &AppState,
    action: &str,
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
        "warn" => (
            "warning",
            None,
            format!("On {} a moderator reviewed {about} and warned you.{note_sentence}", when(now)),
            None,
        ),
        "restrict" => {
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
        "suspend" => (
            "suspension",
            None,
            format!(
                "On {} a moderator reviewed {about} and suspended your messaging until further notice.{note_sentence}",
                when(now)
            ),
            None,
        ),
        "reject" => {
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
        _ => return None,
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
        statement: statement(s, facts, rule.to_string(), false, now),
        created_at: now,
        ends_at,
        appealable_until: appeal_deadline(s, now),
        blocked_text: None,
        blocked_purpose: None,
        strike,
    })
}

/// `POST /v1/moderation/items/{id}/decision`.
pub async fn decide_item(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<DecisionBody>,
) -> ApiResult<Json<Value>> {
    let moderator = require_moderator(&s, &headers).await?;
    let item_id = parse_prefixed(&id, "mi_").ok_or_else(|| ApiError::not_found("item"))?;
    let action = b.action.as_str();
    if !["approve", "reject", "warn", "restrict", "suspend"].contains(&action) {
        return Err(ApiError::bad_request(
            "action must be approve, reject, warn, restrict or suspend",
        ));
    }
    let note = b.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if let Some(n) = note {
        if n.len() > MAX_NOTE {
            return Err(ApiError::too_large("note", MAX_NOTE));
        }
    }
    let item = match s.store().moderation_item(item_id).await {
        Ok(i) => i,
        Err(StoreError::NotFound(_)) => return Err(ApiError::not_found("item")),
        Err(e) => return Err(e.into()),
    };
    if !item.open {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_resolved",
            parley_store::ALREADY_RESOLVED,
        ));
    }
    let now = s.now_ms();
    let mut d = ItemDecision {
        item_id,
        moderator_id: moderator.clone(),
        action: action.into(),
        note: note.map(str::to_string),
        decision: human_decision(action, &moderator, note),
        review: None,
        enforcements: Vec::new(),
        overturn: None,
        delivery_decision: None,
        removal_decision: None,
        now,
    };
    match item.kind {
        ItemKind::HeldMessage => {
            let mid = item
                .message_id
                .ok_or_else(|| ApiError::not_found("message"))?;
            let m = s.store().get_message_any(mid).await?;
            let auto = original_decision(&s, &m).await?;
            let reasons = auto["decision"]["reasons"].clone();
            let mut review_decision = human_decision(action, &moderator, note);
            review_decision.decision["decision"]["reasons"] = reasons.clone();
            review_decision.decision["stage"] = auto["stage"].clone();
            review_decision.decision["plan"] = auto["plan"].clone();
            if action == "approve" {
                review_decision.action = "allow".into();
                review_decision.decision["decision"]["action"] = json!("allow");
                review_decision.decision["decision"]["violation"] = json!(false);
                d.review = Some(Review {
                    delivered: Some(m.original.clone()),
                    decision: review_decision,
                });
            } else {
                review_decision.action = "reject".into();
                review_decision.decision["decision"]["action"] = json!("reject");
                let explanation = format!(
                    "A moderator reviewed this message and did not deliver it: {}.{}",
                    rules_of(&reasons),
                    note.map(|n| format!(" Note: {n}")).unwrap_or_default()
                );
                review_decision.decision["decision"]["explanation"] = json!(explanation);
                d.review = Some(Review {
                    delivered: None,
                    decision: review_decision,
                });
                // The rejection itself: a human block with the strike the policy gives a
                // confirmed held violation; the blocked text is kept for an appeal.
                let policy_decision: Option<parley_policy::Decision> =
                    serde_json::from_value(auto["decision"].clone()).ok();
                let strike = policy_decision
                    .as_ref()
                    .and_then(|pd| s.inner.policy.strike_on_review(pd, now.div_euclid(1000)));
                let strike = strike_of(&s, strike.as_ref(), now);
                let facts = format!(
                    "On {} a moderator reviewed your held message in conversation {} ({}) and did not deliver it.{}{}",
                    when(now),
                    m.conversation_id,
                    labels_of(&s, &reasons),
                    strike_sentence(&s, &strike),
                    note.map(|n| format!(" The moderator noted: {n}")).unwrap_or_default()
                );
                let mut st = statement(&s, facts, rules_of(&reasons), false, now);
                st["findings"] = reasons.clone();
                let safety = s.store().user_safety(&m.author_id, now).await?;
                let block = NewEnforcement {
                    user_id: m.author_id.clone(),
                    kind: "block".into(),
                    automated: false,
                    subject_kind: "message".into(),
                    subject_id: Some(m.id.to_string()),
                    conversation_id: Some(m.conversation_id.clone()),
                    message_id: Some(m.id),
                    decision_id: None,
                    moderator_id: Some(moderator.clone()),
                    statement: st,
                    created_at: now,
                    ends_at: None,
                    appealable_until: appeal_deadline(&s, now),
                    blocked_text: Some(m.original.clone()),
                    blocked_purpose: m.purpose.clone(),
                    strike: strike.clone(),
                };
                d.enforcements.push(block);
                let about = "your held message";
                // A rejection is the block above; warn, restrict and suspend add their own.
                let extra_action = if action == "reject" { "" } else { action };
                if let Some(extra) = moderator_enforcement(
                    &s,
                    extra_action,
                    &m.author_id,
                    &moderator,
                    &item,
                    about,
                    &rules_of(&reasons),
                    note,
                    now,
                ) {
                    d.enforcements.push(extra);
                }
                let new: Vec<&NewStrike> = d
                    .enforcements
                    .iter()
                    .filter_map(|e| e.strike.as_ref())
                    .collect();
                if action != "restrict" && action != "suspend" {
                    if let Some(r) =
                        escalated_restriction(&s, &m.author_id, &safety, &new, now, None)
                    {
                        d.enforcements.push(r);
                    }
                }
            }
        }
        ItemKind::Report => {
            if action != "approve" {
                let user = item.subject_user_id.clone().ok_or_else(|| {
                    ApiError::bad_request(
                        "this report names no user: approve (dismiss) it, or report the user",
                    )
                })?;
                let about = match item.target_kind.as_str() {
                    "message" => "a message of yours that was reported",
                    _ => "reports about you",
                };
                let reasons = s.store().item_reports(item.id).await?;
                let rule = reasons
                    .iter()
                    .map(|r| {
                        s.inner
                            .config
                            .report_reasons
                            .iter()
                            .find(|x| x.id == r.reason)
                            .map_or(r.reason.clone(), |x| x.label.clone())
                    })
                    .fold(Vec::<String>::new(), |mut v, l| {
                        if !v.contains(&l) {
                            v.push(l);
                        }
                        v
                    })
                    .join("; ");
                let rule = format!("Community rules: {rule}");
                if action == "reject" && item.message_id.is_some() {
                    // The reported message is removed (recipients get message.deleted).
                    let explanation = format!(
                        "A moderator removed this message after reports ({rule}).{}",
                        note.map(|n| format!(" Note: {n}")).unwrap_or_default()
                    );
                    d.removal_decision = Some(DecisionInput {
                        surface: "message".into(),
                        action: "reject".into(),
                        automated: false,
                        decision: json!({
                            "decision": {"action": "reject", "automated": false, "violation": true,
                                         "explanation": explanation, "reasons": []},
                            "moderator_id": moderator,
                            "item": item_id_str(item.id),
                        }),
                    });
                }
                if let Some(mut e) = moderator_enforcement(
                    &s, action, &user, &moderator, &item, about, &rule, note, now,
                ) {
                    if d.removal_decision.is_some() {
                        if let Some(f) = e.statement["facts"].as_str() {
                            e.statement["facts"] = json!(format!(
                                "{f} The message was removed from the conversation."
                            ));
                        }
                    }
                    let safety = s.store().user_safety(&user, now).await?;
                    let new: Vec<&NewStrike> = e.strike.iter().collect();
                    let escalated = escalated_restriction(&s, &user, &safety, &new, now, None);
                    d.enforcements.push(e);
                    d.enforcements.extend(escalated);
                }
            }
        }
        ItemKind::Appeal => {
            d.overturn = Some(match action {
                "approve" => true,
                "reject" => false,
                _ => {
                    return Err(ApiError::bad_request(
                        "an appeal is approved (overturned) or rejected (upheld)",
                    ))
                }
            });
            d.delivery_decision = Some(DecisionInput {
                surface: "message".into(),
                action: "allow".into(),
                automated: false,
                decision: json!({
                    "decision": {"action": "allow", "automated": false, "violation": false,
                                 "explanation": "Delivered after a successful appeal.", "reasons": []},
                    "moderator_id": moderator,
                    "appeal_item": item_id_str(item.id),
                }),
            });
        }
    }
    let resolved = s.store().resolve_item(&d).await.map_err(store_conflict)?;
    s.notify(resolved.notify.iter().cloned());
    tracing::info!(
        item = %item_id_str(item.id),
        kind = item.kind.as_str(),
        action,
        moderator = %moderator,
        enforcements = resolved.enforcements.len(),
        "moderation decision"
    );
    let mut out = json!({"item": item_json(&s, &resolved.item).await?});
    out["enforcements"] = json!(resolved
        .enforcements
        .iter()
        .map(|e| enforcement_json(e, None, now))
        .collect::<Vec<_>>());
    if let Some(m) = &resolved.delivered {
        out["delivered_message_id"] = json!(m.id);
    }
    if let Some(m) = &resolved.removed {
        out["removed_message_id"] = json!(m.id);
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
pub struct StatsParams {
    days: Option<u32>,
}

/// `GET /v1/moderation/stats`.
pub async fn stats(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<StatsParams>,
) -> ApiResult<Json<Value>> {
    require_moderator(&s, &headers).await?;
    let days = i64::from(q.days.unwrap_or(14).clamp(1, 90));
    let now = s.now_ms();
    let today = now - now.rem_euclid(DAY_MS);
    let since = today - (days - 1) * DAY_MS;
    let st = s.store().moderation_stats(since, now).await?;
    let rate = if st.appeals_decided > 0 {
        json!(st.appeals_overturned as f64 / st.appeals_decided as f64)
    } else {
        Value::Null
    };
    Ok(Json(json!({
        "days": days,
        "by_category": st.by_category,
        "by_action": st.by_action,
        "per_day": st.per_day.iter().map(|(d, n)| json!({"day": d, "flagged": n})).collect::<Vec<_>>(),
        "open": st.open,
        "appeals": {"decided": st.appeals_decided, "overturned": st.appeals_overturned, "overturn_rate": rate},
    })))
}

// ------------------------------------------------------------------------------- user side

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    message_id: Option<i64>,
    user_id: Option<String>,
    conversation_id: Option<String>,
    reason: String,
    note: Option<String>,
}

/// `POST /v1/reports`.
pub async fn file_report(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(b): Json<ReportBody>,
) -> ApiResult<Response> {
    let me = s.require_user(&headers).await?;
    let v = file_report_as(&s, &me, b).await?;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

/// Files `me`'s report (the body of `POST /v1/reports`); answers the 201 body. Also used by
/// the demo to seed a report.
pub async fn file_report_as(s: &AppState, me: &str, b: ReportBody) -> ApiResult<Value> {
    let target = match (b.message_id, b.user_id, b.conversation_id) {
        (Some(m), None, None) => ReportTarget::Message(m),
        (None, Some(u), None) => ReportTarget::User(u),
        (None, None, Some(c)) => ReportTarget::Conversation(c),
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of message_id, user_id, conversation_id",
            ))
        }
    };
    crate::reach::ensure_may_report(s, me, &target).await?;
    let reason = s
        .inner
        .config
        .report_reasons
        .iter()
        .find(|r| r.id == b.reason)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown reason {:?} (see GET /v1/reports/reasons)",
                b.reason
            ))
        })?;
    let note = b.note.filter(|n| !n.trim().is_empty());
    if let Some(n) = &note {
        if n.len() > MAX_NOTE {
            return Err(ApiError::too_large("note", MAX_NOTE));
        }
    }
    let filed = s
        .store()
        .file_report(
            &NewReport {
                reporter_id: me.to_owned(),
                target,
                reason: reason.id.clone(),
                note,
                priority: reason.priority,
            },
            s.now_ms(),
        )
        .await?;
    tracing::info!(item = %item_id_str(filed.item.id), merged = filed.merged, "report filed");
    let r = &filed.report;
    Ok(json!({
        "report": {
            "id": report_id_str(r.id),
            "item_id": item_id_str(r.item_id),
            "target": {"kind": r.target_kind, "id": r.target_id},
            "reason": r.reason,
            "note": r.note,
            "created_at": r.created_at,
        },
        "merged": filed.merged,
    }))
}

/// `GET /v1/reports/reasons`.
pub async fn report_reasons(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    s.require_user(&headers).await?;
    let reasons: Vec<Value> = s
        .inner
        .config
        .report_reasons
        .iter()
        .map(|r| json!({"id": r.id, "label": r.label}))
        .collect();
    Ok(Json(json!({ "reasons": reasons })))
}

/// `GET /v1/me/enforcements`.
pub async fn my_enforcements(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let me = s.require_user(&headers).await?;
    let now = s.now_ms();
    let list = s.store().enforcements_of(&me, 200).await?;
    let safety = s.store().user_safety(&me, now).await?;
    let e = escalation_at(&s, &safety, now);
    let out: Vec<Value> = list
        .iter()
        .map(|(e, a)| enforcement_json(e, a.as_ref(), now))
        .collect();
    Ok(Json(json!({
        "enforcements": out,
        "standing": {
            "level": e.level.as_str(),
            "points": e.points,
            "active_strikes": e.active_strikes,
            "strikes_expire_at": e.strikes_expire_at.map(|x| x.saturating_mul(1000)),
            "restricted_until": safety.restrictions.iter().filter_map(|r| r.ends_at).max(),
            "suspended": safety.restrictions.iter().any(|r| r.kind == "suspension"),
        },
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppealBody {
    enforcement_id: Value,
    statement: String,
}

/// `POST /v1/appeals`.
pub async fn file_appeal(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(b): Json<AppealBody>,
) -> ApiResult<Response> {
    let me = s.require_user(&headers).await?;
    let v = file_appeal_as(&s, &me, b).await?;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

/// Files `me`'s appeal (the body of `POST /v1/appeals`); answers the 201 body. Also used by
/// the demo to seed an appeal.
pub async fn file_appeal_as(s: &AppState, me: &str, b: AppealBody) -> ApiResult<Value> {
    let id = match &b.enforcement_id {
        Value::String(x) => parse_prefixed(x, "en_"),
        Value::Number(n) => n.as_i64().filter(|n| *n > 0),
        _ => None,
    }
    .ok_or_else(|| ApiError::not_found("enforcement"))?;
    let statement = b.statement.trim();
    if statement.is_empty() {
        return Err(ApiError::bad_request("statement is empty"));
    }
    if statement.len() > MAX_NOTE {
        return Err(ApiError::too_large("statement", MAX_NOTE));
    }
    let a = s
        .store()
        .file_appeal(id, me, statement, s.now_ms())
        .await
        .map_err(store_conflict)?;
    tracing::info!(appeal = %appeal_id_str(a.id), "appeal filed");
    Ok(json!({ "appeal": appeal_json(&a) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_cursors() {
        assert_eq!(parse_prefixed("mi_12", "mi_"), Some(12));
        assert_eq!(parse_prefixed("12", "mi_"), Some(12));
        assert_eq!(parse_prefixed("mi_x", "mi_"), None);
        assert_eq!(parse_prefixed("mi_0", "mi_"), None);
        let c = QueueCursor {
            priority: 50,
            created_at: 1_700_000_000_000,
            id: 7,
        };
        assert_eq!(decode_cursor(&encode_cursor(c)).unwrap(), c);
        assert!(decode_cursor("1.2").is_err());
        assert!(decode_cursor("a.b.c").is_err());
    }

    #[test]
    fn rules_and_spans_from_reasons() {
        let reasons = json!([
            {"rule_text": "No phone numbers before a contract starts", "action": "block",
             "category": "phone", "start": 3, "end": 10, "confidence": 0.9, "matched": "555"},
            {"rule_text": "ignored", "action": "allow", "category": "link", "start": 0, "end": 1,
             "confidence": 0.95}
        ]);
        assert_eq!(
            rules_of(&reasons),
            "No phone numbers before a contract starts"
        );
        assert_eq!(rules_of(&json!([])), "The platform's communication rules");
        let spans = spans_of(&reasons);
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0]["start"], 3);
        assert_eq!(
            spans[0]["rule"],
            "No phone numbers before a contract starts"
        );
        assert_eq!(max_confidence(&reasons), json!(0.95));
        assert_eq!(max_confidence(&json!(null)), Value::Null);
    }
}
