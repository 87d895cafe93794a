//! The operator dashboard's numbers (`GET /v1/admin/dashboard`): per day over the last `days`
//! days, messages, decisions by action, review items queued and resolved, the queue's size at
//! the end of each day, appeals decided and webhook attempts; over the period, findings by
//! category, time to decision, the overturn rate on appeal (a measure of false alarms) and
//! webhook deliveries per endpoint; now, the open review items by kind and age, and the latest
//! delivery attempts.
//!
//! Every number is an aggregate query of the store (SQLite or PostgreSQL), read when asked: two
//! requests at the same moment answer the same numbers on every node.

use std::collections::BTreeMap;

use parley_store::{now_ms, Millis, WebhookEndpoint, AGE_BOUNDS_MS};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::metrics::{overturn_rate, APPEAL_DECIDED, MAX_DAYS};
use crate::export::date_of_day;
use crate::AppState;

/// Days when `days` is not given.
pub const DEFAULT_DAYS: u32 = 14;
/// How many of the latest delivery attempts the dashboard lists.
pub const RECENT_ATTEMPTS: i64 = 20;
/// The labels of the five age buckets ([`AGE_BOUNDS_MS`]).
pub const BUCKET_LABELS: [&str; 5] = ["under 1 h", "1–4 h", "4–24 h", "1–3 days", "3 days or more"];

/// `GET /v1/admin/dashboard` parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DashboardParams {
    /// 1 to 366 (default 14): the period, today (UTC) included.
    pub days: Option<u32>,
}

/// Decisions with one action.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActionCount {
    /// `allow`, `notice`, `mask`, `hold`, `block`, or a moderator's action.
    pub action: String,
    pub count: i64,
}

/// One UTC day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DashboardDay {
    /// YYYY-MM-DD (UTC).
    pub date: String,
    /// Messages stored (delivered, held or rejected).
    pub messages: i64,
    /// Policy decisions (every surface, automated or by a moderator) by action.
    pub decisions: Vec<ActionCount>,
    /// Review items queued that day.
    pub queue_opened: i64,
    /// Review items that left the queue that day (decided or withdrawn).
    pub queue_resolved: i64,
    /// Open review items at the end of the day (today: now).
    pub queue_open: i64,
    pub appeals_overturned: i64,
    pub appeals_upheld: i64,
    /// Webhook delivery attempts, and those answered 2xx.
    pub webhook_attempts: i64,
    pub webhook_attempts_succeeded: i64,
}

/// Decisions other than allow whose reasons had one category, over the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryTotal {
    pub category: String,
    pub count: i64,
}

/// One bucket of durations.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DurationBucket {
    pub label: String,
    /// Lower bound, ms (inclusive).
    pub from_ms: i64,
    /// Upper bound, ms (exclusive); null for the last bucket.
    pub to_ms: Option<i64>,
    pub count: i64,
}

/// Open review items of one kind.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenKind {
    /// `held_message`, `report` or `appeal`.
    pub kind: String,
    pub open: i64,
    /// Age of the oldest, ms.
    pub oldest_age_ms: Option<i64>,
}

/// Review items decided by a moderator in the period: from queued to decided.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimeToDecision {
    pub decided: i64,
    pub mean_ms: Option<i64>,
    pub max_ms: Option<i64>,
    pub buckets: Vec<DurationBucket>,
}

/// The review queue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueView {
    /// Open items now.
    pub open: i64,
    pub by_kind: Vec<OpenKind>,
    /// Age of the oldest open item, ms.
    pub oldest_age_ms: Option<i64>,
    /// Open items by age.
    pub age: Vec<DurationBucket>,
    pub time_to_decision: TimeToDecision,
}

/// Appeals decided in the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppealsView {
    pub decided: i64,
    pub overturned: i64,
    pub upheld: i64,
    /// Overturned / decided (null when none was decided): how often the first decision was
    /// a false alarm.
    pub overturn_rate: Option<f64>,
}

/// One webhook endpoint with its deliveries of the period's events.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EndpointSummary {
    pub id: String,
    /// The URL without its query, fragment or user info.
    pub target: String,
    pub description: String,
    /// `enabled`, `failing` (every attempt since `failing_since` failed) or `disabled`.
    pub state: String,
    pub failing_since: Option<i64>,
    pub disabled_reason: Option<String>,
    pub succeeded: i64,
    pub failed: i64,
    pub pending: i64,
    /// Succeeded / (succeeded + failed); null when none is finished.
    pub success_rate: Option<f64>,
    pub last_attempt_at: Option<i64>,
}

