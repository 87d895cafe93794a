//! Counts for the moderators' dashboard.

use std::collections::BTreeMap;

use super::*;
use crate::error::Result;
use crate::sql::{json_value, Get};
use crate::{Backend, Store};

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
}
