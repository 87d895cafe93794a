//! Resume through a connection-cutting proxy: a small TCP proxy between a tus client (reqwest)
//! and the server cuts the connection every 4 MiB of what the client sends; a 64 MiB upload
//! resumes each time with HEAD + PATCH from the server's offset. The stored blob's SHA-256 (and
//! the downloaded file's) matches the bytes, and no cut costs more than 8 MiB sent again.

use super::uploads::{create, hex_sha256, meta, start_files};
use super::*;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

const MIB: u64 = 1024 * 1024;
const CUT_EVERY: u64 = 4 * MIB;

/// What the proxy saw: bytes read from clients (all connections), and the cuts it made.
#[derive(Default)]
struct Counts {
    read: u64,
    cuts: u64,
    next_cut: u64,
}

/// Starts the proxy to `upstream` (`host:port`); returns its base URL and its counters.
async fn cutting_proxy(upstream: String) -> (String, Arc<Mutex<Counts>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = Arc::new(Mutex::new(Counts {
        next_cut: CUT_EVERY,
        ..Counts::default()
    }));
    let shared = counts.clone();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let counts = shared.clone();
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut client_r, mut client_w) = client.into_split();
                let (mut server_r, mut server_w) = server.into_split();
                let down =
                    tokio::spawn(
                        async move { tokio::io::copy(&mut server_r, &mut client_w).await },
                    );
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match client_r.read(&mut buf).await {
                        Ok(0) | Err(_) => {
                            let _ = server_w.shutdown().await;
                            let _ = down.await;
                            return;
                        }
                        Ok(n) => n as u64,
                    };
                    // Forward up to the next multiple of 4 MiB, then cut both sides.
                    let (pass, cut) = {
                        let mut c = counts.lock().await;
                        let room = c.next_cut - c.read;
                        c.read += n;
                        if n >= room {
                            c.cuts += 1;
                            c.next_cut += CUT_EVERY;
                            (room, true)
                        } else {
                            (n, false)
                        }
                    };
                    if server_w.write_all(&buf[..pass as usize]).await.is_err() {
                        down.abort();
                        return;
                    }
                    if cut {
                        down.abort();
                        return; // both halves of both sockets dropped: the connections close
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), counts)
}

/// `HEAD` through the proxy (tried again if a cut happens to fall on it).
async fn server_offset(s: &Server, tok: &str, loc: &str) -> u64 {
    for _ in 0..5 {
        let r = s
            .http
            .head(format!("{}{loc}", s.base))
            .bearer_auth(tok)
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await;
        let Ok(r) = r else { continue };
        assert_eq!(r.status(), StatusCode::OK);
        let h = |n: &str| {
            r.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        assert_eq!(h("cache-control").as_deref(), Some("no-store"));
        return h("upload-offset")
            .and_then(|v| v.parse().ok())
            .expect("Upload-Offset");
    }
    panic!("HEAD {loc} failed five times");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_resumes_through_a_proxy_that_cuts_every_4_mib() {
    let size = 64 * MIB;
    let f = start_files(None, |c| {
        c.files.max_upload_bytes = size;
        c.user_burst = 1e9;
        c.user_rate_per_sec = 1e9;
    })
    .await
    .unwrap();
    let direct = &f.s;
    let [avery, ..] = seed(direct).await;
    let conv = direct.conversation(&["avery", "diego"]).await;
    let data: Vec<u8> = (0..size)
        .map(|i| ((i * 7 + i / 4096) % 251) as u8)
        .collect();
    let want = hex_sha256(&data);

    let upstream = direct.base.trim_start_matches("http://").to_string();
    let (proxy_base, counts) = cutting_proxy(upstream).await;
    // The tus client talks to the proxy only (a fresh connection pool of its own).
    let proxied = Server {
        base: proxy_base,
        http: Client::new(),
        _shutdown: tokio::sync::oneshot::channel().0,
        _dir: None,
    };
    let loc = create(
        &proxied,
        &avery,
        size as usize,
        &meta("footage.bin", "application/octet-stream", &conv),
    )
    .await;

    let mut offset = server_offset(&proxied, &avery, &loc).await;
    assert_eq!(offset, 0);
    let mut attempts = 0;
    let mut worst_resent = 0u64;
    while offset < size {
        attempts += 1;
        assert!(attempts < 100, "no progress: offset {offset}");
        let read_before = counts.lock().await.read;
        // One PATCH with everything that is left; the proxy cuts it part way.
        let sent = proxied
            .http
            .patch(format!("{}{loc}", proxied.base))
            .bearer_auth(&avery)
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", offset.to_string())
            .body(data[offset as usize..].to_vec())
            .send()
            .await;
        let finished = matches!(&sent, Ok(r) if r.status() == StatusCode::NO_CONTENT);
        if let Ok(r) = &sent {
            // 409: the previous, cut request was still being written when HEAD answered.
            assert!(
                r.status() == StatusCode::NO_CONTENT || r.status() == StatusCode::CONFLICT,
                "PATCH at {offset}: {}",
                r.status()
            );
        }
        if !finished {
            // Let the server finish with the cut connection, then ask where it stands.
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        let now = server_offset(&proxied, &avery, &loc).await;
        assert!(now >= offset, "the offset went back: {offset} -> {now}");
        let read = counts.lock().await.read - read_before;
        // Bytes that crossed the proxy in this round but are not stored: they are sent again.
        let resent = read.saturating_sub(now - offset);
        assert!(
            resent <= 8 * MIB,
            "a cut at {offset} cost {resent} bytes sent again"
        );
        worst_resent = worst_resent.max(resent);
        offset = now;
    }
    let cuts = counts.lock().await.cuts;
    assert!(
        cuts >= 15,
        "the proxy cut the upload only {cuts} times ({attempts} PATCHes)"
    );
    eprintln!(
        "64 MiB through the proxy: {cuts} cuts, {attempts} PATCHes, at most {:.2} MiB sent again per cut",
        worst_resent as f64 / MIB as f64
    );

    // The blob stored under its SHA-256 is the file, and so is what the owner downloads.
    let id = loc.rsplit('/').next().unwrap();
    let mut view = Value::Null;
    for _ in 0..600 {
        let (st, v) = direct
            .call(Method::GET, &format!("/v1/files/{id}"), Some(&avery), None)
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        if v["state"] != "scanning" {
            view = v;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(view["size"], size, "{view}");
    let blob = f.dir.path().join("blobs").join(&want[..2]).join(&want);
    let stored = std::fs::read(&blob).unwrap_or_else(|e| panic!("blob {}: {e}", blob.display()));
    assert_eq!(hex_sha256(&stored), want);
    let url = view["download_url"]
        .as_str()
        .expect("the owner's download link");
    let got = direct
        .http
        .get(format!("{}{url}", direct.base))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(hex_sha256(&got.bytes().await.unwrap()), want);
}
