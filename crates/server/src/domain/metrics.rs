//! Metrics for the operator: `GET /metrics` (Prometheus text format) and `GET /v1/metrics`
//! (JSON, per day).
//!
//! Everything is computed in the database (so every node of a cluster answers the same): policy
//! decisions by surface, action and automated flag; by category of their reasons; audit trail
//! entries by kind (`decision`, `report`, `appeal.filed`, `appeal.decided`, `enforcement`,
//! `moderation.decision`, `export`, `policy`); reports (kind `report`); appeal outcomes (kind
//! `appeal.decided`, field `outcome`: `overturned` or `upheld`) and the overturn rate (how often
//! people reverse the machine: overturned / decided). Reports and appeals are read from the
//! audit trail, where the moderation code appends them in their transactions, so these numbers
//! do not depend on the moderation tables' layout. The result is cached for [`METRICS_TTL`] per
//! node, so a scraper (or many) costs at most one aggregation per period.
//!
//! `/metrics` needs the admin key unless `metrics_public` is set (a scraper on a private
//! network); `/v1/metrics` always needs it.

use crate::domain::error::{DomainError, DomainResult};
use crate::export::date_of_day;
use crate::AppState;
use parley_store::{now_ms, AuditKindCount, CategoryCount, DecisionCount, Millis};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use utoipa::{IntoParams, ToSchema};

/// How long one aggregation is served before the database is asked again.
pub const METRICS_TTL: Duration = Duration::from_secs(15);
/// Most days `/v1/metrics` returns.
pub const MAX_DAYS: u32 = 366;

/// The numbers at one moment (all time, per day).
#[derive(Debug)]
pub struct Snapshot {
    pub generated_at: Millis,
    pub decisions: Vec<DecisionCount>,
    pub categories: Vec<CategoryCount>,
    pub audit: Vec<AuditKindCount>,
    /// `(day, outcome, count)` of decided appeals.
    pub appeals: Vec<(i64, String, i64)>,
    /// Counts over the stored calls (`domain::call_metrics`).
    pub calls: parley_store::CallStats,
}

/// The kind of the audit entry of a decided appeal, and its outcome field.
pub const APPEAL_DECIDED: &str = "appeal.decided";

/// Overturned / decided appeals (`None` when none were decided).
pub fn overturn_rate<'a>(outcomes: impl IntoIterator<Item = (&'a str, i64)>) -> Option<f64> {
    let (mut overturned, mut decided) = (0i64, 0i64);
    for (outcome, n) in outcomes {
        decided += n;
        if outcome == "overturned" {
            overturned += n;
        }
    }
    (decided > 0).then(|| overturned as f64 / decided as f64)
}

/// The per-node cache of the last snapshot.
#[derive(Default)]
pub struct Cache {
    last: tokio::sync::Mutex<Option<(Instant, Arc<Snapshot>)>>,
}

