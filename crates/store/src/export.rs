//! Reads for evidence export and moderation.

use crate::error::Result;
use crate::model::{DecisionRecord, Message, MessageVersion};
use crate::rows::{decision_of, message_of, version_of};
use crate::{Backend, Store};

/// Reads for evidence export and moderation (no access check: the caller decides who may see
/// what). Each is bounded by `limit` (at most 1,000 rows per call).
impl Store {
    /// Every message of a conversation (any state, deleted ones included) with `id > after_id`,
    /// oldest first.
    pub async fn conversation_messages_all(
        &self,
        conversation_id: &str,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<Message>> {
        let limit = i64::from(limit.clamp(1, 1000));
        on_read!(self, |p| {
            let rows = sqlx::query(
                "SELECT * FROM messages WHERE conversation_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            )
            .bind(conversation_id)
            .bind(after_id)
            .bind(limit)
            .fetch_all(p)
            .await?;
            rows.iter().map(|r| message_of(r, "")).collect()
        })
    }

    /// Every version of the conversation's messages with `after_id < message_id <= upto_id`,
    /// by message then version.
    pub async fn conversation_versions(
        &self,
        conversation_id: &str,
        after_id: i64,
        upto_id: i64,
    ) -> Result<Vec<MessageVersion>> {
        on_read!(self, |p| {
            let rows = sqlx::query(
                "SELECT v.* FROM message_versions v JOIN messages m ON m.id = v.message_id \
                 WHERE m.conversation_id = $1 AND v.message_id > $2 AND v.message_id <= $3 \
                 ORDER BY v.message_id, v.version",
            )
            .bind(conversation_id)
            .bind(after_id)
            .bind(upto_id)
            .fetch_all(p)
            .await?;
            rows.iter().map(version_of).collect()
        })
    }

    /// Decisions recorded in a conversation (message posts, edits, reviews, refused attempts)
    /// with `id > after_id`, oldest first.
    pub async fn conversation_decisions(
        &self,
        conversation_id: &str,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<DecisionRecord>> {
        let limit = i64::from(limit.clamp(1, 1000));
        on_read!(self, |p| {
            let rows = sqlx::query(
                "SELECT * FROM decisions WHERE conversation_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            )
            .bind(conversation_id)
            .bind(after_id)
            .bind(limit)
            .fetch_all(p)
            .await?;
            rows.iter().map(decision_of).collect()
        })
    }
}
