//! Blobs in object storage through the `object_store` crate: any S3-compatible service
//! (`s3://bucket/prefix`, with endpoint, region and credentials from the `[files]` config or
//! the usual `AWS_*` variables), or memory (`memory://`, for tests). Uploads stream in parts
//! of [`PART`] bytes (at most [`IN_FLIGHT`] parts in flight), downloads stream out: a file is
//! never held in memory.

use std::io;
use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload, WriteMultipart};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::blob::{check_key, hex, BlobReader, BlobStore, LocalCopy};

/// The size of one part of a multipart upload (S3 wants at least 5 MiB but the last).
pub const PART: usize = 8 * 1024 * 1024;
/// Parts uploading at once: the memory one upload may take is about `PART * (IN_FLIGHT + 1)`.
pub const IN_FLIGHT: usize = 2;

/// Where an S3-compatible service is and how to sign in (each `None`: the `AWS_*` variable or
/// the SDK default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct S3Settings {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

/// Blobs under a prefix of an object store.
#[derive(Debug, Clone)]
pub struct ObjectBlobs {
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

fn other(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, e),
        e => io::Error::other(e),
    }
}

impl ObjectBlobs {
    /// `s3://bucket/prefix` or `memory://prefix`.
    pub fn open(location: &str, s3: &S3Settings) -> io::Result<ObjectBlobs> {
        let bad = |m: String| io::Error::new(io::ErrorKind::InvalidInput, m);
        if let Some(rest) = location.strip_prefix("memory://") {
            return Ok(ObjectBlobs::new(
                Arc::new(object_store::memory::InMemory::new()),
                rest,
            ));
        }
        let rest = location
            .strip_prefix("s3://")
            .ok_or_else(|| bad(format!("not an s3:// location: {location}")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("s3://BUCKET/prefix: the bucket is missing".into()));
        }
        let mut b = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(e) = &s3.endpoint {
            b = b
                .with_endpoint(e)
                .with_allow_http(e.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        if let Some(r) = &s3.region {
            b = b.with_region(r);
        }
        if let Some(k) = &s3.access_key_id {
            b = b.with_access_key_id(k);
        }
        if let Some(k) = &s3.secret_access_key {
            b = b.with_secret_access_key(k);
        }
        let store = b.build().map_err(|e| bad(e.to_string()))?;
        Ok(ObjectBlobs::new(Arc::new(store), prefix))
    }

    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> ObjectBlobs {
        ObjectBlobs {
            store,
            prefix: prefix.trim_matches('/').to_string(),
        }
    }

    fn path(&self, key: &str) -> io::Result<ObjectPath> {
        check_key(key)?;
        let rel = format!("blobs/{}/{key}", &key[..2]);
        Ok(if self.prefix.is_empty() {
            ObjectPath::from(rel)
        } else {
            ObjectPath::from(format!("{}/{rel}", self.prefix))
        })
    }
}

impl BlobStore for ObjectBlobs {
    async fn put_file(&self, key: &str, staged: &Path) -> io::Result<()> {
        let path = self.path(key)?;
        match self.store.head(&path).await {
            Ok(_) => return Ok(()),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(other(e)),
        }
        let mut f = tokio::fs::File::open(staged).await?;
        let size = f.metadata().await?.len();
        if size <= PART as u64 {
            // One request (an empty multipart upload is not allowed).
            let mut buf = Vec::with_capacity(size as usize);
            f.read_to_end(&mut buf).await?;
            self.store
                .put(&path, PutPayload::from(buf))
                .await
                .map_err(other)?;
            return Ok(());
        }
        let upload = self.store.put_multipart(&path).await.map_err(other)?;
        let mut w = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut buf = vec![0u8; 1024 * 1024];
        loop {
            let n = match f.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    let _ = w.abort().await;
                    return Err(e);
                }
            };
            if n == 0 {
                break;
            }
            if let Err(e) = w.wait_for_capacity(IN_FLIGHT).await {
                let _ = w.abort().await;
                return Err(other(e));
            }
            w.write(&buf[..n]);
        }
        w.finish().await.map_err(other)?;
        Ok(())
    }

    async fn size(&self, key: &str) -> io::Result<u64> {
        Ok(self.store.head(&self.path(key)?).await.map_err(other)?.size)
    }

    async fn open_range(&self, key: &str, start: u64, len: u64) -> io::Result<BlobReader> {
        let path = self.path(key)?;
        if len == 0 {
            self.store.head(&path).await.map_err(other)?;
            return Ok(Box::pin(tokio::io::empty()));
        }
        let opts = GetOptions {
            range: Some(GetRange::Bounded(start..start + len)),
            ..GetOptions::default()
        };
        let got = self.store.get_opts(&path, opts).await.map_err(other)?;
        let stream = got.into_stream().map(|r| r.map_err(other));
        Ok(Box::pin(tokio_util::io::StreamReader::new(stream)))
    }

    async fn local_copy(&self, key: &str, scratch: &Path) -> io::Result<LocalCopy> {
        let path = self.path(key)?;
        let mut n = [0u8; 8];
        let _ = getrandom::getrandom(&mut n);
        let copy = LocalCopy::temporary(scratch.join(format!("scan-{}-{}", &key[..16], hex(&n))));
        let mut out = tokio::fs::File::create(copy.path()).await?;
        let mut stream = self.store.get(&path).await.map_err(other)?.into_stream();
        while let Some(chunk) = stream.next().await {
            out.write_all(&chunk.map_err(other)?).await?;
        }
        out.flush().await?;
        Ok(copy)
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        match self.store.delete(&self.path(key)?).await {
            Err(object_store::Error::NotFound { .. }) | Ok(()) => Ok(()),
            Err(e) => Err(other(e)),
        }
    }
}
