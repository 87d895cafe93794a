//! tus 1.0.0 conformance of `/v1/uploads`: every status code the protocol names, on SQLite and
//! PostgreSQL, with the staging directory inspected (nothing stored before a 413, nothing kept
//! after a 460 or an expiry).

use super::*;
use base64::Engine;
use reqwest::header::HeaderMap;
use std::path::{Path, PathBuf};

pub(crate) fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

pub(crate) struct Files {
    pub s: Server,
    pub dir: tempfile::TempDir,
}

impl Files {
    pub fn staging(&self) -> PathBuf {
        self.dir.path().join("uploads")
    }
    pub fn staged_files(&self) -> usize {
        std::fs::read_dir(self.staging()).unwrap().count()
    }
}

/// A server with its file storage in a temporary directory (`None`: PostgreSQL is absent).
pub(crate) async fn start_files(
    pg: Option<&str>,
    tweak: impl FnOnce(&mut Config),
) -> Option<Files> {
    let database = match pg {
        Some(name) => Some(postgres_url(name).await?),
        None => None,
    };
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().display().to_string();
    let s = start(database, None, |c| {
        c.files.storage = storage;
        c.files.max_upload_bytes = 1024 * 1024;
        c.files.extract_command = vec![env!("CARGO_BIN_EXE_parley-extract").to_string()];
        tweak(c);
    })
    .await;
    Some(Files { s, dir })
}

