//! Aggregates for the operator's metrics.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::model::Millis;
use crate::{Backend, Store};

/// Decisions of one day (UTC, days since 1970-01-01) with one surface, action and automated flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionCount {
    pub day: i64,
    pub surface: String,
    pub action: String,
    pub automated: bool,
    pub count: i64,
}

/// Decisions of one day, surface and action whose reasons include one category (a decision
/// with reasons of two categories counts once in each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryCount {
    pub day: i64,
    pub surface: String,
    pub action: String,
    pub category: String,
    pub count: i64,
}

/// Audit entries of one day and kind (`decision`, `report`, `appeal`, `export`, `policy`...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditKindCount {
    pub day: i64,
    pub kind: String,
    pub count: i64,
}

/// Aggregates for the operator's metrics (computed in the database: correct across nodes).
impl Store {
    /// Decisions recorded at or after `since` (ms), per day, surface, action, automated.
    pub async fn decision_counts(&self, since: Millis) -> Result<Vec<DecisionCount>> {
        on_read!(self, |p| {
            let rows: Vec<(i64, String, String, bool, i64)> = sqlx::query_as(
                "SELECT created_at / 86400000 AS day, surface, action, automated, COUNT(*) AS n \
                 FROM decisions WHERE created_at >= $1 \
                 GROUP BY created_at / 86400000, surface, action, automated \
                 ORDER BY day, surface, action, automated",
            )
            .bind(since)
            .fetch_all(p)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(day, surface, action, automated, count)| DecisionCount {
                    day,
                    surface,
                    action,
                    automated,
                    count,
                })
                .collect())
        })
    }

    /// Decisions at or after `since` per day, surface, action and category of their reasons
    /// (the server's decision JSON: `decision.reasons[].category`).
    pub async fn decision_category_counts(&self, since: Millis) -> Result<Vec<CategoryCount>> {
        type Row = (i64, String, String, String, i64);
        let rows: Vec<Row> = match &self.backend {
            Backend::Sqlite { read, .. } => {
                sqlx::query_as(
                    "SELECT d.created_at / 86400000 AS day, d.surface, d.action, \
                     CAST(json_extract(r.value, '$.category') AS TEXT) AS category, \
                     COUNT(DISTINCT d.id) AS n \
                     FROM decisions d, json_each(d.decision, '$.decision.reasons') r \
                     WHERE d.created_at >= $1 AND d.action <> 'allow' \
                     AND json_type(d.decision, '$.decision.reasons') = 'array' \
                     AND json_extract(r.value, '$.category') IS NOT NULL \
                     GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
                )
                .bind(since)
                .fetch_all(read)
                .await?
            }
            Backend::Postgres(p) => {
                sqlx::query_as(
                    "SELECT d.created_at / 86400000 AS day, d.surface, d.action, \
                     r.value->>'category' AS category, COUNT(DISTINCT d.id) AS n \
                     FROM decisions d CROSS JOIN LATERAL jsonb_array_elements( \
                       CASE WHEN jsonb_typeof(d.decision::jsonb->'decision'->'reasons') = 'array' \
                       THEN d.decision::jsonb->'decision'->'reasons' ELSE '[]'::jsonb END) AS r(value) \
                     WHERE d.created_at >= $1 AND d.action <> 'allow' \
                     AND r.value->>'category' IS NOT NULL \
                     GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
                )
                .bind(since)
                .fetch_all(p)
                .await?
            }
        };
        Ok(rows
            .into_iter()
            .map(|(day, surface, action, category, count)| CategoryCount {
                day,
                surface,
                action,
                category,
                count,
            })
            .collect())
    }

    /// Audit entries of one `kind` at or after `since` (ms), per day and value of one top-level
    /// field of their data (e.g. kind `appeal.decided`, field `outcome`); entries without the
    /// field count under `""`. `field` is a plain name (a-z, 0-9, `_`).
    pub async fn audit_field_counts(
        &self,
        kind: &str,
        field: &str,
        since: Millis,
    ) -> Result<Vec<(i64, String, i64)>> {
        if field.is_empty()
            || field.len() > 64
            || !field
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(StoreError::Invalid("field must be a plain name".into()));
        }
        let rows: Vec<(i64, String, i64)> = match &self.backend {
            Backend::Sqlite { read, .. } => {
                sqlx::query_as(
                    "SELECT at / 86400000 AS day, \
                     COALESCE(CAST(json_extract(data, '$.' || $2) AS TEXT), '') AS v, COUNT(*) AS n \
                     FROM audit_log WHERE kind = $1 AND at >= $3 GROUP BY 1, 2 ORDER BY 1, 2",
                )
                .bind(kind)
                .bind(field)
                .bind(since)
                .fetch_all(read)
                .await?
            }
            Backend::Postgres(p) => {
                sqlx::query_as(
                    "SELECT at / 86400000 AS day, COALESCE((data::jsonb)->>$2, '') AS v, \
                     COUNT(*) AS n FROM audit_log WHERE kind = $1 AND at >= $3 \
                     GROUP BY 1, 2 ORDER BY 1, 2",
                )
                .bind(kind)
                .bind(field)
                .bind(since)
                .fetch_all(p)
                .await?
            }
        };
        Ok(rows)
    }

    /// Audit entries at or after `since` (ms), per day and kind.
    pub async fn audit_counts(&self, since: Millis) -> Result<Vec<AuditKindCount>> {
        on_read!(self, |p| {
            let rows: Vec<(i64, String, i64)> = sqlx::query_as(
                "SELECT at / 86400000 AS day, kind, COUNT(*) AS n FROM audit_log \
                 WHERE at >= $1 GROUP BY at / 86400000, kind ORDER BY day, kind",
            )
            .bind(since)
            .fetch_all(p)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(day, kind, count)| AuditKindCount { day, kind, count })
                .collect())
        })
    }
}
