//! Files in conversations: resumable uploads (the tus offset of each) and the files they
//! become, with their scan state. The bytes themselves live in the server's blob storage.

use serde_json::json;

pub use crate::file_types::*;

use crate::error::{Result, StoreError};
use crate::model::Millis;
use crate::sql::{random_hex, BeginWrite, Get};
use crate::{Backend, Store};

macro_rules! upload_cols {
    () => {
        "id, owner_id, quota_key, conversation_id, filename, filetype, purpose, length, received, \
         state, expires_at, created_at, updated_at"
    };
}
macro_rules! file_cols {
    () => {
        "id, conversation_id, owner_id, quota_key, name, content_type, size, sha256, purpose, \
         state, reason, scan, reviewer_id, created_at, updated_at"
    };
}

fn upload_of(r: &impl Get) -> Result<Upload> {
    Ok(Upload {
        id: r.s("id")?,
        owner_id: r.s("owner_id")?,
        quota_key: r.s("quota_key")?,
        conversation_id: r.s("conversation_id")?,
        filename: r.s("filename")?,
        filetype: r.s("filetype")?,
        purpose: r.os("purpose")?,
        length: r.i("length")?,
        received: r.i("received")?,
        state: UploadState::parse(&r.s("state")?)?,
        expires_at: r.i("expires_at")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
    })
}

pub(crate) fn file_of(r: &impl Get) -> Result<StoredFile> {
    let state = r.s("state")?;
    Ok(StoredFile {
        id: r.s("id")?,
        conversation_id: r.s("conversation_id")?,
        owner_id: r.s("owner_id")?,
        quota_key: r.s("quota_key")?,
        name: r.s("name")?,
        content_type: r.s("content_type")?,
        size: r.i("size")?,
        sha256: r.s("sha256")?,
        purpose: r.os("purpose")?,
        state: FileState::parse(&state)
            .ok_or_else(|| StoreError::Invalid(format!("unknown file state {state:?}")))?,
        reason: r.os("reason")?,
        scan: r.os("scan")?.and_then(|s| serde_json::from_str(&s).ok()),
        reviewer_id: r.os("reviewer_id")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
    })
}

