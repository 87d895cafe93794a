//! The moderators' review queue: items as the console shows them (evidence, rule, confidence,
//! context, the sender's history, reports, the appeal), listing and statistics.

use crate::domain::enforcement::{AppealView, EnforcementView};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{ItemId, ReportId};
use crate::domain::standing::escalation_at;
use crate::domain::statements::{rules_of, DAY_MS};
use crate::AppState;
use parley_store::{ItemKind, Message, ModerationItem, QueueCursor, QueueQuery, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// A person named in an item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserBrief {
    pub id: String,
    pub name: String,
}

/// One finding's place in the evidence text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceSpan {
    #[schema(value_type = Option<usize>)]
    pub start: Value,
    #[schema(value_type = Option<usize>)]
    pub end: Value,
    #[schema(value_type = Option<String>)]
    pub category: Value,
    #[schema(value_type = Option<f64>)]
    pub confidence: Value,
    /// The rule in words.
    pub rule: String,
    #[schema(value_type = Option<String>)]
    pub matched: Value,
    #[schema(value_type = Option<String>)]
    pub action: Value,
}

/// The text under review (the author's original) and where the findings are.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Evidence {
    pub text: String,
    pub spans: Vec<EvidenceSpan>,
}

/// The decision under review: the automated one of a held or reported message, or the appealed
/// enforcement.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewedDecision {
    #[schema(value_type = String)]
    pub action: Value,
    #[schema(value_type = bool)]
    pub automated: Value,
    #[schema(value_type = Option<String>)]
    pub explanation: Value,
    #[schema(value_type = Vec<crate::domain::views::Finding>)]
    pub findings: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub stage: Option<Value>,
    /// An appealed enforcement: the moderator who decided it (null when automated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderator_id: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforcement: Option<EnforcementView>,
}

/// A message around the one under review.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContextMessage {
    pub id: i64,
    pub author_id: String,
    pub author_name: String,
    pub body: Option<String>,
    pub created_at: i64,
    /// delivered, held, rejected or deleted.
    pub state: String,
}

/// The reported or flagged user's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SenderHistory {
    pub strikes: usize,
    pub active_strikes: usize,
    pub points: u32,
    pub level: String,
    pub restricted_until: Option<i64>,
    pub suspended: bool,
    pub previous_violations: i64,
}

/// One report merged into an item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportBrief {
    pub id: ReportId,
    pub reporter_id: String,
    pub reason: String,
    pub note: Option<String>,
    pub created_at: i64,
}

/// What an item is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TargetView {
    /// message, user or conversation.
    pub kind: String,
    pub id: String,
}

/// How an item was resolved.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResolutionView {
    pub action: String,
    pub note: Option<String>,
    pub moderator_id: Option<String>,
    pub at: i64,
}

/// One queue item as the console shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ModerationItem)]
pub struct ItemView {
    pub id: ItemId,
    /// held_message, report, appeal.
    pub kind: String,
    /// open or resolved.
    pub status: String,
    pub priority: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub target: TargetView,
    pub conversation_id: Option<String>,
    pub message_id: Option<i64>,
    pub subject_user: Option<UserBrief>,
    pub evidence: Evidence,
    pub rule: String,
    pub confidence: Option<f64>,
    pub decision: Option<ReviewedDecision>,
    pub context: Vec<ContextMessage>,
    pub sender_history: Option<SenderHistory>,
    pub reports: Vec<ReportBrief>,
    pub appeal: Option<AppealView>,
    pub resolution: Option<ResolutionView>,
}

