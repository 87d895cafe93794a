//! Blob storage: the bytes of files, keyed by their SHA-256 (stored once), behind one trait,
//! and the staging area where resumable uploads grow (always a local directory).
//!
//! Two backends, chosen by the location like the database: a local directory ([`LocalDisk`],
//! the default) and object storage ([`ObjectBlobs`](crate::blob_object::ObjectBlobs):
//! `s3://bucket/prefix` on any S3-compatible service, `memory://` for tests). [`Storage`]
//! opens the right one; [`Backend`] is the one the server uses.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};

use crate::blob_object::{ObjectBlobs, S3Settings};

/// A store of immutable blobs keyed by lowercase hex SHA-256.
pub trait BlobStore: Send + Sync {
    /// Stores the finished file at `staged` under `key`, durably, leaving `staged` in place (the
    /// caller deletes it once the database knows the blob, so a crash in between can retry).
    /// A blob already stored under `key` is kept (same bytes). Streams: never holds the file.
    fn put_file(&self, key: &str, staged: &Path) -> impl Future<Output = io::Result<()>> + Send;
    /// The blob's size, or `NotFound`.
    fn size(&self, key: &str) -> impl Future<Output = io::Result<u64>> + Send;
    /// Reads `len` bytes from `start`.
    fn open_range(
        &self,
        key: &str,
        start: u64,
        len: u64,
    ) -> impl Future<Output = io::Result<BlobReader>> + Send;
    /// A local file holding the blob's bytes (for the extractor process): the blob itself on a
    /// local directory, a temporary copy in `scratch` (deleted on drop) elsewhere.
    fn local_copy(
        &self,
        key: &str,
        scratch: &Path,
    ) -> impl Future<Output = io::Result<LocalCopy>> + Send;
    /// Deletes the blob (no error when it is already gone).
    fn delete(&self, key: &str) -> impl Future<Output = io::Result<()>> + Send;
}

/// A byte stream out of a blob.
pub type BlobReader = std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>;

/// A local file with a blob's bytes; a temporary copy is deleted when this is dropped.
#[derive(Debug)]
pub struct LocalCopy {
    path: PathBuf,
    temporary: bool,
}

impl LocalCopy {
    pub fn borrowed(path: PathBuf) -> LocalCopy {
        LocalCopy {
            path,
            temporary: false,
        }
    }
    pub fn temporary(path: PathBuf) -> LocalCopy {
        LocalCopy {
            path,
            temporary: true,
        }
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LocalCopy {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

pub(crate) fn check_key(key: &str) -> io::Result<()> {
    if key.len() == 64 && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a blob key is 64 lowercase hex digits",
        ))
    }
}

/// Blobs in a local directory: `DIR/blobs/ab/abcdef...`, moved in with a rename (the staging
/// directory is on the same file system) and synced.
#[derive(Debug, Clone)]
pub struct LocalDisk {
    root: PathBuf,
}

impl LocalDisk {
    pub fn new(root: impl Into<PathBuf>) -> LocalDisk {
        LocalDisk { root: root.into() }
    }
    fn path(&self, key: &str) -> io::Result<PathBuf> {
        check_key(key)?;
        Ok(self.root.join("blobs").join(&key[..2]).join(key))
    }
}

impl BlobStore for LocalDisk {
    async fn put_file(&self, key: &str, staged: &Path) -> io::Result<()> {
        let dest = self.path(key)?;
        if tokio::fs::try_exists(&dest).await? {
            return Ok(());
        }
        let dir = dest.parent().map(Path::to_path_buf).unwrap_or_default();
        tokio::fs::create_dir_all(&dir).await?;
        // A second name for the same bytes when the staging directory is on the same file
        // system (a copy otherwise); a concurrent put of the same key is fine: same bytes.
        match tokio::fs::hard_link(staged, &dest).await {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
                let tmp = dest.with_extension("part");
                tokio::fs::copy(staged, &tmp).await?;
                tokio::fs::File::open(&tmp).await?.sync_all().await?;
                tokio::fs::rename(&tmp, &dest).await?;
            }
            Err(e) => return Err(e),
            Ok(()) => {}
        }
        // The new name is durable once the directory entry is synced.
        tokio::task::spawn_blocking(move || std::fs::File::open(&dir)?.sync_all())
            .await
            .map_err(io::Error::other)?
    }

    async fn size(&self, key: &str) -> io::Result<u64> {
        Ok(tokio::fs::metadata(self.path(key)?).await?.len())
    }

    async fn open_range(&self, key: &str, start: u64, len: u64) -> io::Result<BlobReader> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut f = tokio::fs::File::open(self.path(key)?).await?;
        f.seek(io::SeekFrom::Start(start)).await?;
        Ok(Box::pin(f.take(len)))
    }

    async fn local_copy(&self, key: &str, _scratch: &Path) -> io::Result<LocalCopy> {
        let p = self.path(key)?;
        tokio::fs::metadata(&p).await?;
        Ok(LocalCopy::borrowed(p))
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }
}

