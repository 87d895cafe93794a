//! Posting a message: the hottest write, with one path per backend (SQLite's group-committed
//! writer, PostgreSQL's single statement).

use crate::check::*;
use crate::error::{BackendError, Result, StoreError};
use crate::model::*;
use crate::rows::*;
use crate::sql::{json_text, BeginWrite, Get};
use crate::{Backend, Store};

/// SQLite's path for the hottest write: one writer connection serialises writes, so no row
/// locks are needed: the insert checks membership and the idempotency key, and everything
/// after it runs as one multi-statement round trip with set-based event fan-out (2 round trips
/// per message in a group-committed batch).
/// Runs inside the caller's transaction (or savepoint) on the writer connection.
pub(crate) async fn post_message_sqlite(
    tx: &mut sqlx::SqliteConnection,
    m: &NewMessage,
    decision: &str,
    now: Millis,
) -> Result<Posted> {
    // The insert checks membership and the idempotency key itself: one round trip in the
    // common case; only when it inserts nothing does a second query tell why.
    let row = sqlx::query(concat!(
        "INSERT INTO messages (conversation_id, author_id, client_id, purpose, state, original, \
         delivered, decision, version, created_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, 1, $9 \
         WHERE EXISTS (SELECT 1 FROM conversation_members WHERE conversation_id = $1 AND user_id = $2) \
         AND NOT EXISTS (SELECT 1 FROM messages WHERE conversation_id = $1 AND author_id = $2 AND client_id = $3) \
         RETURNING ",
        cols!(message)
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
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        let row = sqlx::query(concat!(
            "SELECT k.is_member, ",
            cols!(message as x),
            " FROM (SELECT COUNT(*) AS is_member FROM conversation_members \
             WHERE conversation_id = $1 AND user_id = $2) AS k \
             LEFT JOIN messages x ON x.conversation_id = $1 AND x.author_id = $2 AND x.client_id = $3"
        ))
        .bind(m.conversation_id.as_str())
        .bind(m.author_id.as_str())
        .bind(m.client_id.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if row.i("is_member")? == 0 {
            return Err(StoreError::NotFound("conversation"));
        }
        if row.oi("id")?.is_none() {
            // Nothing inserted, yet a member and no earlier message: cannot happen with one
            // writer; say so rather than guess.
            return Err(StoreError::Backend(BackendError::msg(
                "message insert skipped without a reason",
            )));
        }
        return Ok(Posted {
            message: message_of(&row, "")?,
            created: false,
            event_seqs: Vec::new(),
        });
    };
    let message = message_of(&row, "")?;
    let delivered = m.state == MessageState::Delivered;
    // The only statement that returns rows is the recipients' sequence update.
    let seqs = sqlx::query(
        "INSERT INTO message_versions (message_id, version, kind, state, original, delivered, decision, actor_id, created_at) \
         VALUES ($1, 1, 'created', $2, $3, $4, $5, $6, $7); \
         INSERT INTO decisions (subject_kind, subject_id, conversation_id, message_id, message_version, \
         actor_id, surface, action, automated, decision, created_at) \
         VALUES ('message', $8, $9, $1, 1, $6, $10, $11, $12, $5, $7); \
         UPDATE conversations SET last_message_id = $1, updated_at = $7 WHERE id = $9 AND $13; \
         UPDATE users SET event_seq = event_seq + 1 WHERE id IN \
         (SELECT user_id FROM conversation_members WHERE conversation_id = $9 AND ($13 OR user_id = $6)) \
         RETURNING id, event_seq; \
         INSERT INTO events (user_id, seq, kind, conversation_id, message_id, data, created_at) \
         SELECT u.id, u.event_seq, 'message.created', $9, $1, NULL, $7 \
         FROM conversation_members cm JOIN users u ON u.id = cm.user_id \
         WHERE cm.conversation_id = $9 AND ($13 OR cm.user_id = $6);",
    )
    .bind(message.id)
    .bind(m.state.as_str())
    .bind(m.original.as_str())
    .bind(m.delivered.as_deref())
    .bind(decision)
    .bind(m.author_id.as_str())
    .bind(now)
    .bind(message.id.to_string())
    .bind(m.conversation_id.as_str())
    .bind(m.decision.surface.as_str())
    .bind(m.decision.action.as_str())
    .bind(m.decision.automated)
    .bind(delivered)
    .fetch_all(&mut *tx)
    .await?;
    audit_post!(tx, m, message, decision, now);
    let event_seqs = seqs
        .iter()
        .map(|r| Ok((r.s("id")?, r.i("event_seq")?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Posted {
        message,
        created: true,
        event_seqs,
    })
}

/// PostgreSQL's path for posting (5 round trips, commit included): lock the conversation row
/// (serialises posts per conversation, so message ids are in commit order and duplicate
/// client_ids are seen), check membership and the idempotency key with a fresh snapshot, then
/// one statement inserts the message, its first version and decision, updates the
/// conversation, and appends the events, locking recipients' user rows in byte order (the
/// order every other writer uses).
async fn post_message_pg(
    tx: &mut sqlx::PgConnection,
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

impl Store {
    /// Stores a message (and its first version and decision) and appends `message.created` to
    /// every member's event log (only the author's when held). Idempotent on
    /// (conversation, author, client_id): a retry returns the stored message with
    /// `created == false`. NotFound unless the author is a member.
    pub async fn post_message(&self, m: &NewMessage) -> Result<Posted> {
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
        let now = m.created_at.unwrap_or_else(now_ms);
        match &self.backend {
            Backend::Sqlite { writer, .. } => writer.post(m, decision, now).await,
            Backend::Postgres(p) => {
                let mut tx = p.begin_write().await?;
                let r = post_message_pg(&mut tx, m, &decision, now).await?;
                tx.commit().await?;
                Ok(r)
            }
        }
    }
}
