//! Files attached to messages (`message_attachments`): a finished upload (a file) is attached
//! once, by its owner, to a message of its own conversation, in the transaction that stores
//! the message; a message's files are read back in order with their current state.

use crate::error::Result;
use crate::files::{file_of, StoredFile};
use crate::sql::Get;
use crate::{Backend, Store};

/// The conflict message of a file already attached to another message.
pub const ATTACHMENT_IN_USE: &str = "the file is already attached to a message";

/// Most files one message may carry.
pub const MAX_ATTACHMENTS: usize = 20;

/// Links the files `$files` (`&[String]`, in order) to the new message `$message` (`i64`) of
/// `$m` (`&NewMessage`) inside the post's transaction. Returns from the enclosing function
/// (the transaction rolls back) with `NotFound("attachment")` when a file is not the author's
/// finished upload in that conversation, or `Conflict(ATTACHMENT_IN_USE)` when it is already
/// attached.
macro_rules! link_attachments_in_tx {
    ($tx:expr, $message:expr, $m:expr, $files:expr, $now:expr) => {{
        let la_message: i64 = $message;
        let la_now: i64 = $now;
        for (la_pos, la_file) in $files.iter().enumerate() {
            let la_done = sqlx::query(
                "INSERT INTO message_attachments \
                 (file_id, message_id, conversation_id, position, created_at) \
                 SELECT id, $2, conversation_id, $3, $4 FROM files \
                 WHERE id = $1 AND owner_id = $5 AND conversation_id = $6 \
                 AND NOT EXISTS (SELECT 1 FROM message_attachments WHERE file_id = $1)",
            )
            .bind(la_file.as_str())
            .bind(la_message)
            .bind(la_pos as i64)
            .bind(la_now)
            .bind($m.author_id.as_str())
            .bind($m.conversation_id.as_str())
            .execute(&mut *$tx)
            .await?
            .rows_affected();
            if la_done == 0 {
                let la_taken: Option<i64> = sqlx::query_scalar(
                    "SELECT message_id FROM message_attachments WHERE file_id = $1",
                )
                .bind(la_file.as_str())
                .fetch_optional(&mut *$tx)
                .await?;
                return Err(match la_taken {
                    Some(_) => $crate::error::StoreError::Conflict(
                        $crate::attachments::ATTACHMENT_IN_USE.into(),
                    ),
                    None => $crate::error::StoreError::NotFound("attachment"),
                });
            }
        }
    }};
}

/// Where a file is attached: the message and that message's author and idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentLink {
    pub message_id: i64,
    pub author_id: String,
    pub client_id: String,
}

impl Store {
    /// The message `file` is attached to, if any.
    pub async fn attachment_link(&self, file: &str) -> Result<Option<AttachmentLink>> {
        on_read!(self, |p| {
            let row = sqlx::query(
                "SELECT a.message_id, m.author_id, m.client_id FROM message_attachments a \
                 JOIN messages m ON m.id = a.message_id WHERE a.file_id = $1",
            )
            .bind(file)
            .fetch_optional(p)
            .await?;
            row.map(|r| {
                Ok(AttachmentLink {
                    message_id: r.i("message_id")?,
                    author_id: r.s("author_id")?,
                    client_id: r.s("client_id")?,
                })
            })
            .transpose()
        })
    }

    /// The files attached to each of `messages` (deleted files left out), as
    /// `(message_id, file)` in message then attachment order.
    pub async fn attachments_of(&self, messages: &[i64]) -> Result<Vec<(i64, StoredFile)>> {
        let mut out = Vec::new();
        for chunk in messages.chunks(200) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT a.message_id AS attached_to, f.* FROM message_attachments a \
                 JOIN files f ON f.id = a.file_id WHERE a.message_id IN ({}) \
                 ORDER BY a.message_id, a.position",
                marks.join(", ")
            );
            on_read!(self, |p| {
                let mut q = sqlx::query(&sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                for r in q.fetch_all(p).await? {
                    out.push((r.i("attached_to")?, file_of(&r)?));
                }
            });
        }
        Ok(out)
    }
}
