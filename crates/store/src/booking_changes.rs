//! Changes to bookings (reschedule, cancel), their reminders as durable jobs fired exactly
//! once, and the private calendar feeds.

use serde_json::json;

use crate::error::{Result, StoreError};
use crate::model::Millis;
use crate::scheduling::{booking_of, retrying, Booking, REMINDERS};

use crate::sql::{BeginWrite, Get};
use crate::{Backend, Store};

/// A reminder that was fired: its booking and kind (`24h`, `10m`).
#[derive(Debug, Clone)]
pub struct FiredReminder {
    pub booking: Booking,
    pub kind: String,
}

/// Why a booking change was refused.
pub const BOOKING_CANCELLED: &str = "this booking is cancelled";

macro_rules! locked_booking {
    ($tx:ident, $id:expr, $user:expr) => {{
        // The conditional update takes the row (PostgreSQL) before reading it.
        sqlx::query("UPDATE bookings SET updated_at = updated_at WHERE id = $1")
            .bind($id)
            .execute(&mut *$tx)
            .await?;
        let row = sqlx::query(
            "SELECT id, conversation_id, proposal_id, host_id, guest_id, start_at, end_at, status, \
             sequence, reason, changed_by, created_at, updated_at FROM bookings WHERE id = $1",
        )
        .bind($id)
        .fetch_optional(&mut *$tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound("booking"));
        };
        let b = booking_of(&row)?;
        if !b.involves($user) {
            return Err(StoreError::NotFound("booking"));
        }
        if b.status != "confirmed" {
            return Err(StoreError::Conflict(BOOKING_CANCELLED.into()));
        }
        b
    }};
}

macro_rules! cancel_reminders {
    ($tx:ident, $id:expr) => {{
        sqlx::query(
            "UPDATE reminder_jobs SET state = 'cancelled' WHERE booking_id = $1 AND state = 'pending'",
        )
        .bind($id)
        .execute(&mut *$tx)
        .await?;
    }};
}

impl Store {
    /// Moves a confirmed booking (either participant): its holds move with it (the overlap
    /// check again, the booking's own old time excepted), SEQUENCE is raised, the pending
    /// reminders of the old time are cancelled and new ones planned; both are told
    /// (`booking.updated`).
    pub async fn reschedule_booking(
        &self,
        id: &str,
        user: &str,
        start_at: Millis,
        end_at: Millis,
        reason: Option<&str>,
        now: Millis,
    ) -> Result<Booking> {
        retrying(|| self.reschedule_once(id, user, start_at, end_at, reason, now)).await
    }

