//! Enforcements (with their strikes) and a user's standing.

use super::rows::*;
use super::*;
use crate::error::{Result, StoreError};
use crate::sql::{page_limit, BeginWrite};
use crate::{Backend, Store};

impl Store {
    /// Records enforcements (and their strikes) in one transaction, each appended to the audit
    /// trail and announced to its user (`enforcement.created` in their event log; the caller
    /// notifies the users). The user must exist.
    pub async fn record_enforcements(&self, list: &[NewEnforcement]) -> Result<Vec<Enforcement>> {
        let statements = list
            .iter()
            .map(check_enforcement)
            .collect::<Result<Vec<_>>>()?;
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let out = record_enforcements_in_tx!(tx, list, statements);
            tx.commit().await?;
            Ok(out)
        })
    }

    /// One enforcement by id.
    pub async fn get_enforcement(&self, id: i64) -> Result<Enforcement> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                cols!(enforcement),
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
                cols!(enforcement),
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
                cols!(appeal),
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
                cols!(strike),
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
                cols!(strike),
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
                cols!(enforcement),
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
                cols!(enforcement),
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
}