impl Cache {
    /// The cached snapshot, or a fresh one when older than [`METRICS_TTL`] (one aggregation
    /// at a time: concurrent requests wait for it instead of repeating it).
    pub async fn get(&self, s: &AppState) -> DomainResult<Arc<Snapshot>> {
        let mut last = self.last.lock().await;
        if let Some((at, snap)) = last.as_ref() {
            if at.elapsed() < METRICS_TTL {
                return Ok(snap.clone());
            }
        }
        let store = s.store();
        let snap = Arc::new(Snapshot {
            generated_at: now_ms(),
            decisions: store.decision_counts(0).await?,
            categories: store.decision_category_counts(0).await?,
            audit: store.audit_counts(0).await?,
            appeals: store
                .audit_field_counts(APPEAL_DECIDED, "outcome", 0)
                .await?,
            calls: store.call_stats().await?,
        });
        *last = Some((Instant::now(), snap.clone()));
        Ok(snap)
    }
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The Prometheus text exposition of a snapshot (totals over all time).
pub fn prometheus(snap: &Snapshot) -> String {
    let mut decisions: BTreeMap<(&str, &str, bool), i64> = BTreeMap::new();
    for d in &snap.decisions {
        *decisions
            .entry((d.surface.as_str(), d.action.as_str(), d.automated))
            .or_default() += d.count;
    }
    let mut categories: BTreeMap<(&str, &str, &str), i64> = BTreeMap::new();
    for c in &snap.categories {
        *categories
            .entry((c.surface.as_str(), c.action.as_str(), c.category.as_str()))
            .or_default() += c.count;
    }
    let mut audit: BTreeMap<&str, i64> = BTreeMap::new();
    for a in &snap.audit {
        *audit.entry(a.kind.as_str()).or_default() += a.count;
    }
    let mut out = String::new();
    out.push_str("# HELP parley_decisions_total Policy decisions recorded, by surface, action and whether made by the policy (automated) or a person.\n");
    out.push_str("# TYPE parley_decisions_total counter\n");
    for ((surface, action, automated), n) in &decisions {
        out.push_str(&format!(
            "parley_decisions_total{{surface=\"{}\",action=\"{}\",automated=\"{automated}\"}} {n}\n",
            label(surface),
            label(action)
        ));
    }
    out.push_str("# HELP parley_decision_categories_total Decisions other than allow, by surface, action and category of their reasons (a decision counts once per category).\n");
    out.push_str("# TYPE parley_decision_categories_total counter\n");
    for ((surface, action, category), n) in &categories {
        out.push_str(&format!(
            "parley_decision_categories_total{{surface=\"{}\",action=\"{}\",category=\"{}\"}} {n}\n",
            label(surface),
            label(action),
            label(category)
        ));
    }
    out.push_str("# HELP parley_audit_entries_total Audit trail entries by kind (decision, report, appeal, export, policy...).\n");
    out.push_str("# TYPE parley_audit_entries_total counter\n");
    for (kind, n) in &audit {
        out.push_str(&format!(
            "parley_audit_entries_total{{kind=\"{}\"}} {n}\n",
            label(kind)
        ));
    }
    out.push_str("# HELP parley_reports_total Reports filed (merged duplicates included), from the audit trail.\n");
    out.push_str("# TYPE parley_reports_total counter\n");
    out.push_str(&format!(
        "parley_reports_total {}\n",
        audit.get("report").copied().unwrap_or(0)
    ));
    let mut appeals: BTreeMap<&str, i64> = BTreeMap::new();
    for (_, outcome, n) in &snap.appeals {
        *appeals.entry(outcome.as_str()).or_default() += n;
    }
    out.push_str(
        "# HELP parley_appeals_decided_total Appeals decided, by outcome (overturned or upheld).\n",
    );
    out.push_str("# TYPE parley_appeals_decided_total counter\n");
    for (outcome, n) in &appeals {
        out.push_str(&format!(
            "parley_appeals_decided_total{{outcome=\"{}\"}} {n}\n",
            label(outcome)
        ));
    }
    out.push_str("# HELP parley_appeal_overturn_ratio Share of decided appeals that reversed the decision (NaN when none).\n");
    out.push_str("# TYPE parley_appeal_overturn_ratio gauge\n");
    out.push_str(&format!(
        "parley_appeal_overturn_ratio {}\n",
        overturn_rate(appeals.iter().map(|(o, n)| (*o, *n)))
            .map_or("NaN".to_string(), |r| format!("{r}"))
    ));
    out.push_str("# HELP parley_metrics_generated_timestamp_seconds When these numbers were read from the database.\n");
    out.push_str("# TYPE parley_metrics_generated_timestamp_seconds gauge\n");
    out.push_str(&format!(
        "parley_metrics_generated_timestamp_seconds {}\n",
        snap.generated_at / 1000
    ));
    out
}

/// Decisions of one kind on one day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionDay {
    pub surface: String,
    pub action: String,
    pub automated: bool,
    pub count: i64,
}

/// Findings of one category on one day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryDay {
    pub surface: String,
    pub action: String,
    pub category: String,
    pub count: i64,
}

/// Audit entries of one kind.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KindCount {
    pub kind: String,
    pub count: i64,
}

/// Appeals decided with one outcome.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutcomeCount {
    /// overturned or upheld.
    pub outcome: String,
    pub count: i64,
}

/// One day's numbers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MetricsDay {
    /// YYYY-MM-DD (UTC).
    pub date: String,
    pub decisions: Vec<DecisionDay>,
    pub categories: Vec<CategoryDay>,
    pub audit_entries: Vec<KindCount>,
    pub reports: i64,
    pub appeals_decided: Vec<OutcomeCount>,
    /// Null when no appeal was decided that day.
    pub overturn_rate: Option<f64>,
}

/// `GET /v1/metrics`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Metrics {
    pub generated_at: i64,
    pub days: Vec<MetricsDay>,
    pub overturn_rate_all_time: Option<f64>,
}

/// `GET /v1/metrics` parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MetricsParams {
    /// 1 to 366 (default 30).
    pub days: Option<u32>,
}

