//! Resumable uploads (tus 1.0.0): create, append a chunk durably, report the offset,
//! terminate, expire, and finish (the upload becomes a file, then it is scanned).
//!
//! Durability: a chunk is appended to the upload's staging file, synced (`fdatasync`), and only
//! then is the offset advanced in the database. Bytes past the stored offset (a chunk that was
//! not acknowledged, or failed its checksum) are cut off before the next chunk is written.

use std::collections::HashSet;
use std::io;
use std::sync::{Arc, Mutex};

use futures_util::{Stream, StreamExt};
use parley_store::{NewUpload, StoreError, StoredFile, Upload, UploadCreated, UploadState};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::tus::{Algorithm, Checksum, UploadMeta};
use crate::blob::{hex, BlobStore, Storage};
use crate::files_config::FilesConfig;
use crate::AppState;

/// What can go wrong with an upload; each maps to one tus status code.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("upload not found")]
    NotFound,
    #[error("conversation not found")]
    ConversationNotFound,
    #[error("the upload expired; its bytes were deleted")]
    Expired,
    #[error("Upload-Offset {given} does not match the upload's offset {expected}")]
    OffsetMismatch { given: u64, expected: u64 },
    #[error("{0}")]
    TooLarge(String),
    #[error("the organisation's file quota is spent ({used} of {quota} bytes used)")]
    OverQuota { used: i64, quota: u64 },
    #[error("too many unfinished uploads (at most {0}); finish or cancel one first")]
    TooManyPending(u32),
    #[error("the chunk does not match its Upload-Checksum; it was discarded")]
    ChecksumMismatch,
    #[error("another request is writing to this upload")]
    Busy,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("file storage: {0}")]
    Io(#[from] io::Error),
}

/// The file runtime shared by every request: storage, uploads being written, signing key.
pub struct Files {
    pub storage: Storage,
    pub config: FilesConfig,
    /// The key that signs download URLs.
    pub signing_key: Vec<u8>,
    /// The optional scanners found at start (OCR).
    pub scanners: crate::domain::scan::Scanners,
    writing: Mutex<HashSet<String>>,
    /// Serialises storing a blob and deleting it (striped by key): a file that comes to use a
    /// blob and the deletion of that blob's last file never interleave.
    blob_locks: [tokio::sync::Mutex<()>; 64],
}

impl Files {
    pub fn new(config: &FilesConfig, database: &str) -> Result<Files, String> {
        config.check().map_err(|e| e.0)?;
        let local = Storage::default_location(database);
        let location = if config.storage.is_empty() {
            local.clone()
        } else {
            config.storage.clone()
        };
        let storage = Storage::open(&location, &local, &config.s3())
            .map_err(|e| format!("file storage {location}: {e}"))?;
        let signing_key = match &config.signing_key {
            Some(k) => k.as_bytes().to_vec(),
            None => {
                let mut k = vec![0u8; 32];
                getrandom::getrandom(&mut k).map_err(|e| format!("random signing key: {e}"))?;
                k
            }
        };
        Ok(Files {
            storage,
            config: config.clone(),
            signing_key,
            scanners: crate::domain::scan::Scanners::probe(config),
            writing: Mutex::new(HashSet::new()),
            blob_locks: std::array::from_fn(|_| tokio::sync::Mutex::new(())),
        })
    }

    /// Held while a blob gains or loses a reference.
    pub async fn blob_lock(&self, sha256: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let i = sha256
            .get(..2)
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .unwrap_or(0);
        self.blob_locks[i % 64].lock().await
    }

    /// Marks the upload as being written until the guard drops; `Busy` if it already is.
    fn lock(&self, id: &str) -> Result<WriteGuard<'_>, UploadError> {
        let mut set = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        if !set.insert(id.to_string()) {
            return Err(UploadError::Busy);
        }
        Ok(WriteGuard {
            files: self,
            id: id.to_string(),
        })
    }
}

struct WriteGuard<'a> {
    files: &'a Files,
    id: String,
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        let mut set = self.files.writing.lock().unwrap_or_else(|p| p.into_inner());
        set.remove(&self.id);
    }
}