    async fn reschedule_once(
        &self,
        id: &str,
        user: &str,
        start_at: Millis,
        end_at: Millis,
        reason: Option<&str>,
        now: Millis,
    ) -> Result<Booking> {
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let old = locked_booking!(tx, id, user);
            lock_people!(tx, old.participants());
            sqlx::query(
                "UPDATE booking_holds SET start_at = $2, end_at = $3 WHERE booking_id = $1",
            )
            .bind(id)
            .bind(start_at)
            .bind(end_at)
            .execute(&mut *tx)
            .await?;
            let row = sqlx::query(
                "UPDATE bookings SET start_at = $2, end_at = $3, sequence = sequence + 1, \
                 reason = $4, changed_by = $5, updated_at = $6 WHERE id = $1 RETURNING id, \
                 conversation_id, proposal_id, host_id, guest_id, start_at, end_at, status, \
                 sequence, reason, changed_by, created_at, updated_at",
            )
            .bind(id)
            .bind(start_at)
            .bind(end_at)
            .bind(reason)
            .bind(user)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let b = booking_of(&row)?;
            cancel_reminders!(tx, id);
            plan_reminders!(tx, b, now);
            let mut people = b.participants().to_vec();
            people.sort();
            people.dedup();
            let data = json!({ "booking": b.view(), "change": "rescheduled" }).to_string();
            emit!(
                tx,
                people,
                "booking.updated",
                &b.conversation_id,
                None::<i64>,
                &data,
                now
            );
            tx.commit().await?;
            Ok(b)
        })
    }

    /// Cancels a confirmed booking (either participant): its holds are released, its pending
    /// reminders cancelled, SEQUENCE raised; both are told (`booking.updated`).
    pub async fn cancel_booking(
        &self,
        id: &str,
        user: &str,
        reason: Option<&str>,
        now: Millis,
    ) -> Result<Booking> {
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let _old = locked_booking!(tx, id, user);
            sqlx::query("DELETE FROM booking_holds WHERE booking_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let row = sqlx::query(
                "UPDATE bookings SET status = 'cancelled', sequence = sequence + 1, reason = $2, \
                 changed_by = $3, updated_at = $4 WHERE id = $1 RETURNING id, conversation_id, \
                 proposal_id, host_id, guest_id, start_at, end_at, status, sequence, reason, \
                 changed_by, created_at, updated_at",
            )
            .bind(id)
            .bind(reason)
            .bind(user)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let b = booking_of(&row)?;
            cancel_reminders!(tx, id);
            let mut people = b.participants().to_vec();
            people.sort();
            people.dedup();
            let data = json!({ "booking": b.view(), "change": "cancelled" }).to_string();
            emit!(
                tx,
                people,
                "booking.updated",
                &b.conversation_id,
                None::<i64>,
                &data,
                now
            );
            tx.commit().await?;
            Ok(b)
        })
    }

    /// Fires the reminders due at `now` (at most `limit`): each job is claimed (PostgreSQL:
    /// `FOR UPDATE SKIP LOCKED`, so several nodes never take the same one; SQLite: the single
    /// writer's transaction), its `booking.reminder` events written to both participants and
    /// the job marked sent, in one transaction: a reminder is delivered exactly once, whatever
    /// restarts. Jobs of a cancelled booking, or of a time it was moved from, are dropped.
    pub async fn fire_due_reminders(&self, now: Millis, limit: i64) -> Result<Vec<FiredReminder>> {
        let claim = match self.kind() {
            crate::BackendKind::Postgres => {
                "SELECT id, booking_id, kind, sequence FROM reminder_jobs \
                 WHERE state = 'pending' AND due_at <= $1 ORDER BY due_at, id LIMIT $2 \
                 FOR UPDATE SKIP LOCKED"
            }
            crate::BackendKind::Sqlite => {
                "SELECT id, booking_id, kind, sequence FROM reminder_jobs \
                 WHERE state = 'pending' AND due_at <= $1 ORDER BY due_at, id LIMIT $2"
            }
        };
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let jobs = sqlx::query(claim)
                .bind(now)
                .bind(limit.max(1))
                .fetch_all(&mut *tx)
                .await?;
            let mut fired = Vec::new();
            for j in &jobs {
                let job_id = j.i("id")?;
                let row = sqlx::query(
                    "SELECT id, conversation_id, proposal_id, host_id, guest_id, start_at, end_at, \
                     status, sequence, reason, changed_by, created_at, updated_at FROM bookings \
                     WHERE id = $1",
                )
                .bind(j.s("booking_id")?)
                .fetch_one(&mut *tx)
                .await?;
                let b = booking_of(&row)?;
                let live = b.status == "confirmed" && b.sequence == j.i("sequence")?;
                let state = if live { "sent" } else { "cancelled" };
                sqlx::query("UPDATE reminder_jobs SET state = $2, sent_at = $3 WHERE id = $1")
                    .bind(job_id)
                    .bind(state)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                if !live {
                    continue;
                }
                let kind = j.s("kind")?;
                let mut people = b.participants().to_vec();
                people.sort();
                people.dedup();
                let data = json!({ "booking": b.view(), "reminder": kind }).to_string();
                emit!(
                    tx,
                    people,
                    "booking.reminder",
                    &b.conversation_id,
                    None::<i64>,
                    &data,
                    now
                );
                fired.push(FiredReminder { booking: b, kind });
            }
            tx.commit().await?;
            Ok(fired)
        })
    }

    /// The reminders of a booking: `(kind, due_at, state)`.
    pub async fn booking_reminders(&self, id: &str) -> Result<Vec<(String, Millis, String)>> {
        on_read!(self, |p| {
            Ok(sqlx::query_as(
                "SELECT kind, due_at, state FROM reminder_jobs WHERE booking_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(p)
            .await?)
        })
    }

    /// Sets a user's calendar feed token (its hash): the previous one stops working.
    pub async fn set_calendar_feed(&self, user: &str, token_hash: &str, now: Millis) -> Result<()> {
        on_write!(self, |p| {
            sqlx::query(
                "INSERT INTO calendar_feeds (user_id, token_hash, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, \
                 created_at = excluded.created_at",
            )
            .bind(user)
            .bind(token_hash)
            .bind(now)
            .execute(p)
            .await?;
            Ok(())
        })
    }

    /// The user of a calendar feed token's hash.
    pub async fn calendar_feed_user(&self, token_hash: &str) -> Result<Option<String>> {
        on_read!(self, |p| {
            Ok(
                sqlx::query_scalar("SELECT user_id FROM calendar_feeds WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(p)
                    .await?,
            )
        })
    }
}