/// The backend in use: a local directory or an object store.
#[derive(Debug, Clone)]
pub enum Backend {
    Local(LocalDisk),
    Object(ObjectBlobs),
}

impl BlobStore for Backend {
    async fn put_file(&self, key: &str, staged: &Path) -> io::Result<()> {
        match self {
            Backend::Local(b) => b.put_file(key, staged).await,
            Backend::Object(b) => b.put_file(key, staged).await,
        }
    }
    async fn size(&self, key: &str) -> io::Result<u64> {
        match self {
            Backend::Local(b) => b.size(key).await,
            Backend::Object(b) => b.size(key).await,
        }
    }
    async fn open_range(&self, key: &str, start: u64, len: u64) -> io::Result<BlobReader> {
        match self {
            Backend::Local(b) => b.open_range(key, start, len).await,
            Backend::Object(b) => b.open_range(key, start, len).await,
        }
    }
    async fn local_copy(&self, key: &str, scratch: &Path) -> io::Result<LocalCopy> {
        match self {
            Backend::Local(b) => b.local_copy(key, scratch).await,
            Backend::Object(b) => b.local_copy(key, scratch).await,
        }
    }
    async fn delete(&self, key: &str) -> io::Result<()> {
        match self {
            Backend::Local(b) => b.delete(key).await,
            Backend::Object(b) => b.delete(key).await,
        }
    }
}

/// The configured storage: the backend chosen by location, plus the staging directory.
#[derive(Debug, Clone)]
pub struct Storage {
    backend: Backend,
    staging: PathBuf,
}

impl Storage {
    /// Opens (creating) the storage at `location`: a path or `file://PATH` (staging in
    /// `PATH/uploads`), `s3://bucket/prefix` or `memory://` (staging in `local/uploads`).
    pub fn open(location: &str, local: &str, s3: &S3Settings) -> io::Result<Storage> {
        let location = location.trim();
        if location.starts_with("s3://") || location.starts_with("memory://") {
            let backend = Backend::Object(ObjectBlobs::open(location, s3)?);
            let staging = PathBuf::from(local).join("uploads");
            std::fs::create_dir_all(&staging)?;
            return Ok(Storage { backend, staging });
        }
        let path = location.strip_prefix("file://").unwrap_or(location);
        if let Some((scheme, _)) = path.split_once("://") {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "file storage scheme {scheme:?} is not supported (a directory, file://, s3://)"
                ),
            ));
        }
        let root = PathBuf::from(path);
        let staging = root.join("uploads");
        std::fs::create_dir_all(&staging)?;
        std::fs::create_dir_all(root.join("blobs"))?;
        Ok(Storage {
            backend: Backend::Local(LocalDisk::new(root)),
            staging,
        })
    }

    /// Where `files.storage = ""` puts files for this database URL (and where uploads are
    /// staged when the storage is not a local directory).
    pub fn default_location(database: &str) -> String {
        let db = database.trim();
        let file = db
            .strip_prefix("sqlite://")
            .or_else(|| db.strip_prefix("sqlite:"))
            .map(|f| f.split('?').next().unwrap_or(f));
        match file {
            Some(f) if !f.is_empty() && !f.contains(":memory:") => format!("{f}.files"),
            _ if db.starts_with("postgres") => "parley-files".into(),
            _ => {
                let mut n = [0u8; 8];
                let _ = getrandom::getrandom(&mut n);
                std::env::temp_dir()
                    .join(format!("parley-files-{}", hex(&n)))
                    .display()
                    .to_string()
            }
        }
    }

    /// The staging file of an upload (ids are checked by the caller: `u_` + hex).
    pub fn staging_path(&self, upload_id: &str) -> PathBuf {
        self.staging.join(upload_id)
    }

    /// A local scratch directory (temporary copies of blobs for the extractor).
    pub fn scratch(&self) -> &Path {
        &self.staging
    }

    pub fn blobs(&self) -> &Backend {
        &self.backend
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
#[path = "blob_tests.rs"]
mod tests;
