//! Blob storage through the API: identical files are stored once, a blob goes with the last
//! file that uses it; on the local directory (SQLite and PostgreSQL) and on a real
//! S3-compatible server when `PARLEY_TEST_S3_ENDPOINT` names one (`scripts/s3-test.sh`).

use super::files::{scanned, upload};
use super::uploads::{start_files, Files};
use super::*;
use parley_server::blob::{BlobStore, Storage};
use parley_server::blob_object::S3Settings;
use sha2::{Digest, Sha256};

async fn dedup_and_delete(f: &Files, storage: &Storage) {
    let s = &f.s;
    let [avery, _priya, diego, _mei, eve] = seed(s).await;
    let conv = s.conversation(&["avery", "diego"]).await;
    let bytes = b"Price list 2026\nLogo design: 450 USD\nLanding page: 1200 USD\n".to_vec();
    let key: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let a = upload(s, &avery, &conv, "prices.txt", "text/plain", &bytes, None).await;
    let b = upload(s, &diego, &conv, "copy.txt", "text/plain", &bytes, None).await;
    assert_eq!(scanned(s, &avery, &a).await["state"], "clean");
    assert_eq!(scanned(s, &diego, &b).await["state"], "clean");
    // One blob for both files.
    assert_eq!(
        storage.blobs().size(&key).await.unwrap(),
        bytes.len() as u64
    );

    // Only the owner (or a moderator) deletes a file; others get 404.
    for tok in [&diego, &eve] {
        let (st, _) = s
            .call(Method::DELETE, &format!("/v1/files/{a}"), Some(tok), None)
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
    let (st, v) = s
        .call(
            Method::DELETE,
            &format!("/v1/files/{a}"),
            Some(&avery),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{v}");
    let (st, _) = s
        .call(Method::GET, &format!("/v1/files/{a}"), Some(&avery), None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // The other file still uses the blob: it stays, and downloads.
    assert!(storage.blobs().size(&key).await.is_ok());
    let v = scanned(s, &avery, &b).await;
    let url = v["download_url"].as_str().unwrap();
    let r = s.http.get(format!("{}{url}", s.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice());
    // The last file goes: so does the blob.
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/files/{b}"),
            Some(&diego),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let e = storage.blobs().size(&key).await.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    let r = s.http.get(format!("{}{url}", s.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

fn local(f: &Files) -> Storage {
    let d = f.dir.path().display().to_string();
    Storage::open(&d, &d, &S3Settings::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_stored_once_and_deleted_with_their_last_file_on_sqlite() {
    let f = start_files(None, |_| {}).await.unwrap();
    dedup_and_delete(&f, &local(&f)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_stored_once_and_deleted_with_their_last_file_on_postgres() {
    let Some(f) = start_files(Some("blobs_stored_once_on_postgres"), |_| {}).await else {
        return;
    };
    dedup_and_delete(&f, &local(&f)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_on_s3() {
    let Ok(endpoint) = std::env::var("PARLEY_TEST_S3_ENDPOINT") else {
        eprintln!(
            "blobs_on_s3: skipped, PARLEY_TEST_S3_ENDPOINT is not set (scripts/s3-test.sh sets it)"
        );
        return;
    };
    let bucket = std::env::var("PARLEY_TEST_S3_BUCKET").unwrap_or_else(|_| "parley-test".into());
    let location = format!("s3://{bucket}/api-{}", unique());
    let settings = S3Settings {
        endpoint: Some(endpoint.clone()),
        region: Some("us-east-1".into()),
        ..S3Settings::default()
    };
    let loc = location.clone();
    let f = start_files(None, move |c| {
        c.files.storage = loc;
        c.files.s3_endpoint = Some(endpoint);
        c.files.s3_region = Some("us-east-1".into());
    })
    .await
    .unwrap();
    let storage = Storage::open(&location, &f.dir.path().display().to_string(), &settings).unwrap();
    dedup_and_delete(&f, &storage).await;
}
