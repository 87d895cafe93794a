//! Each user's event log ("what did I miss"): reading it, its cursor, retention.

use crate::error::{Result, StoreError};
use crate::model::*;
use crate::rows::*;
use crate::sql::{page_limit, Get};
use crate::{Backend, Store};

impl Store {
    /// The user's events after `cursor` (0 for all), oldest first, at most `limit`.
    pub async fn events_since(&self, user_id: &str, cursor: i64, limit: u32) -> Result<Vec<Event>> {
        let limit = page_limit(limit);
        on_read!(self, |p| {
            let rows = sqlx::query(
                "SELECT seq, kind, conversation_id, message_id, data, created_at FROM events \
                 WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .bind(user_id)
            .bind(cursor)
            .bind(limit)
            .fetch_all(p)
            .await?;
            rows.iter().map(event_of).collect()
        })
    }

    /// Like [`Store::events_since`], each event with its message as `user_id` may see it (the
    /// rule of [`Store::get_message`]: a member, and the message delivered or their own), in one
    /// query: the hot path of live delivery. `None` when the event has no message or the user may
    /// not see it.
    pub async fn events_with_messages(
        &self,
        user_id: &str,
        cursor: i64,
        limit: u32,
    ) -> Result<Vec<(Event, Option<Message>)>> {
        let limit = page_limit(limit);
        on_read!(self, |p| {
            let rows = sqlx::query(
                "SELECT e.seq, e.kind, e.conversation_id, e.message_id, e.data, e.created_at, \
                 (cm.user_id IS NOT NULL) AS viewer_is_member, \
                 x.id AS m_id, x.conversation_id AS m_conversation_id, x.author_id AS m_author_id, \
                 x.client_id AS m_client_id, x.purpose AS m_purpose, x.state AS m_state, \
                 x.original AS m_original, x.delivered AS m_delivered, x.decision AS m_decision, \
                 x.version AS m_version, x.created_at AS m_created_at, x.edited_at AS m_edited_at, \
                 x.deleted_at AS m_deleted_at \
                 FROM events e LEFT JOIN messages x ON x.id = e.message_id \
                 LEFT JOIN conversation_members cm \
                   ON cm.conversation_id = x.conversation_id AND cm.user_id = e.user_id \
                 WHERE e.user_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3",
            )
            .bind(user_id)
            .bind(cursor)
            .bind(limit)
            .fetch_all(p)
            .await?;
            rows.iter()
                .map(|r| {
                    let e = event_of(r)?;
                    let m = if r.oi("m_id")?.is_some() && r.b("viewer_is_member")? {
                        Some(message_of(r, "m_")?).filter(|m| m.visible_to(user_id))
                    } else {
                        None
                    };
                    Ok((e, m))
                })
                .collect()
        })
    }

    /// The user's latest event sequence number (the cursor to resume from).
    pub async fn event_cursor(&self, user_id: &str) -> Result<i64> {
        on_read!(self, |p| {
            let seq: Option<i64> = sqlx::query_scalar("SELECT event_seq FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(p)
                .await?;
            seq.ok_or(StoreError::NotFound("user"))
        })
    }

    /// The latest event sequence number of each of these users (unknown ids are skipped); at
    /// most 1000 ids. A node compares its sockets' positions with these (a lost wake-up).
    pub async fn event_heads(&self, ids: &[String]) -> Result<Vec<(String, i64)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if ids.len() > 1000 {
            return Err(StoreError::Invalid("at most 1000 ids at once".into()));
        }
        let sql = format!(
            "SELECT id, event_seq FROM users WHERE id IN ({})",
            crate::sql::placeholders(1, ids.len())
        );
        on_read!(self, |p| {
            let mut q = sqlx::query(&sql);
            for id in ids {
                q = q.bind(id.as_str());
            }
            let rows = q.fetch_all(p).await?;
            rows.iter()
                .map(|r| Ok((r.s("id")?, r.i("event_seq")?)))
                .collect()
        })
    }

    /// Deletes events older than `before` (retention); returns how many.
    pub async fn prune_events(&self, before: Millis) -> Result<u64> {
        on_write!(self, |p| {
            Ok(sqlx::query("DELETE FROM events WHERE created_at < $1")
                .bind(before)
                .execute(p)
                .await?
                .rows_affected())
        })
    }
}