/// One of the latest delivery attempts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DashboardAttempt {
    pub id: i64,
    pub delivery_id: i64,
    pub endpoint_id: String,
    pub event_type: String,
    /// The `webhook-id`.
    pub event_id: String,
    pub attempted_at: i64,
    /// Null when no answer came.
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// The delivery now: `pending`, `succeeded` or `failed`.
    pub delivery_status: String,
}

/// Webhook deliveries of the period's events.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhooksView {
    pub succeeded: i64,
    pub failed: i64,
    pub pending: i64,
    /// Succeeded / (succeeded + failed); null when none is finished.
    pub success_rate: Option<f64>,
    /// Every endpoint (also those with no delivery in the period).
    pub endpoints: Vec<EndpointSummary>,
    /// The latest attempts (any time), newest first.
    pub recent_attempts: Vec<DashboardAttempt>,
}

/// `GET /v1/admin/dashboard`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Dashboard {
    pub generated_at: i64,
    /// The period's length in days, today (UTC) included.
    pub days: u32,
    /// First and last day of the period (YYYY-MM-DD, UTC).
    pub from: String,
    pub to: String,
    pub daily: Vec<DashboardDay>,
    /// Findings by category over the period, most first.
    pub findings: Vec<CategoryTotal>,
    pub queue: QueueView,
    pub appeals: AppealsView,
    pub webhooks: WebhooksView,
}

fn buckets(counts: &[i64]) -> Vec<DurationBucket> {
    BUCKET_LABELS
        .iter()
        .enumerate()
        .map(|(i, label)| DurationBucket {
            label: (*label).to_string(),
            from_ms: if i == 0 { 0 } else { AGE_BOUNDS_MS[i - 1] },
            to_ms: AGE_BOUNDS_MS.get(i).copied(),
            count: counts.get(i).copied().unwrap_or(0),
        })
        .collect()
}

fn rate(ok: i64, bad: i64) -> Option<f64> {
    (ok + bad > 0).then(|| ok as f64 / (ok + bad) as f64)
}

/// The URL to show: scheme, host, port and path (a query may carry a receiver's token).
pub fn target_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => String::new(),
    }
}

fn endpoint_state(e: &WebhookEndpoint) -> &'static str {
    if e.disabled_at.is_some() {
        "disabled"
    } else if e.failing_since.is_some() {
        "failing"
    } else {
        "enabled"
    }
}