pub(crate) struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn h(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One tus request; `Tus-Resumable: 1.0.0` and the token unless the headers say otherwise.
pub(crate) async fn tus(
    s: &Server,
    method: &str,
    path: &str,
    tok: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Resp {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = s.http.request(method, format!("{}{path}", s.base));
    if !headers.iter().any(|(k, _)| *k == "Tus-Resumable") {
        req = req.header("Tus-Resumable", "1.0.0");
    }
    for (k, v) in headers {
        if !v.is_empty() {
            req = req.header(*k, *v);
        }
    }
    if let Some(t) = tok {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Resp {
        status,
        headers,
        body,
    }
}

pub(crate) fn meta(name: &str, ty: &str, conv: &str) -> String {
    format!(
        "filename {},filetype {},conversation_id {}",
        b64(name),
        b64(ty),
        b64(conv)
    )
}

/// Creates an upload; returns its path (`/v1/uploads/u_...`).
pub(crate) async fn create(s: &Server, tok: &str, len: usize, metadata: &str) -> String {
    let r = tus(
        s,
        "POST",
        "/v1/uploads",
        Some(tok),
        &[
            ("Upload-Length", &len.to_string()),
            ("Upload-Metadata", metadata),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.h("tus-resumable"), Some("1.0.0"));
    assert!(r.h("upload-expires").is_some_and(|v| v.ends_with(" GMT")));
    r.h("location").unwrap().to_string()
}

pub(crate) async fn patch(
    s: &Server,
    tok: &str,
    loc: &str,
    offset: usize,
    chunk: &[u8],
    extra: &[(&str, &str)],
) -> Resp {
    let off = offset.to_string();
    let mut h = vec![
        ("Content-Type", "application/offset+octet-stream"),
        ("Upload-Offset", off.as_str()),
    ];
    h.extend_from_slice(extra);
    tus(s, "PATCH", loc, Some(tok), &h, Some(chunk.to_vec())).await
}

async fn offset(s: &Server, tok: &str, loc: &str) -> u64 {
    let r = tus(s, "HEAD", loc, Some(tok), &[], None).await;
    assert_eq!(r.status, StatusCode::OK);
    r.h("upload-offset").unwrap().parse().unwrap()
}

fn staged_len(dir: &Path, loc: &str) -> Option<u64> {
    let id = loc.rsplit('/').next().unwrap();
    std::fs::metadata(dir.join(id)).ok().map(|m| m.len())
}

fn digest<D: sha2::Digest>(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(D::digest(b))
}

async fn conformance(f: &Files) {
    let s = &f.s;
    let [avery, _priya, diego, _mei, eve] = seed(s).await;
    let conv = s.conversation(&["avery", "diego"]).await;
    let m = meta("notes.txt", "text/plain", &conv);

    // OPTIONS: what the server supports, without Tus-Resumable and without credentials.
    let r = tus(
        s,
        "OPTIONS",
        "/v1/uploads",
        None,
        &[("Tus-Resumable", "")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.h("tus-version"), Some("1.0.0"));
    assert_eq!(r.h("tus-max-size"), Some("1048576"));
    assert_eq!(r.h("tus-checksum-algorithm"), Some("sha1,sha256"));
    for ext in [
        "creation",
        "creation-with-upload",
        "expiration",
        "checksum",
        "termination",
    ] {
        assert!(r.h("tus-extension").unwrap().split(',').any(|e| e == ext));
    }
    assert!(r.h("tus-resumable").is_none());

    // 412 with Tus-Version: no or another protocol version.
    for v in ["", "0.2.2"] {
        let r = tus(
            s,
            "POST",
            "/v1/uploads",
            Some(&avery),
            &[("Tus-Resumable", v), ("Upload-Length", "3")],
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.body);
        assert_eq!(r.h("tus-version"), Some("1.0.0"));
        assert_eq!(r.h("tus-resumable"), Some("1.0.0"));
    }
    // 401 without a user token.
    let r = tus(
        s,
        "POST",
        "/v1/uploads",
        None,
        &[("Upload-Length", "3")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // 400: no length, a bad length, bad metadata, no file name, a path as file name.
    for (len, md) in [
        ("", m.as_str()),
        ("-1", m.as_str()),
        ("3", "filename !!"),
        ("3", &format!("conversation_id {}", b64(&conv))),
        ("3", &meta("../etc/passwd", "text/plain", &conv)),
        ("3", &meta("run.exe", "application/octet-stream", &conv)),
    ] {
        let r = tus(
            s,
            "POST",
            "/v1/uploads",
            Some(&avery),
            &[("Upload-Length", len), ("Upload-Metadata", md)],
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{len} {md}: {}", r.body);
        assert_error(&r.body, "invalid_request");
    }
    // 404: a conversation the user is not a member of.
    let r = tus(
        s,
        "POST",
        "/v1/uploads",
        Some(&eve),
        &[("Upload-Length", "3"), ("Upload-Metadata", &m)],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // 413 before any byte is stored: Upload-Length over the limit, even with a body.
    let r = tus(
        s,
        "POST",
        "/v1/uploads",
        Some(&avery),
        &[
            ("Upload-Length", "1048577"),
            ("Upload-Metadata", &m),
            ("Content-Type", "application/offset+octet-stream"),
        ],
        Some(vec![b'x'; 1000]),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(f.staged_files(), 0);

    // Creation, then the offset.
    let content = b"Hello Diego, here are the notes for the kitchen project.\n".repeat(40);
    let loc = create(s, &avery, content.len(), &m).await;
    assert!(loc.starts_with("/v1/uploads/u_"), "{loc}");
    let r = tus(s, "HEAD", &loc, Some(&avery), &[], None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.h("upload-offset"), Some("0"));
    assert_eq!(
        r.h("upload-length"),
        Some(content.len().to_string().as_str())
    );
    assert_eq!(r.h("cache-control"), Some("no-store"));
    assert_eq!(r.h("tus-resumable"), Some("1.0.0"));
    assert!(r.h("upload-metadata").unwrap().contains(&b64("notes.txt")));
    // Someone else's upload does not exist for them.
    let r = tus(s, "HEAD", &loc, Some(&diego), &[], None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = patch(s, &diego, &loc, 0, b"x", &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // 415 without application/offset+octet-stream.
    let r = tus(
        s,
        "PATCH",
        &loc,
        Some(&avery),
        &[("Upload-Offset", "0"), ("Content-Type", "text/plain")],
        Some(content[..10].to_vec()),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.h("tus-resumable"), Some("1.0.0"));
    // 409 on a wrong offset, nothing written.
    let r = patch(s, &avery, &loc, 5, &content[5..100], &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_error(&r.body, "offset_mismatch");
    assert_eq!(offset(s, &avery, &loc).await, 0);
    assert!(staged_len(&f.staging(), &loc).unwrap_or(0) == 0);

    // A chunk with a good sha1, one with a bad sha256 (460, discarded), one with an unknown
    // algorithm (400), the rest with a good sha256.
    let (a, rest) = content.split_at(700);
    let (b, c) = rest.split_at(600);
    let r = patch(
        s,
        &avery,
        &loc,
        0,
        a,
        &[(
            "Upload-Checksum",
            &format!("sha1 {}", digest::<sha1::Sha1>(a)),
        )],
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(r.h("upload-offset"), Some("700"));
    assert!(r.h("upload-expires").is_some_and(|v| v.ends_with(" GMT")));
    assert_eq!(r.h("tus-resumable"), Some("1.0.0"));
    let r = patch(
        s,
        &avery,
        &loc,
        700,
        b,
        &[(
            "Upload-Checksum",
            &format!("sha256 {}", digest::<sha2::Sha256>(a)),
        )],
    )
    .await;
    assert_eq!(r.status.as_u16(), 460, "{}", r.body);
    assert_error(&r.body, "checksum_mismatch");
    assert_eq!(offset(s, &avery, &loc).await, 700);
    assert_eq!(
        staged_len(&f.staging(), &loc),
        Some(700),
        "the bad chunk is discarded"
    );
    let r = patch(
        s,
        &avery,
        &loc,
        700,
        b,
        &[("Upload-Checksum", "md5 AAAAAAAAAAAAAAAAAAAAAA==")],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(offset(s, &avery, &loc).await, 700);
    let r = patch(s, &avery, &loc, 700, b, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // A chunk past Upload-Length is refused and discarded.
    let mut too_much = c.to_vec();
    too_much.push(b'!');
    let r = patch(s, &avery, &loc, 1300, &too_much, &[]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(offset(s, &avery, &loc).await, 1300);
    let mut ws = s.ws(&avery, None).await;
    let r = patch(
        s,
        &avery,
        &loc,
        1300,
        c,
        &[(
            "Upload-Checksum",
            &format!("sha256 {}", digest::<sha2::Sha256>(c)),
        )],
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(
        r.h("upload-offset"),
        Some(content.len().to_string().as_str())
    );
    // The upload is now a file, stored under its SHA-256, and its owner is told.
    let ev = ws.next_of("file.updated").await;
    assert_eq!(ev["file"]["name"], "notes.txt");
    assert_eq!(ev["file"]["size"], content.len());
    assert_eq!(ev["conversation_id"], conv.as_str());
    let sha = crate::uploads::hex_sha256(&content);
    let blob = f.dir.path().join("blobs").join(&sha[..2]).join(&sha);
    assert_eq!(std::fs::read(&blob).unwrap(), content);
    assert_eq!(f.staged_files(), 0);
    // A finished upload still answers HEAD; it cannot be terminated any more.
    assert_eq!(offset(s, &avery, &loc).await, content.len() as u64);
    let r = tus(s, "DELETE", &loc, Some(&avery), &[], None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Termination: 204, then the upload and its bytes are gone.
    let loc2 = create(s, &avery, 10, &m).await;
    let r = patch(s, &avery, &loc2, 0, b"12345", &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(staged_len(&f.staging(), &loc2), Some(5));
    let r = tus(s, "DELETE", &loc2, Some(&diego), &[], None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = tus(s, "DELETE", &loc2, Some(&avery), &[], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.h("tus-resumable"), Some("1.0.0"));
    assert_eq!(staged_len(&f.staging(), &loc2), None);
    let r = tus(s, "HEAD", &loc2, Some(&avery), &[], None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Creation with upload: the body of the POST is the first chunk.
    let r = tus(
        s,
        "POST",
        "/v1/uploads",
        Some(&avery),
        &[
            ("Upload-Length", "20"),
            ("Upload-Metadata", &m),
            ("Content-Type", "application/offset+octet-stream"),
            (
                "Upload-Checksum",
                &format!("sha1 {}", digest::<sha1::Sha1>(b"0123456789")),
            ),
        ],
        Some(b"0123456789".to_vec()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.h("upload-offset"), Some("10"));
    let loc3 = r.h("location").unwrap().to_string();
    assert_eq!(offset(s, &avery, &loc3).await, 10);

    // 429: at most 5 pending uploads per user (loc3 is one).
    let mut pending = vec![loc3];
    for _ in 0..4 {
        pending.push(create(s, &avery, 10, &m).await);
    }
    let r = tus(
        s,
        "POST",
        "/v1/uploads",
        Some(&avery),
        &[("Upload-Length", "10"), ("Upload-Metadata", &m)],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert_error(&r.body, "too_many_uploads");
    // ... per user: Diego may still upload.
    create(s, &diego, 10, &m).await;
    // Terminating one makes room again.
    let r = tus(s, "DELETE", &pending[4], Some(&avery), &[], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    create(s, &avery, 10, &m).await;
}

async fn quota_and_expiry(f: &Files) {
    let s = &f.s;
    let [avery, _priya, diego, ..] = seed(s).await;
    let conv = s.conversation(&["avery", "diego"]).await;
    let m = meta("a.txt", "text/plain", &conv);
    // Quota 1000 bytes per org: 600 + 600 does not fit (413, quota_exceeded), for any member
    // of the org; another org (Diego has none: his own) is not affected.
    let loc = create(s, &avery, 600, &m).await;
    let r = tus(
        s,
        "POST",
        "/v1/uploads",
        Some(&avery),
        &[("Upload-Length", "600"), ("Upload-Metadata", &m)],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_error(&r.body, "quota_exceeded");
    create(s, &diego, 600, &m).await;
    // Expiry (lifetime 1 s): 410, and the bytes are collected.
    let r = patch(s, &avery, &loc, 0, &[b'a'; 100], &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(staged_len(&f.staging(), &loc), Some(100));
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let r = patch(s, &avery, &loc, 100, &[b'a'; 100], &[]).await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.body);
    assert_error(&r.body, "upload_expired");
    assert_eq!(r.h("tus-resumable"), Some("1.0.0"));
    let r = tus(s, "HEAD", &loc, Some(&avery), &[], None).await;
    assert_eq!(r.status, StatusCode::GONE);
    assert_eq!(staged_len(&f.staging(), &loc), None);
    // The collector expires uploads nobody asks about again.
    let loc2 = create(s, &diego, 10, &m).await;
    let r = patch(s, &diego, &loc2, 0, b"12345", &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let mut gone = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if staged_len(&f.staging(), &loc2).is_none() {
            gone = true;
            break;
        }
    }
    assert!(gone, "expired bytes collected in the background");
    // ... and the expired upload no longer counts: Avery may upload again.
    create(s, &avery, 600, &m).await;
}

fn quota_tweak(c: &mut Config) {
    c.files.org_quota_bytes = 1000;
    c.files.upload_ttl_secs = 1;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_conformance_on_sqlite() {
    let f = start_files(None, |_| {}).await.unwrap();
    conformance(&f).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_conformance_on_postgres() {
    let Some(f) = start_files(Some("tus_conformance_on_postgres"), |_| {}).await else {
        return;
    };
    conformance(&f).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_quota_and_expiry_on_sqlite() {
    let f = start_files(None, quota_tweak).await.unwrap();
    quota_and_expiry(&f).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_quota_and_expiry_on_postgres() {
    let Some(f) = start_files(Some("upload_quota_and_expiry_on_postgres"), quota_tweak).await
    else {
        return;
    };
    quota_and_expiry(&f).await;
}

pub(crate) fn hex_sha256(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}
