//! Appeals against enforcements (their decision is [`Store::resolve_item`] on the appeal item).

use super::rows::*;
use super::*;
use crate::check::*;
use crate::error::{Result, StoreError};
use crate::sql::BeginWrite;
use crate::{Backend, Store};

impl Store {
    /// Files an appeal against one of the appellant's enforcements (free; one per enforcement)
    /// and opens an appeal item. NotFound unless it is theirs; Forbidden after its window;
    /// Conflict when already appealed.
    pub async fn file_appeal(
        &self,
        enforcement_id: i64,
        appellant_id: &str,
        statement: &str,
        now: Millis,
    ) -> Result<Appeal> {
        check_id("appellant_id", appellant_id)?;
        check_name("statement", statement, MAX_NOTE)?;
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let row = sqlx::query(concat!(
                "SELECT ",
                cols!(enforcement),
                " FROM enforcements WHERE id = $1"
            ))
            .bind(enforcement_id)
            .fetch_optional(&mut *tx)
            .await?;
            let e = match row {
                Some(r) => enforcement_of(&r)?,
                None => return Err(StoreError::NotFound("enforcement")),
            };
            if e.user_id != appellant_id {
                return Err(StoreError::NotFound("enforcement"));
            }
            if now > e.appealable_until {
                return Err(StoreError::Forbidden(APPEAL_WINDOW_CLOSED));
            }
            if sqlx::query("SELECT id FROM appeals WHERE enforcement_id = $1")
                .bind(enforcement_id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some()
            {
                return Err(StoreError::Conflict(ALREADY_APPEALED.into()));
            }
            let item_id: i64 = sqlx::query_scalar(
                "INSERT INTO moderation_items (kind, status, priority, target_kind, target_id, \
                 subject_user_id, conversation_id, message_id, created_at, updated_at) \
                 VALUES ('appeal', 'open', 40, 'enforcement', $1, $2, $3, $4, $5, $5) RETURNING id",
            )
            .bind(enforcement_id.to_string())
            .bind(appellant_id)
            .bind(e.conversation_id.as_deref())
            .bind(e.message_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let row = sqlx::query(concat!(
                "INSERT INTO appeals (enforcement_id, appellant_id, statement, item_id, status, created_at) \
                 VALUES ($1, $2, $3, $4, 'open', $5) RETURNING ",
                cols!(appeal)
            ))
            .bind(enforcement_id)
            .bind(appellant_id)
            .bind(statement)
            .bind(item_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let appeal = appeal_of(&row)?;
            audit_append!(
                tx,
                "appeal.filed",
                Some(appellant_id),
                format!("enforcement:{enforcement_id}"),
                &serde_json::json!({"appeal_id": appeal.id, "item_id": item_id,
                    "enforcement_kind": e.kind}),
                now
            );
            tx.commit().await?;
            Ok(appeal)
        })
    }

    /// The appeal of an appeal item.
    pub async fn appeal_of_item(&self, item_id: i64) -> Result<Appeal> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                cols!(appeal),
                " FROM appeals WHERE item_id = $1"
            ))
            .bind(item_id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(appeal_of)
                .unwrap_or(Err(StoreError::NotFound("appeal")))
        })
    }
}