fn ttl_ms(f: &Files) -> i64 {
    i64::try_from(f.config.upload_ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Creates an upload of `length` bytes for `user` in the conversation the metadata names.
pub async fn create(
    s: &AppState,
    user: &str,
    length: u64,
    meta: UploadMeta,
) -> Result<Upload, UploadError> {
    let files = &s.inner.files;
    let max = files.config.max_upload_bytes;
    if length > max {
        return Err(UploadError::TooLarge(format!(
            "Upload-Length {length} is over the limit of {max} bytes"
        )));
    }
    if let Some(ext) = super::tus::extension(&meta.filename) {
        if files.config.refused_extensions.contains(&ext) {
            return Err(UploadError::Invalid(format!(
                "files of type .{ext} (executables and scripts) are not accepted"
            )));
        }
    }
    let now = s.now_ms();
    let created = s
        .store()
        .create_upload(
            &NewUpload {
                owner_id: user.to_string(),
                conversation_id: meta.conversation_id,
                filename: meta.filename,
                filetype: meta.filetype,
                purpose: meta.purpose,
                length: i64::try_from(length).unwrap_or(i64::MAX),
                expires_at: now.saturating_add(ttl_ms(files)),
                max_pending: i64::from(files.config.max_pending_uploads),
                quota_bytes: i64::try_from(files.config.org_quota_bytes).unwrap_or(i64::MAX),
            },
            now,
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound("conversation") => UploadError::ConversationNotFound,
            e => e.into(),
        })?;
    match created {
        UploadCreated::Created(u) => Ok(*u),
        UploadCreated::TooManyPending => Err(UploadError::TooManyPending(
            files.config.max_pending_uploads,
        )),
        UploadCreated::OverQuota { used } => Err(UploadError::OverQuota {
            used,
            quota: files.config.org_quota_bytes,
        }),
    }
}

/// The user's upload, as long as it has not expired (an expired one is collected now).
pub async fn get(s: &AppState, user: &str, id: &str) -> Result<Upload, UploadError> {
    if !id.starts_with("u_") || id.len() > 64 || !id[2..].bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(UploadError::NotFound);
    }
    let up = match s.store().get_upload(id).await {
        Err(StoreError::NotFound(_)) => return Err(UploadError::NotFound),
        r => r?,
    };
    if up.owner_id != user {
        return Err(UploadError::NotFound);
    }
    match up.state {
        UploadState::Expired => Err(UploadError::Expired),
        UploadState::Pending if up.expires_at <= s.now_ms() => {
            collect(s, &up).await?;
            Err(UploadError::Expired)
        }
        _ => Ok(up),
    }
}

/// Appends one chunk at `offset` (tus PATCH, or the body of a creation-with-upload); returns
/// the upload with its new offset. The bytes received before a connection drop are kept
/// (unless a checksum was given: then the whole chunk must arrive and match).
pub async fn write_chunk<S, B, E>(
    s: &AppState,
    user: &str,
    id: &str,
    offset: u64,
    checksum: Option<Checksum>,
    mut body: S,
) -> Result<Upload, UploadError>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
{
    let files = &s.inner.files;
    let _guard = files.lock(id)?;
    let up = get(s, user, id).await?;
    let stored = u64::try_from(up.received).unwrap_or(0);
    if offset != stored {
        return Err(UploadError::OffsetMismatch {
            given: offset,
            expected: stored,
        });
    }
    let length = u64::try_from(up.length).unwrap_or(0);
    if up.state == UploadState::Complete {
        // Every byte is in: an empty chunk at the end is fine, anything more is too much.
        return match body.next().await {
            Some(Ok(b)) if !b.as_ref().is_empty() => Err(UploadError::TooLarge(
                "the upload is already complete".into(),
            )),
            _ => Ok(up),
        };
    }
    let path = files.storage.staging_path(&up.id);
    let mut f = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&path)
        .await?;
    // Whatever lies past the acknowledged offset was never acknowledged: cut it off.
    f.set_len(offset).await?;
    f.seek(io::SeekFrom::Start(offset)).await?;
    let remaining = length - offset;
    let mut hasher = checksum.as_ref().map(|c| Hasher::new(c.algorithm));
    let (mut n, mut cut, mut over) = (0u64, false, false);
    while let Some(chunk) = body.next().await {
        let Ok(chunk) = chunk else {
            cut = true;
            break;
        };
        let bytes = chunk.as_ref();
        if n + bytes.len() as u64 > remaining {
            over = true;
            break;
        }
        if let Some(h) = hasher.as_mut() {
            h.update(bytes);
        }
        f.write_all(bytes).await?;
        n += bytes.len() as u64;
    }
    let mismatch = match (hasher, &checksum) {
        (Some(h), Some(c)) => cut || h.finish() != c.digest,
        _ => false,
    };
    if over || mismatch {
        f.set_len(offset).await?;
        return Err(if over {
            UploadError::TooLarge(format!(
                "the chunk goes past Upload-Length ({length} bytes); it was discarded"
            ))
        } else {
            UploadError::ChecksumMismatch
        });
    }
    f.flush().await?;
    f.sync_data().await?;
    drop(f);
    let to = offset + n;
    let now = s.now_ms();
    let (from_i, to_i) = (up.received, i64::try_from(to).unwrap_or(i64::MAX));
    if n > 0 && !s.store().advance_upload(&up.id, from_i, to_i, now).await? {
        return Err(UploadError::Busy);
    }
    let up = Upload {
        received: to_i,
        updated_at: now,
        ..up
    };
    if to == length {
        finish(s, &up).await?;
    }
    Ok(up)
}