/// The JSON form: the last `days` days (today included), each with its counts.
pub fn json_view(snap: &Snapshot, days: u32) -> Metrics {
    let today = snap.generated_at.div_euclid(86_400_000);
    let first = today - i64::from(days.clamp(1, MAX_DAYS)) + 1;
    let mut out = Vec::new();
    for day in first..=today {
        let decisions = snap
            .decisions
            .iter()
            .filter(|d| d.day == day)
            .map(|d| DecisionDay {
                surface: d.surface.clone(),
                action: d.action.clone(),
                automated: d.automated,
                count: d.count,
            })
            .collect();
        let categories = snap
            .categories
            .iter()
            .filter(|c| c.day == day)
            .map(|c| CategoryDay {
                surface: c.surface.clone(),
                action: c.action.clone(),
                category: c.category.clone(),
                count: c.count,
            })
            .collect();
        let audit_entries = snap
            .audit
            .iter()
            .filter(|a| a.day == day)
            .map(|a| KindCount {
                kind: a.kind.clone(),
                count: a.count,
            })
            .collect();
        let appeals: Vec<(&str, i64)> = snap
            .appeals
            .iter()
            .filter(|a| a.0 == day)
            .map(|a| (a.1.as_str(), a.2))
            .collect();
        let reports: i64 = snap
            .audit
            .iter()
            .filter(|a| a.day == day && a.kind == "report")
            .map(|a| a.count)
            .sum();
        out.push(MetricsDay {
            date: date_of_day(day),
            decisions,
            categories,
            audit_entries,
            reports,
            appeals_decided: appeals
                .iter()
                .map(|(o, n)| OutcomeCount {
                    outcome: o.to_string(),
                    count: *n,
                })
                .collect(),
            overturn_rate: overturn_rate(appeals.iter().copied()),
        });
    }
    Metrics {
        generated_at: snap.generated_at,
        days: out,
        overturn_rate_all_time: overturn_rate(snap.appeals.iter().map(|a| (a.1.as_str(), a.2))),
    }
}

/// The numbers of the last `days` days (1 to [`MAX_DAYS`], default 30).
pub async fn per_day(s: &AppState, days: Option<u32>) -> DomainResult<Metrics> {
    let days = days.unwrap_or(30);
    if days == 0 || days > MAX_DAYS {
        return Err(DomainError::invalid(format!(
            "days must be 1 to {MAX_DAYS}"
        )));
    }
    let snap = s.inner.metrics.get(s).await?;
    Ok(json_view(&snap, days))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn prometheus_sums_days_and_escapes_labels() {
        let snap = Snapshot {
            generated_at: 86_400_000 * 3 + 5,
            decisions: vec![
                DecisionCount {
                    day: 1,
                    surface: "message".into(),
                    action: "mask".into(),
                    automated: true,
                    count: 2,
                },
                DecisionCount {
                    day: 3,
                    surface: "message".into(),
                    action: "mask".into(),
                    automated: true,
                    count: 3,
                },
            ],
            categories: vec![CategoryCount {
                day: 3,
                surface: "message".into(),
                action: "mask".into(),
                category: "we\"ird".into(),
                count: 1,
            }],
            audit: vec![
                AuditKindCount {
                    day: 3,
                    kind: "export".into(),
                    count: 4,
                },
                AuditKindCount {
                    day: 3,
                    kind: "report".into(),
                    count: 2,
                },
            ],
            appeals: vec![
                (2, "overturned".into(), 1),
                (3, "upheld".into(), 2),
                (3, "overturned".into(), 1),
            ],
            calls: Default::default(),
        };
        let text = prometheus(&snap);
        assert!(text.contains(
            "parley_decisions_total{surface=\"message\",action=\"mask\",automated=\"true\"} 5\n"
        ));
        assert!(text.contains("category=\"we\\\"ird\"} 1\n"));
        assert!(text.contains("parley_audit_entries_total{kind=\"export\"} 4\n"));
        assert!(text.contains("parley_reports_total 2\n"));
        assert!(text.contains("parley_appeals_decided_total{outcome=\"overturned\"} 2\n"));
        assert!(text.contains("parley_appeal_overturn_ratio 0.5\n"));
        let v = serde_json::to_value(json_view(&snap, 2)).unwrap();
        let days = v["days"].as_array().unwrap();
        assert_eq!(days.len(), 2);
        assert_eq!(days[0]["date"], "1970-01-03");
        assert_eq!(days[0]["decisions"], json!([]));
        assert_eq!(days[1]["date"], "1970-01-04");
        assert_eq!(days[1]["decisions"][0]["count"], 3);
        assert_eq!(days[1]["reports"], 2);
        assert_eq!(days[1]["overturn_rate"], json!(1.0 / 3.0));
        assert_eq!(days[0]["overturn_rate"], json!(1.0));
        let three = serde_json::to_value(json_view(&snap, 3)).unwrap();
        assert_eq!(three["days"][0]["date"], "1970-01-02");
        assert_eq!(three["days"][0]["overturn_rate"], Value::Null);
        assert_eq!(v["overturn_rate_all_time"], json!(0.5));
        assert_eq!(overturn_rate([]), None);
    }
}
