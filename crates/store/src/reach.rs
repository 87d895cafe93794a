//! Who can reach whom: the reads the server uses to keep users from acting on people they have
//! never talked to (e.g. reporting a stranger).

use crate::error::Result;
use crate::{Backend, Store};

impl Store {
    /// Whether `a` and `b` are both members of at least one conversation.
    pub async fn share_a_conversation(&self, a: &str, b: &str) -> Result<bool> {
        on_read!(self, |p| {
            Ok(sqlx::query(
                "SELECT 1 FROM conversation_members x JOIN conversation_members y \
                 ON x.conversation_id = y.conversation_id \
                 WHERE x.user_id = $1 AND y.user_id = $2 LIMIT 1",
            )
            .bind(a)
            .bind(b)
            .fetch_optional(p)
            .await?
            .is_some())
        })
    }
}
