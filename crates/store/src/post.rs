//! Posting a message: the hottest write. SQLite's path is the group-committed writer's
//! (`writer.rs`); PostgreSQL's is here, one statement after the conversation's lock.

use crate::check::*;
use crate::error::{Result, StoreError};
use crate::model::*;
use crate::rows::*;
use crate::sql::{json_text, BeginWrite, Get};
use crate::txn::Conn;
use crate::{Backend, Store};
use sqlx::Postgres;

/// PostgreSQL's path for posting (5 round trips, commit included): lock the conversation row
/// (serialises posts per conversation, so message ids are in commit order and duplicate
/// client_ids are seen), check membership and the idempotency key with a fresh snapshot, then
/// one statement inserts the message, its first version and decision, updates the
/// conversation, and appends the events, locking recipients' user rows in byte order (the
/// order every other writer uses).
pub(crate) async fn post_message_pg(
    tx: &mut Conn<Postgres>,
    m: &NewMessage,
    decision: &str,
    now: Millis,
) -> Result<Posted> {
    if sqlx::query("SELECT id FROM conversations WHERE id = $1 FOR UPDATE")
        .bind(m.conversation_id.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .is_none()
    {
        return Err(StoreError::NotFound("conversation"));
    }
    let row = sqlx::query(concat!(
        "SELECT k.is_member, ",
        cols!(message as x),
        " FROM (SELECT EXISTS (SELECT 1 FROM conversation_members \
         WHERE conversation_id = $1 AND user_id = $2) AS is_member) AS k \
         LEFT JOIN messages x ON x.conversation_id = $1 AND x.author_id = $2 AND x.client_id = $3"
    ))
    .bind(m.conversation_id.as_str())
    .bind(m.author_id.as_str())
    .bind(m.client_id.as_str())
    .fetch_one(&mut *tx)
    .await?;
    if !row.b("is_member")? {
        return Err(StoreError::NotFound("conversation"));
    }
    if row.oi("id")?.is_some() {
        return Ok(Posted {
            message: message_of(&row, "")?,
            created: false,
            event_seqs: Vec::new(),
        });
    }
    let row = sqlx::query(concat!(
        "WITH msg AS (INSERT INTO messages (conversation_id, author_id, client_id, purpose, state, original, \
         delivered, decision, version, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9) RETURNING *), \
         v AS (INSERT INTO message_versions (message_id, version, kind, state, original, delivered, decision, actor_id, created_at) \
           SELECT id, 1, 'created', $5, $6, $7, $8, $2, $9 FROM msg), \
         d AS (INSERT INTO decisions (subject_kind, subject_id, conversation_id, message_id, message_version, \
           actor_id, surface, action, automated, decision, created_at) \
           SELECT 'message', id::text, $1, id, 1, $2, $10, $11, $12, $8, $9 FROM msg), \
         c AS (UPDATE conversations SET last_message_id = (SELECT id FROM msg), updated_at = $9 WHERE id = $1 AND $13), \
         r AS (SELECT u.id FROM users u JOIN conversation_members cm ON cm.user_id = u.id \
           WHERE cm.conversation_id = $1 AND ($13 OR u.id = $2) ORDER BY u.id COLLATE \"C\" FOR UPDATE OF u), \
         b AS (UPDATE users SET event_seq = users.event_seq + 1 FROM r WHERE users.id = r.id \
           RETURNING users.id, users.event_seq), \
         e AS (INSERT INTO events (user_id, seq, kind, conversation_id, message_id, data, created_at) \
           SELECT b.id, b.event_seq, 'message.created', $1, (SELECT id FROM msg), NULL, $9 FROM b) \
         SELECT ",
        cols!(message),
        " FROM msg"
    ))
    .bind(m.conversation_id.as_str())
    .bind(m.author_id.as_str())
    .bind(m.client_id.as_str())
    .bind(m.purpose.as_deref())
    .bind(m.state.as_str())
    .bind(m.original.as_str())
    .bind(m.delivered.as_deref())
    .bind(decision)
    .bind(now)
    .bind(m.decision.surface.as_str())
    .bind(m.decision.action.as_str())
    .bind(m.decision.automated)
    .bind(m.state == MessageState::Delivered)
    .fetch_one(&mut *tx)
    .await?;
    let message = message_of(&row, "")?;
    audit_post!(tx, m, message, decision, now);
    Ok(Posted {
        message,
        created: true,
        event_seqs: Vec::new(),
    })
}

/// Checks a new message; returns its decision as JSON text and its time.
pub(crate) fn check_new_message(m: &NewMessage) -> Result<(String, Millis)> {
    check_id("client_id", &m.client_id)?;
    check_text("body", &m.original)?;
    if let Some(d) = m.delivered.as_deref() {
        check_text("delivered text", d)?;
    }
    check_opt_short("purpose", m.purpose.as_deref())?;
    match (m.state, m.delivered.is_some()) {
        (MessageState::Delivered, true) | (MessageState::Held, _) => {}
        (MessageState::Delivered, false) => {
            return Err(StoreError::Invalid(
                "a delivered message needs its delivered text".into(),
            ))
        }
        (MessageState::Rejected, _) => {
            return Err(StoreError::Invalid(
                "a new message is delivered or held".into(),
            ))
        }
    }
    let decision = json_text(&m.decision.decision)?;
    Ok((decision, m.created_at.unwrap_or_else(now_ms)))
}

impl Store {
    /// Stores a message (and its first version and decision) and appends `message.created` to
    /// every member's event log (only the author's when held). Idempotent on
    /// (conversation, author, client_id): a retry returns the stored message with
    /// `created == false`. NotFound unless the author is a member.
    pub async fn post_message(&self, m: &NewMessage) -> Result<Posted> {
        let (decision, now) = check_new_message(m)?;
        match &self.backend {
            Backend::Sqlite { writer, .. } => writer.post(m, decision, now).await,
            Backend::Postgres(p) => {
                let mut tx = p.begin_write(&self.faults).await?;
                let r = post_message_pg(&mut tx, m, &decision, now).await?;
                tx.commit().await?;
                Ok(r)
            }
        }
    }
}
