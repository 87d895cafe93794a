//! Deleting files, and how many files still use a blob (the server deletes a blob when its
//! last file goes).

use crate::error::{Result, StoreError};
use crate::files::{file_of, FileState, StoredFile};
use crate::model::Millis;
use crate::sql::BeginWrite;
use crate::{Backend, Store};

impl Store {
    /// Deletes a file, in one transaction with a `file.deleted` event to everyone who could
    /// see it (the owner; every member once it was clean). Returns the file and how many files
    /// still use its blob (0: the caller deletes the blob). `NotFound` if there is no such file.
    pub async fn delete_file(&self, id: &str, now: Millis) -> Result<(StoredFile, i64)> {
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let row = sqlx::query(concat!(
                "DELETE FROM files WHERE id = $1 RETURNING ",
                file_cols!()
            ))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                return Err(StoreError::NotFound("file"));
            };
            let f = file_of(&row)?;
            let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM files WHERE sha256 = $1")
                .bind(&f.sha256)
                .fetch_one(&mut *tx)
                .await?;
            let data = f.event_data().to_string();
            let mut members: Vec<String> = sqlx::query_scalar(
                "SELECT user_id FROM conversation_members WHERE conversation_id = $1",
            )
            .bind(&f.conversation_id)
            .fetch_all(&mut *tx)
            .await?;
            members.sort();
            members.retain(|u| *u == f.owner_id || f.state == FileState::Clean);
            emit!(
                tx,
                members,
                "file.deleted",
                &f.conversation_id,
                None::<i64>,
                &data,
                now
            );
            tx.commit().await?;
            Ok((f, left))
        })
    }
}