/// The dashboard of the last `days` days (1 to [`MAX_DAYS`], default [`DEFAULT_DAYS`]).
pub async fn dashboard(s: &AppState, days: Option<u32>) -> DomainResult<Dashboard> {
    let days = days.unwrap_or(DEFAULT_DAYS);
    if days == 0 || days > MAX_DAYS {
        return Err(DomainError::invalid(format!(
            "days must be 1 to {MAX_DAYS}"
        )));
    }
    let now = now_ms();
    let today = now.div_euclid(86_400_000);
    let first = today - i64::from(days) + 1;
    let since: Millis = first * 86_400_000;
    let store = s.store();
    let messages = store.message_counts(since).await?;
    let decisions = store.decision_counts(since).await?;
    let categories = store.decision_category_counts(since).await?;
    let appeals = store
        .audit_field_counts(APPEAL_DECIDED, "outcome", since)
        .await?;
    let queue = store.queue_aggregates(since, now).await?;
    let hooks = store.webhook_aggregates(since, RECENT_ATTEMPTS).await?;
    let endpoints = store.list_webhooks().await?;

    let of_day = |v: &[parley_store::DayCount], day: i64| {
        v.iter()
            .filter(|c| c.day == day)
            .map(|c| c.count)
            .sum::<i64>()
    };
    let mut open = queue.open_at_start;
    let mut daily = Vec::new();
    for day in first..=today {
        let mut by_action: BTreeMap<&str, i64> = BTreeMap::new();
        for d in decisions.iter().filter(|d| d.day == day) {
            *by_action.entry(d.action.as_str()).or_default() += d.count;
        }
        let opened = of_day(&queue.opened, day);
        let resolved = of_day(&queue.resolved, day);
        open += opened - resolved;
        let outcome = |o: &str| {
            appeals
                .iter()
                .filter(|a| a.0 == day && a.1 == o)
                .map(|a| a.2)
                .sum::<i64>()
        };
        let attempts = hooks.attempts.iter().find(|a| a.day == day);
        daily.push(DashboardDay {
            date: date_of_day(day),
            messages: of_day(&messages, day),
            decisions: by_action
                .into_iter()
                .map(|(action, count)| ActionCount {
                    action: action.to_string(),
                    count,
                })
                .collect(),
            queue_opened: opened,
            queue_resolved: resolved,
            queue_open: open,
            appeals_overturned: outcome("overturned"),
            appeals_upheld: outcome("upheld"),
            webhook_attempts: attempts.map_or(0, |a| a.attempts),
            webhook_attempts_succeeded: attempts.map_or(0, |a| a.succeeded),
        });
    }

    let mut findings: BTreeMap<&str, i64> = BTreeMap::new();
    for c in &categories {
        *findings.entry(c.category.as_str()).or_default() += c.count;
    }
    let mut findings: Vec<CategoryTotal> = findings
        .into_iter()
        .map(|(category, count)| CategoryTotal {
            category: category.to_string(),
            count,
        })
        .collect();
    findings.sort_by(|a, b| b.count.cmp(&a.count).then(a.category.cmp(&b.category)));

    let by_kind: Vec<OpenKind> = queue
        .open
        .iter()
        .map(|k| OpenKind {
            kind: k.kind.clone(),
            open: k.open,
            oldest_age_ms: k.oldest_created_at.map(|t| (now - t).max(0)),
        })
        .collect();
    let t = &queue.decision_times;
    let queue_view = QueueView {
        open: by_kind.iter().map(|k| k.open).sum(),
        oldest_age_ms: by_kind.iter().filter_map(|k| k.oldest_age_ms).max(),
        by_kind,
        age: buckets(&queue.open_age),
        time_to_decision: TimeToDecision {
            decided: t.decided,
            mean_ms: t.mean_ms,
            max_ms: t.max_ms,
            buckets: buckets(&t.buckets),
        },
    };

    let outcomes: Vec<(&str, i64)> = appeals.iter().map(|a| (a.1.as_str(), a.2)).collect();
    let count_of = |o: &str| {
        outcomes
            .iter()
            .filter(|a| a.0 == o)
            .map(|a| a.1)
            .sum::<i64>()
    };
    let appeals_view = AppealsView {
        decided: outcomes.iter().map(|a| a.1).sum(),
        overturned: count_of("overturned"),
        upheld: count_of("upheld"),
        overturn_rate: overturn_rate(outcomes.iter().copied()),
    };

    let summaries: Vec<EndpointSummary> = endpoints
        .iter()
        .map(|e| {
            let d = hooks.endpoints.iter().find(|d| d.endpoint_id == e.id);
            let (succeeded, failed, pending) =
                d.map_or((0, 0, 0), |d| (d.succeeded, d.failed, d.pending));
            EndpointSummary {
                id: e.id.clone(),
                target: target_of(&e.url),
                description: e.description.clone(),
                state: endpoint_state(e).to_string(),
                failing_since: e.failing_since,
                disabled_reason: e.disabled_reason.clone(),
                succeeded,
                failed,
                pending,
                success_rate: rate(succeeded, failed),
                last_attempt_at: d.and_then(|d| d.last_attempt_at),
            }
        })
        .collect();
    let (succeeded, failed, pending) = hooks.endpoints.iter().fold((0, 0, 0), |acc, d| {
        (acc.0 + d.succeeded, acc.1 + d.failed, acc.2 + d.pending)
    });
    let webhooks = WebhooksView {
        succeeded,
        failed,
        pending,
        success_rate: rate(succeeded, failed),
        endpoints: summaries,
        recent_attempts: hooks
            .recent
            .into_iter()
            .map(|a| DashboardAttempt {
                id: a.id,
                delivery_id: a.delivery_id,
                endpoint_id: a.endpoint_id,
                event_type: a.event_type,
                event_id: a.event_id,
                attempted_at: a.attempted_at,
                status_code: a.status_code,
                latency_ms: a.latency_ms,
                error: a.error,
                delivery_status: a.delivery_status,
            })
            .collect(),
    };

    Ok(Dashboard {
        generated_at: now,
        days,
        from: date_of_day(first),
        to: date_of_day(today),
        daily,
        findings,
        queue: queue_view,
        appeals: appeals_view,
        webhooks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_drop_queries_and_credentials() {
        assert_eq!(
            target_of("https://u:p@hooks.example.com:8443/in?token=s3cret#x"),
            "https://hooks.example.com:8443/in"
        );
        assert_eq!(target_of("not a url"), "");
        let b = buckets(&[1, 2, 3, 4, 5]);
        assert_eq!(b.len(), 5);
        assert_eq!((b[0].from_ms, b[0].to_ms), (0, Some(3_600_000)));
        assert_eq!(
            (b[4].from_ms, b[4].to_ms, b[4].count),
            (259_200_000, None, 5)
        );
        assert_eq!(rate(0, 0), None);
        assert_eq!(rate(3, 1), Some(0.75));
    }
}
