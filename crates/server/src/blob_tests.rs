//! One storage contract, run on every backend: the local directory, memory, and a real
//! S3-compatible server when `PARLEY_TEST_S3_ENDPOINT` names one (`scripts/s3-test.sh` starts
//! moto in server mode and sets it).

use super::*;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

async fn read_all(r: BlobReader) -> Vec<u8> {
    let mut out = Vec::new();
    let mut r = r;
    r.read_to_end(&mut out).await.unwrap();
    out
}

fn key_of(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The storage contract.
async fn contract(store: &impl BlobStore, scratch: &Path) {
    let small = b"hello, world".to_vec();
    let key = key_of(&small);
    let staged = scratch.join("one");
    std::fs::write(&staged, &small).unwrap();
    store.put_file(&key, &staged).await.unwrap();
    assert!(staged.exists(), "the staged file is left to the caller");
    assert_eq!(store.size(&key).await.unwrap(), 12);
    let out = read_all(store.open_range(&key, 7, 5).await.unwrap()).await;
    assert_eq!(out, b"world");
    assert!(read_all(store.open_range(&key, 3, 0).await.unwrap())
        .await
        .is_empty());
    // Stored once: a second put of the same key keeps the first bytes.
    std::fs::write(scratch.join("two"), &small).unwrap();
    store.put_file(&key, &scratch.join("two")).await.unwrap();
    assert_eq!(store.size(&key).await.unwrap(), 12);
    // A local copy for the extractor holds the bytes.
    {
        let copy = store.local_copy(&key, scratch).await.unwrap();
        assert_eq!(std::fs::read(copy.path()).unwrap(), small);
    }
    store.delete(&key).await.unwrap();
    store.delete(&key).await.unwrap();
    let e = store.size(&key).await.unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
    assert!(store.open_range(&key, 0, 1).await.is_err());
    assert!(store.local_copy(&key, scratch).await.is_err());
    assert!(store.size("../etc/passwd").await.is_err());

    // An empty blob.
    let empty_key = key_of(b"");
    std::fs::write(scratch.join("empty"), b"").unwrap();
    store
        .put_file(&empty_key, &scratch.join("empty"))
        .await
        .unwrap();
    assert_eq!(store.size(&empty_key).await.unwrap(), 0);
    assert!(read_all(store.open_range(&empty_key, 0, 0).await.unwrap())
        .await
        .is_empty());
    store.delete(&empty_key).await.unwrap();

    // A blob of several upload parts: streamed in, read back across part boundaries.
    let big: Vec<u8> = (0..(2 * crate::blob_object::PART + 12345))
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let big_key = key_of(&big);
    std::fs::write(scratch.join("big"), &big).unwrap();
    store
        .put_file(&big_key, &scratch.join("big"))
        .await
        .unwrap();
    assert_eq!(store.size(&big_key).await.unwrap(), big.len() as u64);
    let at = crate::blob_object::PART as u64 - 10;
    let out = read_all(store.open_range(&big_key, at, 100).await.unwrap()).await;
    assert_eq!(out, &big[at as usize..at as usize + 100]);
    let out = read_all(
        store
            .open_range(&big_key, 0, big.len() as u64)
            .await
            .unwrap(),
    )
    .await;
    assert!(out == big, "the whole blob reads back");
    store.delete(&big_key).await.unwrap();
    assert!(store.size(&big_key).await.is_err());
}

#[tokio::test]
async fn local_disk_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(
        &dir.path().display().to_string(),
        "",
        &S3Settings::default(),
    )
    .unwrap();
    assert!(matches!(s.blobs(), Backend::Local(_)));
    contract(s.blobs(), dir.path()).await;
    assert!(Storage::open("ftp://x/y", "", &S3Settings::default()).is_err());
}

#[tokio::test]
async fn memory_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().display().to_string();
    let s = Storage::open("memory://p", &local, &S3Settings::default()).unwrap();
    assert!(matches!(s.blobs(), Backend::Object(_)));
    assert!(s
        .staging_path("u_1")
        .starts_with(dir.path().join("uploads")));
    contract(s.blobs(), dir.path()).await;
}

/// On a real S3-compatible server: `PARLEY_TEST_S3_ENDPOINT` (e.g. `http://127.0.0.1:PORT`),
/// `PARLEY_TEST_S3_BUCKET` (an existing bucket); credentials from `AWS_*`.
#[tokio::test]
async fn s3_keeps_the_contract() {
    let Ok(endpoint) = std::env::var("PARLEY_TEST_S3_ENDPOINT") else {
        eprintln!("s3_keeps_the_contract: skipped, PARLEY_TEST_S3_ENDPOINT is not set (scripts/s3-test.sh sets it)");
        return;
    };
    let bucket = std::env::var("PARLEY_TEST_S3_BUCKET").unwrap_or_else(|_| "parley-test".into());
    let dir = tempfile::tempdir().unwrap();
    let settings = S3Settings {
        endpoint: Some(endpoint),
        region: Some("us-east-1".into()),
        ..S3Settings::default()
    };
    let s = Storage::open(
        &format!("s3://{bucket}/contract"),
        &dir.path().display().to_string(),
        &settings,
    )
    .unwrap();
    contract(s.blobs(), dir.path()).await;
    // A bucket that does not exist fails cleanly.
    let s = Storage::open(
        "s3://no-such-bucket-parley/x",
        &dir.path().display().to_string(),
        &settings,
    )
    .unwrap();
    assert!(s.blobs().size(&"a".repeat(64)).await.is_err());
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