enum Hasher {
    Sha1(Sha1),
    Sha256(Sha256),
}

impl Hasher {
    fn new(a: Algorithm) -> Hasher {
        match a {
            Algorithm::Sha1 => Hasher::Sha1(Sha1::new()),
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
        }
    }
    fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(b),
            Hasher::Sha256(h) => h.update(b),
        }
    }
    fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
        }
    }
}

/// The SHA-256 of a file, read in 64 KiB blocks on a blocking thread.
pub async fn sha256_file(path: std::path::PathBuf) -> io::Result<String> {
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut f = std::fs::File::open(path)?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(hex(&h.finalize()))
    })
    .await
    .map_err(io::Error::other)?
}

/// Every byte is in: the staged bytes become a blob (keyed by SHA-256), the upload a file in
/// state `scanning`, and the scan starts.
async fn finish(s: &AppState, up: &Upload) -> Result<StoredFile, UploadError> {
    let files = &s.inner.files;
    let path = files.storage.staging_path(&up.id);
    if up.length == 0 {
        // tus never PATCHes an empty upload: make its (empty) staging file here.
        tokio::fs::File::create(&path).await?.sync_all().await?;
    }
    let sha = sha256_file(path.clone()).await?;
    let file = {
        let _blob = files.blob_lock(&sha).await;
        files.storage.blobs().put_file(&sha, &path).await?;
        s.store()
            .complete_upload(&up.id, &sha, &up.filetype, s.now_ms())
            .await?
    };
    // The database knows the blob now: the staging file can go (a crash before this line
    // leaves the upload at full offset with its staging file, and the next PATCH finishes it).
    remove_staging(files, &up.id).await?;
    s.notify([file.owner_id.clone()]);
    super::scan::start(s.clone(), file.clone());
    Ok(file)
}

/// Finishes an upload created with `Upload-Length: 0` (no PATCH will come).
pub async fn finish_if_empty(s: &AppState, up: &Upload) -> Result<(), UploadError> {
    if up.length == 0 && up.state == UploadState::Pending {
        let _guard = s.inner.files.lock(&up.id)?;
        finish(s, up).await?;
    }
    Ok(())
}

/// tus termination: deletes a pending upload and its bytes.
pub async fn terminate(s: &AppState, user: &str, id: &str) -> Result<(), UploadError> {
    let files = &s.inner.files;
    let _guard = files.lock(id)?;
    let up = get(s, user, id).await?;
    if up.state != UploadState::Pending || !s.store().delete_upload(&up.id).await? {
        // A finished upload is a file now: it is not the upload's to delete.
        return Err(UploadError::NotFound);
    }
    remove_staging(files, &up.id).await
}

async fn remove_staging(files: &Files, id: &str) -> Result<(), UploadError> {
    match tokio::fs::remove_file(files.storage.staging_path(id)).await {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// Expires one upload and deletes its bytes.
async fn collect(s: &AppState, up: &Upload) -> Result<(), UploadError> {
    s.store().expire_upload(&up.id, s.now_ms()).await?;
    remove_staging(&s.inner.files, &up.id).await
}

/// Expires the uploads whose lifetime ended and deletes their bytes; returns how many.
pub async fn collect_expired(s: &AppState) -> Result<usize, UploadError> {
    let mut n = 0;
    loop {
        let due = s.store().due_uploads(s.now_ms(), 200).await?;
        if due.is_empty() {
            return Ok(n);
        }
        for up in &due {
            if let Ok(_guard) = s.inner.files.lock(&up.id) {
                collect(s, up).await?;
                n += 1;
            }
        }
        if due.len() < 200 {
            return Ok(n);
        }
    }
}

/// Runs [`collect_expired`] every minute (or every upload lifetime, if shorter) while the
/// state lives.
pub fn spawn_collector(s: &AppState) {
    let weak = Arc::downgrade(&s.inner);
    let every = std::time::Duration::from_secs(s.inner.files.config.upload_ttl_secs.clamp(1, 60));
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    rt.spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let Some(inner) = weak.upgrade() else { break };
            let s = AppState { inner };
            match collect_expired(&s).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(n, "expired uploads collected"),
                Err(e) => tracing::warn!(error = %e, "collecting expired uploads"),
            }
        }
    });
}