impl Store {
    /// Creates an upload for a member of the conversation (`NotFound("conversation")`
    /// otherwise), unless the owner has too many pending uploads or the quota is spent.
    pub async fn create_upload(&self, u: &NewUpload, now: Millis) -> Result<UploadCreated> {
        if u.length < 0 {
            return Err(StoreError::Invalid(
                "upload length must not be negative".into(),
            ));
        }
        let id = format!("u_{}", random_hex(12)?);
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            // The owner's row lock serialises their creations (the pending count is exact).
            let org: Option<Option<String>> = sqlx::query_scalar(
                "UPDATE users SET updated_at = updated_at WHERE id = $1 RETURNING org_id",
            )
            .bind(&u.owner_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(org) = org else {
                return Err(StoreError::NotFound("user"));
            };
            let member: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM conversation_members \
                 WHERE conversation_id = $1 AND user_id = $2",
            )
            .bind(&u.conversation_id)
            .bind(&u.owner_id)
            .fetch_one(&mut *tx)
            .await?;
            if member == 0 {
                return Err(StoreError::NotFound("conversation"));
            }
            let pending: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM uploads WHERE owner_id = $1 AND state = 'pending' \
                 AND expires_at > $2",
            )
            .bind(&u.owner_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            if pending >= u.max_pending {
                return Ok(UploadCreated::TooManyPending);
            }
            let quota_key = org.unwrap_or_else(|| format!("user:{}", u.owner_id));
            if u.quota_bytes > 0 {
                let uploads: Option<i64> = sqlx::query_scalar(
                    "SELECT CAST(SUM(length) AS BIGINT) FROM uploads WHERE quota_key = $1 \
                     AND state = 'pending' AND expires_at > $2",
                )
                .bind(&quota_key)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                let files: Option<i64> = sqlx::query_scalar(
                    "SELECT CAST(SUM(size) AS BIGINT) FROM files WHERE quota_key = $1",
                )
                .bind(&quota_key)
                .fetch_one(&mut *tx)
                .await?;
                let used = uploads.unwrap_or(0).saturating_add(files.unwrap_or(0));
                if used.saturating_add(u.length) > u.quota_bytes {
                    return Ok(UploadCreated::OverQuota { used });
                }
            }
            let row = sqlx::query(concat!(
                "INSERT INTO uploads (id, owner_id, quota_key, conversation_id, filename, \
                 filetype, purpose, length, received, state, expires_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 'pending', $9, $10, $10) RETURNING ",
                upload_cols!()
            ))
            .bind(&id)
            .bind(&u.owner_id)
            .bind(&quota_key)
            .bind(&u.conversation_id)
            .bind(&u.filename)
            .bind(&u.filetype)
            .bind(&u.purpose)
            .bind(u.length)
            .bind(u.expires_at)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let up = upload_of(&row)?;
            tx.commit().await?;
            Ok(UploadCreated::Created(Box::new(up)))
        })
    }

    pub async fn get_upload(&self, id: &str) -> Result<Upload> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                upload_cols!(),
                " FROM uploads WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(upload_of)
                .unwrap_or(Err(StoreError::NotFound("upload")))
        })
    }

    /// Moves a pending upload's offset from `from` to `to`; false when it was not at `from`
    /// (or no longer pending).
    pub async fn advance_upload(&self, id: &str, from: i64, to: i64, now: Millis) -> Result<bool> {
        on_write!(self, |p| {
            let n = sqlx::query(
                "UPDATE uploads SET received = $3, updated_at = $4 \
                 WHERE id = $1 AND received = $2 AND state = 'pending' AND $3 <= length",
            )
            .bind(id)
            .bind(from)
            .bind(to)
            .bind(now)
            .execute(p)
            .await?
            .rows_affected();
            Ok(n == 1)
        })
    }

    /// Marks a pending upload expired (its bytes are the caller's to delete); false if it was
    /// not pending.
    pub async fn expire_upload(&self, id: &str, now: Millis) -> Result<bool> {
        on_write!(self, |p| {
            let n = sqlx::query(
                "UPDATE uploads SET state = 'expired', updated_at = $2 \
                 WHERE id = $1 AND state = 'pending'",
            )
            .bind(id)
            .bind(now)
            .execute(p)
            .await?
            .rows_affected();
            Ok(n == 1)
        })
    }

    /// Deletes a pending upload (tus termination); false if there was none pending.
    pub async fn delete_upload(&self, id: &str) -> Result<bool> {
        on_write!(self, |p| {
            let n = sqlx::query("DELETE FROM uploads WHERE id = $1 AND state = 'pending'")
                .bind(id)
                .execute(p)
                .await?
                .rows_affected();
            Ok(n == 1)
        })
    }

    /// Pending uploads whose lifetime ended at `now`, oldest first.
    pub async fn due_uploads(&self, now: Millis, limit: u32) -> Result<Vec<Upload>> {
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                upload_cols!(),
                " FROM uploads WHERE state = 'pending' AND expires_at <= $1 \
                 ORDER BY expires_at LIMIT $2"
            ))
            .bind(now)
            .bind(i64::from(limit.max(1)))
            .fetch_all(p)
            .await?;
            rows.iter().map(upload_of).collect()
        })
    }

    /// Turns a fully received upload into a file in state `scanning`, and tells its owner
    /// (`file.updated`). `Conflict` if the upload is not pending with every byte received.
    pub async fn complete_upload(
        &self,
        id: &str,
        sha256: &str,
        content_type: &str,
        now: Millis,
    ) -> Result<StoredFile> {
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let row = sqlx::query(concat!(
                "UPDATE uploads SET state = 'complete', updated_at = $2 \
                 WHERE id = $1 AND state = 'pending' AND received = length RETURNING ",
                upload_cols!()
            ))
            .bind(id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                return Err(StoreError::Conflict("the upload is not complete".into()));
            };
            let u = upload_of(&row)?;
            let row = sqlx::query(concat!(
                "INSERT INTO files (id, conversation_id, owner_id, quota_key, name, content_type, \
                 size, sha256, purpose, state, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'scanning', $10, $10) RETURNING ",
                file_cols!()
            ))
            .bind(&u.id)
            .bind(&u.conversation_id)
            .bind(&u.owner_id)
            .bind(&u.quota_key)
            .bind(&u.filename)
            .bind(content_type)
            .bind(u.length)
            .bind(sha256)
            .bind(&u.purpose)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let f = file_of(&row)?;
            let data = f.event_data().to_string();
            let owner = [f.owner_id.clone()];
            emit!(
                tx,
                owner,
                "file.updated",
                &f.conversation_id,
                None::<i64>,
                &data,
                now
            );
            tx.commit().await?;
            Ok(f)
        })
    }

    /// Moves a file from one of `t.from` to `t.to` in one transaction with its events: the
    /// owner gets `file.updated`; when it becomes clean the other members get `file.created`.
    /// `None` if the file was not in one of `t.from`.
    pub async fn transition_file(
        &self,
        t: &FileTransition<'_>,
        now: Millis,
    ) -> Result<Option<StoredFile>> {
        let scan = t.scan.map(|v| v.to_string());
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let current: Option<String> =
                sqlx::query_scalar("SELECT state FROM files WHERE id = $1")
                    .bind(t.id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(current) = current else {
                return Err(StoreError::NotFound("file"));
            };
            if !t.from.iter().any(|s| s.as_str() == current) {
                return Ok(None);
            }
            let row = sqlx::query(concat!(
                "UPDATE files SET state = $2, reason = $3, scan = COALESCE($4, scan), \
                 reviewer_id = COALESCE($5, reviewer_id), updated_at = $6 WHERE id = $1 \
                 RETURNING ",
                file_cols!()
            ))
            .bind(t.id)
            .bind(t.to.as_str())
            .bind(t.reason)
            .bind(scan.as_deref())
            .bind(t.reviewer_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let f = file_of(&row)?;
            let data = f.event_data().to_string();
            let mut members: Vec<String> = sqlx::query_scalar(
                "SELECT user_id FROM conversation_members WHERE conversation_id = $1",
            )
            .bind(&f.conversation_id)
            .fetch_all(&mut *tx)
            .await?;
            members.sort();
            for u in members {
                let kind = if u == f.owner_id {
                    "file.updated"
                } else if f.state == FileState::Clean {
                    "file.created"
                } else {
                    continue;
                };
                let one = [u];
                emit!(tx, one, kind, &f.conversation_id, None::<i64>, &data, now);
            }
            if f.state == FileState::Held {
                // The operator event (webhooks, feed): ids and the reason's code only, never
                // the file's name or what was found in it.
                let event = json!({"file_id": f.id, "conversation_id": f.conversation_id,
                    "owner_id": f.owner_id, "reason": f.reason, "content_type": f.content_type,
                    "size": f.size});
                outbox_emit!(tx, "file.held", &event, now);
            }
            if f.state == FileState::Infected {
                // The malware scanner found something: ids, the reason's code and the
                // signature's name, never the file's name.
                let signature = f
                    .scan
                    .as_ref()
                    .and_then(|v| v.pointer("/malware/signature"))
                    .cloned();
                let event = json!({"file_id": f.id, "conversation_id": f.conversation_id,
                    "owner_id": f.owner_id, "reason": f.reason, "signature": signature,
                    "content_type": f.content_type, "size": f.size});
                outbox_emit!(tx, "file.infected", &event, now);
            }
            tx.commit().await?;
            Ok(Some(f))
        })
    }

    pub async fn get_file(&self, id: &str) -> Result<StoredFile> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                file_cols!(),
                " FROM files WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(file_of)
                .unwrap_or(Err(StoreError::NotFound("file")))
        })
    }

    /// The files of a conversation `viewer` may see (their own in any state, the others'
    /// once clean), newest first. `NotFound("conversation")` for a non-member.
    pub async fn list_files(&self, conversation_id: &str, viewer: &str) -> Result<Vec<StoredFile>> {
        if !self.is_member(conversation_id, viewer).await? {
            return Err(StoreError::NotFound("conversation"));
        }
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                file_cols!(),
                " FROM files WHERE conversation_id = $1 AND (owner_id = $2 OR state = 'clean') \
                 ORDER BY created_at DESC, id DESC LIMIT 500"
            ))
            .bind(conversation_id)
            .bind(viewer)
            .fetch_all(p)
            .await?;
            rows.iter().map(file_of).collect()
        })
    }

    /// Files waiting for a moderator (held or failed to scan), oldest first.
    pub async fn held_files(&self, limit: u32) -> Result<Vec<StoredFile>> {
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                file_cols!(),
                " FROM files WHERE state IN ('held', 'scan_failed') ORDER BY created_at LIMIT $1"
            ))
            .bind(i64::from(limit.clamp(1, 500)))
            .fetch_all(p)
            .await?;
            rows.iter().map(file_of).collect()
        })
    }

    /// How many files use the blob with this SHA-256 (0: the blob may be deleted).
    pub async fn blob_references(&self, sha256: &str) -> Result<i64> {
        on_read!(self, |p| {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM files WHERE sha256 = $1")
                .bind(sha256)
                .fetch_one(p)
                .await?;
            Ok(n)
        })
    }
}
