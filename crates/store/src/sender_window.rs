//! A sender's recent messages in a conversation: the split-message window that every node
//! reads from the database (index `messages_conversation_author_time`, migration 15), and the
//! guard that makes a post fail when the window moved between the read and the write.

use crate::error::{Result, StoreError};
use crate::model::*;
use crate::rows::*;
use crate::txn::Conn;
use crate::{Backend, Store};
use sqlx::Postgres;

/// The conflict a guarded post answers when the sender posted in the conversation since the
/// window was read (the caller decides again on the new window).
pub const WINDOW_MOVED: &str = "the sender's recent messages changed; decide again";

/// What a post's decision was made on: the sender's messages in the conversation since
/// `since` (Unix ms), the newest of them `head` (0: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowGuard {
    pub since: Millis,
    pub head: i64,
}

impl Store {
    /// The id of the sender's newest message in the conversation created at or after `since`
    /// (0: none); read before the window itself, so a message that lands between the two
    /// reads makes the guarded post fail rather than slip through.
    pub async fn sender_guard(
        &self,
        conversation_id: &str,
        author_id: &str,
        since: Millis,
    ) -> Result<WindowGuard> {
        on_read!(self, |p| {
            let head: Option<i64> = sqlx::query_scalar(
                "SELECT MAX(id) FROM messages WHERE conversation_id = $1 AND author_id = $2 \
                 AND created_at >= $3",
            )
            .bind(conversation_id)
            .bind(author_id)
            .bind(since)
            .fetch_one(p)
            .await?;
            Ok(WindowGuard {
                since,
                head: head.unwrap_or(0),
            })
        })
    }

    /// The sender's messages in the conversation created at or after `since`, any state,
    /// in id (commit) order, at most `limit` (the newest ones).
    pub async fn sender_recent(
        &self,
        conversation_id: &str,
        author_id: &str,
        since: Millis,
        limit: u32,
    ) -> Result<Vec<Message>> {
        let limit = i64::from(limit.clamp(1, 100));
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                cols!(message),
                " FROM messages WHERE conversation_id = $1 AND author_id = $2 \
                 AND created_at >= $3 ORDER BY id DESC LIMIT $4"
            ))
            .bind(conversation_id)
            .bind(author_id)
            .bind(since)
            .bind(limit)
            .fetch_all(p)
            .await?;
            let mut v = rows
                .iter()
                .map(|r| message_of(r, ""))
                .collect::<Result<Vec<_>>>()?;
            v.reverse();
            Ok(v)
        })
    }
}

/// In a PostgreSQL post's transaction: takes the (conversation, sender) advisory lock (held
/// to the commit, so concurrent guarded posts of one sender in one conversation run one after
/// the other on every node) and fails with [`WINDOW_MOVED`] when the sender posted in the
/// conversation since the guard was read.
pub(crate) async fn check_guard_pg(
    tx: &mut Conn<Postgres>,
    m: &NewMessage,
    g: &WindowGuard,
) -> Result<()> {
    let key = format!(
        "parley.window\u{1f}{}\u{1f}{}",
        m.conversation_id, m.author_id
    );
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 15))")
        .bind(key)
        .execute(&mut *tx)
        .await?;
    let moved: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM messages WHERE conversation_id = $1 AND author_id = $2 \
         AND created_at >= $3 AND id > $4 AND client_id <> $5)",
    )
    .bind(m.conversation_id.as_str())
    .bind(m.author_id.as_str())
    .bind(g.since)
    .bind(g.head)
    .bind(m.client_id.as_str())
    .fetch_one(&mut *tx)
    .await?;
    if moved {
        return Err(StoreError::Conflict(WINDOW_MOVED.into()));
    }
    Ok(())
}