async fn names(s: &AppState, ids: Vec<String>) -> DomainResult<BTreeMap<String, String>> {
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

fn spans_of(reasons: &Value) -> Vec<EvidenceSpan> {
    reasons
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| EvidenceSpan {
                    start: r["start"].clone(),
                    end: r["end"].clone(),
                    category: r["category"].clone(),
                    confidence: r["confidence"].clone(),
                    rule: r["rule_text"]
                        .as_str()
                        .or(r["rule"].as_str())
                        .unwrap_or("")
                        .to_string(),
                    matched: r["matched"].clone(),
                    action: r["action"].clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn max_confidence(reasons: &Value) -> Option<f64> {
    reasons.as_array().and_then(|a| {
        a.iter()
            .filter_map(|r| r["confidence"].as_f64())
            .max_by(|x, y| x.total_cmp(y))
    })
}

/// The automated decision a message was first given (its first version's).
pub async fn original_decision(s: &AppState, m: &Message) -> DomainResult<Value> {
    let versions = s.store().message_versions(m.id).await?;
    Ok(versions
        .iter()
        .rev()
        .find(|v| v.kind != "reviewed")
        .map(|v| v.decision.clone())
        .unwrap_or_else(|| m.decision.clone()))
}

fn context_of(
    msgs: &[Message],
    skip: Option<i64>,
    users: &BTreeMap<String, String>,
) -> Vec<ContextMessage> {
    msgs.iter()
        .filter(|m| Some(m.id) != skip)
        .map(|m| ContextMessage {
            id: m.id,
            author_id: m.author_id.clone(),
            author_name: users
                .get(&m.author_id)
                .cloned()
                .unwrap_or_else(|| m.author_id.clone()),
            body: m.deleted_at.is_none().then(|| m.original.clone()),
            created_at: m.created_at,
            state: if m.deleted_at.is_some() {
                "deleted"
            } else {
                m.state.as_str()
            }
            .to_string(),
        })
        .collect()
}

/// The labels of the reasons given in an item's reports, each once, joined.
pub fn report_labels(s: &AppState, reasons: impl Iterator<Item = String>) -> Vec<String> {
    let labels: BTreeMap<&str, &str> = s
        .inner
        .config
        .report_reasons
        .iter()
        .map(|r| (r.id.as_str(), r.label.as_str()))
        .collect();
    let mut given: Vec<String> = Vec::new();
    for r in reasons {
        let label = labels.get(r.as_str()).map_or(r.clone(), |l| l.to_string());
        if !given.contains(&label) {
            given.push(label);
        }
    }
    given
}

/// One queue item as the console shows it.
pub async fn item_view(s: &AppState, item: &ModerationItem) -> DomainResult<ItemView> {
    let now = s.now_ms();
    let store = s.store();
    let mut evidence = Evidence {
        text: String::new(),
        spans: Vec::new(),
    };
    let mut rule = String::new();
    let mut confidence = None;
    let mut decision = None;
    let mut context: Vec<Message> = Vec::new();
    let mut focus: Option<i64> = None;
    let mut appeal = None;
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
        evidence = Evidence {
            text: m.original.clone(),
            spans: spans_of(&reasons),
        };
        confidence = max_confidence(&reasons);
        if reasons.as_array().is_some_and(|a| !a.is_empty()) {
            rule = rules_of(&reasons);
        }
        decision = Some(ReviewedDecision {
            action: d["decision"]["action"].clone(),
            automated: d["decision"]["automated"].clone(),
            explanation: d["decision"]["explanation"].clone(),
            findings: reasons,
            stage: Some(d["stage"].clone()),
            moderator_id: None,
            enforcement: None,
        });
        context = store.messages_around(m.id, 3).await?;
        focus = Some(m.id);
    } else if item.target_kind == "conversation" {
        context = store.recent_messages(&item.target_id, 6).await?;
    }
    match item.kind {
        ItemKind::Report => {
            let list = store.item_reports(item.id).await?;
            let given = report_labels(s, list.iter().map(|r| r.reason.clone()));
            reports = list
                .iter()
                .map(|r| ReportBrief {
                    id: ReportId(r.id),
                    reporter_id: r.reporter_id.clone(),
                    reason: r.reason.clone(),
                    note: r.note.clone(),
                    created_at: r.created_at,
                })
                .collect();
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
                evidence = Evidence {
                    text: t.clone(),
                    spans: spans_of(&e.statement["findings"]),
                };
                confidence = max_confidence(&e.statement["findings"]);
            }
            rule = e.statement["rule"].as_str().unwrap_or_default().to_string();
            decision = Some(ReviewedDecision {
                action: Value::String(e.kind.clone()),
                automated: Value::Bool(e.automated),
                explanation: e.statement["facts"].clone(),
                findings: e
                    .statement
                    .get("findings")
                    .cloned()
                    .unwrap_or(Value::Array(Vec::new())),
                stage: None,
                moderator_id: Some(e.moderator_id.clone()),
                enforcement: Some(EnforcementView::of(&e, Some(&a), now)),
            });
            let mut v = AppealView::of(&a);
            v.enforcement_kind = Some(e.kind.clone());
            appeal = Some(v);
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
            Some(SenderHistory {
                strikes: safety.strikes.len(),
                active_strikes: e.active_strikes,
                points: e.points,
                level: e.level.as_str().to_string(),
                restricted_until: safety.restrictions.iter().filter_map(|r| r.ends_at).max(),
                suspended: safety.restrictions.iter().any(|r| r.kind == "suspension"),
                previous_violations: safety.violations,
            })
        }
        None => None,
    };
    Ok(ItemView {
        id: ItemId(item.id),
        kind: item.kind.as_str().to_string(),
        status: if item.open { "open" } else { "resolved" }.to_string(),
        priority: item.priority,
        created_at: item.created_at,
        updated_at: item.updated_at,
        target: TargetView {
            kind: item.target_kind.clone(),
            id: item.target_id.clone(),
        },
        conversation_id: item.conversation_id.clone(),
        message_id: item.message_id,
        subject_user: item.subject_user_id.as_deref().map(|u| UserBrief {
            id: u.to_string(),
            name: users.get(u).cloned().unwrap_or_else(|| u.to_string()),
        }),
        evidence,
        rule,
        confidence,
        decision,
        context: context_of(&context, focus, &users),
        sender_history,
        reports,
        appeal,
        resolution: item.resolution.as_ref().map(|r| ResolutionView {
            action: r.action.clone(),
            note: r.note.clone(),
            moderator_id: r.moderator_id.clone(),
            at: r.at,
        }),
    })
}

/// `GET /v1/moderation/queue` parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// open (default), resolved or all.
    pub status: Option<String>,
    /// held_message, report or appeal.
    pub kind: Option<String>,
    /// 1 to 100 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn encode_cursor(c: QueueCursor) -> String {
    format!("{}.{}.{}", c.priority, c.created_at, c.id)
}

