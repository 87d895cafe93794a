//! Blob storage: the bytes of files, keyed by their SHA-256 (stored once), behind one trait,
//! and the staging area where resumable uploads grow (always a local directory).
//!
//! One backend today, a local directory ([`LocalDisk`]); [`Storage`] picks it from the
//! configured location. An S3-compatible backend is not written yet (see `docs/files.md`).

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};

/// A store of immutable blobs keyed by lowercase hex SHA-256.
pub trait BlobStore: Send + Sync {
    /// Stores the finished file at `staged` under `key`, durably, leaving `staged` in place (the
    /// caller deletes it once the database knows the blob, so a crash in between can retry).
    /// A blob already stored under `key` is kept (same bytes).
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
    /// A local path holding the blob's bytes (for the extractor process).
    fn local_path(&self, key: &str) -> impl Future<Output = io::Result<PathBuf>> + Send;
    /// Deletes the blob (no error when it is already gone).
    fn delete(&self, key: &str) -> impl Future<Output = io::Result<()>> + Send;
}

/// A byte stream out of a blob.
pub type BlobReader = std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>;

fn check_key(key: &str) -> io::Result<()> {
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
        // A second name for the same bytes (the staging directory is on the same file system);
        // a concurrent put of the same key is fine: the bytes are the same.
        match tokio::fs::hard_link(staged, &dest).await {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
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

    async fn local_path(&self, key: &str) -> io::Result<PathBuf> {
        self.path(key)
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }
}

/// The configured storage: the backend chosen by location, plus the staging directory.
#[derive(Debug, Clone)]
pub struct Storage {
    backend: LocalDisk,
    staging: PathBuf,
}

impl Storage {
    /// Opens (creating) the storage at `location` (a path or `file://PATH`).
    pub fn open(location: &str) -> io::Result<Storage> {
        let path = location.strip_prefix("file://").unwrap_or(location);
        if let Some((scheme, _)) = path.split_once("://") {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("file storage scheme {scheme:?} is not supported (use a directory)"),
            ));
        }
        let root = PathBuf::from(path);
        let staging = root.join("uploads");
        std::fs::create_dir_all(&staging)?;
        std::fs::create_dir_all(root.join("blobs"))?;
        Ok(Storage {
            backend: LocalDisk::new(root),
            staging,
        })
    }

    /// Where `files.storage = ""` puts files for this database URL.
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

    pub fn blobs(&self) -> &LocalDisk {
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
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// The storage contract, run on the local directory backend.
    async fn contract(store: &impl BlobStore, scratch: &Path) {
        let key = "a".repeat(64);
        let staged = scratch.join("one");
        std::fs::write(&staged, b"hello, world").unwrap();
        store.put_file(&key, &staged).await.unwrap();
        assert!(staged.exists(), "the staged file is left to the caller");
        assert_eq!(store.size(&key).await.unwrap(), 12);
        let mut out = String::new();
        store
            .open_range(&key, 7, 5)
            .await
            .unwrap()
            .read_to_string(&mut out)
            .await
            .unwrap();
        assert_eq!(out, "world");
        // Stored once: a second put of the same key keeps the first bytes.
        std::fs::write(scratch.join("two"), b"hello, world").unwrap();
        store.put_file(&key, &scratch.join("two")).await.unwrap();
        assert_eq!(store.size(&key).await.unwrap(), 12);
        store.delete(&key).await.unwrap();
        store.delete(&key).await.unwrap();
        assert!(store.size(&key).await.is_err());
        assert!(store.size("../etc/passwd").await.is_err());
    }

    #[tokio::test]
    async fn local_disk_keeps_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(&dir.path().display().to_string()).unwrap();
        contract(s.blobs(), dir.path()).await;
        assert!(Storage::open("s3://bucket/x").is_err());
    }

    #[test]
    fn default_locations() {
        assert_eq!(
            Storage::default_location("sqlite:///var/p.db"),
            "/var/p.db.files"
        );
        assert_eq!(Storage::default_location("sqlite://p.db"), "p.db.files");
        assert_eq!(Storage::default_location("postgres://x/y"), "parley-files");
        assert!(Storage::default_location("sqlite::memory:").contains("parley-files-"));
    }
}