fn decode_cursor(s: &str) -> DomainResult<QueueCursor> {
    let bad = || DomainError::invalid("malformed cursor");
    let mut it = s.splitn(3, '.');
    let mut next =
        || -> DomainResult<i64> { it.next().and_then(|x| x.parse().ok()).ok_or_else(bad) };
    Ok(QueueCursor {
        priority: next()?,
        created_at: next()?,
        id: next()?,
    })
}

/// A page of the queue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueuePage {
    pub items: Vec<ItemView>,
    pub next_cursor: Option<String>,
}

/// The queue: priority desc, then oldest first.
pub async fn list(s: &AppState, q: QueueParams) -> DomainResult<QueuePage> {
    let open = match q.status.as_deref() {
        None | Some("open") => Some(true),
        Some("resolved") => Some(false),
        Some("all") => None,
        Some(x) => return Err(DomainError::invalid(format!("unknown status {x:?}"))),
    };
    let kind = match q.kind.as_deref() {
        None | Some("") => None,
        Some(k) => Some(
            ItemKind::parse(k)
                .ok_or_else(|| DomainError::invalid(format!("unknown kind {k:?}")))?,
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
    let next_cursor = (items.len() == limit as usize)
        .then(|| items.last().map(|i| encode_cursor(i.cursor())))
        .flatten();
    let mut out = Vec::with_capacity(items.len());
    for it in &items {
        out.push(item_view(s, it).await?);
    }
    Ok(QueuePage {
        items: out,
        next_cursor,
    })
}

/// Flagged texts on one day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayCount {
    /// YYYY-MM-DD (UTC).
    pub day: String,
    pub flagged: i64,
}

/// Appeals decided in the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppealStats {
    pub decided: i64,
    pub overturned: i64,
    /// overturned / decided; null when none decided.
    pub overturn_rate: Option<f64>,
}

/// `GET /v1/moderation/stats`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Stats {
    pub days: i64,
    pub by_category: BTreeMap<String, i64>,
    pub by_action: BTreeMap<String, i64>,
    pub per_day: Vec<DayCount>,
    /// Open items by kind.
    pub open: BTreeMap<String, i64>,
    pub appeals: AppealStats,
}

/// Dashboard counts over the last `days` days (1 to 90, default 14).
pub async fn stats(s: &AppState, days: Option<u32>) -> DomainResult<Stats> {
    let days = i64::from(days.unwrap_or(14).clamp(1, 90));
    let now = s.now_ms();
    let today = now - now.rem_euclid(DAY_MS);
    let since = today - (days - 1) * DAY_MS;
    let st = s.store().moderation_stats(since, now).await?;
    let overturn_rate =
        (st.appeals_decided > 0).then(|| st.appeals_overturned as f64 / st.appeals_decided as f64);
    Ok(Stats {
        days,
        by_category: st.by_category,
        by_action: st.by_action,
        per_day: st
            .per_day
            .into_iter()
            .map(|(day, flagged)| DayCount { day, flagged })
            .collect(),
        open: st.open,
        appeals: AppealStats {
            decided: st.appeals_decided,
            overturned: st.appeals_overturned,
            overturn_rate,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cursors_round_trip() {
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
        assert_eq!(spans[0].start, 3);
        assert_eq!(spans[0].rule, "No phone numbers before a contract starts");
        assert_eq!(max_confidence(&reasons), Some(0.95));
        assert_eq!(max_confidence(&json!(null)), None);
    }
}
