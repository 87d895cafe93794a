//! Malware scanning with ClamAV's `clamd` (`files.clamav`), through the `clamav-client`
//! crate: the blob is streamed from storage to `clamd`'s `INSTREAM` command in 64 KiB chunks
//! (never held in memory), on TCP or a unix socket. What a scan's outcome does to a file is in
//! [`crate::domain::scan`]; `/metrics` reports whether `clamd` is configured and answers a
//! `PING` ([`status`]).

use std::path::PathBuf;
use std::time::Duration;

use clamav_client::tokio::{Socket, Tcp, TransportProtocol};
use tokio_util::io::ReaderStream;

use crate::blob::BlobStore;

/// Bytes per `INSTREAM` chunk (and per read from storage).
const CHUNK: usize = 64 * 1024;

/// How long `/metrics` waits for a `PING`.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Where `clamd` listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClamAddr {
    /// `HOST:PORT`.
    Tcp(String),
    /// A unix socket's path.
    Unix(PathBuf),
}

impl ClamAddr {
    /// `tcp://HOST:PORT`, `HOST:PORT`, `unix:///PATH` or `/PATH`.
    pub fn parse(v: &str) -> Result<ClamAddr, String> {
        let v = v.trim();
        let bad = || {
            format!(
                "files.clamav must be tcp://HOST:PORT, HOST:PORT, unix:///PATH or /PATH, not {v:?}"
            )
        };
        if let Some(path) = v.strip_prefix("unix://") {
            return path
                .starts_with('/')
                .then(|| ClamAddr::Unix(PathBuf::from(path)))
                .ok_or_else(bad);
        }
        if v.starts_with('/') {
            return Ok(ClamAddr::Unix(PathBuf::from(v)));
        }
        let hostport = v.strip_prefix("tcp://").unwrap_or(v);
        match hostport.rsplit_once(':') {
            Some((host, port))
                if !host.is_empty()
                    && !host.contains('/')
                    && !hostport.contains("://")
                    && port.parse::<u16>().is_ok_and(|p| p > 0) =>
            {
                Ok(ClamAddr::Tcp(hostport.to_string()))
            }
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for ClamAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClamAddr::Tcp(a) => write!(f, "tcp://{a}"),
            ClamAddr::Unix(p) => write!(f, "unix://{}", p.display()),
        }
    }
}

/// What `clamd` said about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// The name of the signature that matched (e.g. `Eicar-Test-Signature`).
    Infected(String),
}

/// `clamd`'s answer to `INSTREAM`: `stream: OK`, `stream: NAME FOUND`, or `... ERROR`.
pub fn parse_reply(reply: &[u8]) -> Result<Verdict, String> {
    let text = String::from_utf8_lossy(reply);
    let text = text.trim_end_matches(['\0', '\n', '\r']).trim();
    let body = text.strip_prefix("stream:").unwrap_or(text).trim();
    if body == "OK" {
        return Ok(Verdict::Clean);
    }
    if let Some(name) = body.strip_suffix(" FOUND") {
        return Ok(Verdict::Infected(name.trim().to_string()));
    }
    if text.is_empty() {
        return Err("clamd closed the connection without an answer".into());
    }
    Err(format!("clamd answered {text:?}"))
}

async fn instream<T: TransportProtocol>(
    conn: T,
    blobs: &impl BlobStore,
    key: &str,
    size: u64,
) -> Result<Vec<u8>, String> {
    let reader = blobs
        .open_range(key, 0, size)
        .await
        .map_err(|e| format!("reading the file from storage: {e}"))?;
    let stream = ReaderStream::with_capacity(reader, CHUNK);
    clamav_client::tokio::scan_stream(stream, conn, Some(CHUNK))
        .await
        .map_err(|e| format!("clamd: {e}"))
}

/// Streams the blob `key` (`size` bytes) to `clamd` within `timeout`. `Err`: the file could
/// not be scanned (unreachable, timeout, an `ERROR` answer), with the reason.
pub async fn scan_blob(
    addr: &ClamAddr,
    blobs: &impl BlobStore,
    key: &str,
    size: u64,
    timeout: Duration,
) -> Result<Verdict, String> {
    let work = async {
        match addr {
            ClamAddr::Tcp(a) => {
                instream(
                    Tcp {
                        host_address: a.as_str(),
                    },
                    blobs,
                    key,
                    size,
                )
                .await
            }
            ClamAddr::Unix(p) => {
                instream(
                    Socket {
                        socket_path: p.as_path(),
                    },
                    blobs,
                    key,
                    size,
                )
                .await
            }
        }
    };
    let reply = tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| format!("clamd did not answer within {} s", timeout.as_secs()))??;
    parse_reply(&reply)
}

/// Whether `clamd` answers `PING` with `PONG`.
pub async fn ping(addr: &ClamAddr) -> bool {
    let work = async {
        match addr {
            ClamAddr::Tcp(a) => {
                clamav_client::tokio::ping(Tcp {
                    host_address: a.as_str(),
                })
                .await
            }
            ClamAddr::Unix(p) => {
                clamav_client::tokio::ping(Socket {
                    socket_path: p.as_path(),
                })
                .await
            }
        }
    };
    matches!(
        tokio::time::timeout(PING_TIMEOUT, work).await,
        Ok(Ok(r)) if r == clamav_client::PONG
    )
}

/// Says at start whether the configured `clamd` answers.
pub async fn log_at_start(addr: String, fail_open: bool) {
    let Ok(a) = ClamAddr::parse(&addr) else {
        return;
    };
    if ping(&a).await {
        tracing::info!(clamav = %a, "malware scanning with clamd");
    } else {
        tracing::warn!(clamav = %a, fail_open,
            "clamd does not answer: files will be {} until it does",
            if fail_open { "shared without a malware scan" } else { "held for a moderator" });
    }
}

/// The `/metrics` lines: configured, reachable (a `PING` now), fail-open.
pub async fn status(cfg: &crate::files_config::FilesConfig) -> String {
    let addr = cfg.clamav.as_deref().and_then(|a| ClamAddr::parse(a).ok());
    let reachable = match &addr {
        Some(a) => ping(a).await,
        None => false,
    };
    let mut out = String::new();
    out.push_str("# HELP parley_clamav_configured Whether files are scanned for malware by ClamAV (files.clamav).\n");
    out.push_str("# TYPE parley_clamav_configured gauge\n");
    out.push_str(&format!(
        "parley_clamav_configured {}\n",
        u8::from(addr.is_some())
    ));
    out.push_str("# HELP parley_clamav_reachable Whether clamd answered a PING just now (0 when not configured).\n");
    out.push_str("# TYPE parley_clamav_reachable gauge\n");
    out.push_str(&format!(
        "parley_clamav_reachable {}\n",
        u8::from(reachable)
    ));
    out.push_str("# HELP parley_clamav_fail_open Whether files that clamd cannot scan are let through (1) or held (0).\n");
    out.push_str("# TYPE parley_clamav_fail_open gauge\n");
    out.push_str(&format!(
        "parley_clamav_fail_open {}\n",
        u8::from(cfg.clamav_fail_open)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            ClamAddr::parse("tcp://127.0.0.1:3310"),
            Ok(ClamAddr::Tcp("127.0.0.1:3310".into()))
        );
        assert_eq!(
            ClamAddr::parse("localhost:3310"),
            Ok(ClamAddr::Tcp("localhost:3310".into()))
        );
        assert_eq!(
            ClamAddr::parse("unix:///run/clamav/clamd.ctl"),
            Ok(ClamAddr::Unix("/run/clamav/clamd.ctl".into()))
        );
        assert_eq!(
            ClamAddr::parse("/run/clamav/clamd.ctl"),
            Ok(ClamAddr::Unix("/run/clamav/clamd.ctl".into()))
        );
        for bad in [
            "",
            "localhost",
            "tcp://x:0",
            "http://x:80",
            "unix://rel",
            "x:y",
        ] {
            assert!(ClamAddr::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            ClamAddr::parse("tcp://[::1]:3310").map(|a| a.to_string()),
            Ok("tcp://[::1]:3310".into())
        );
    }

    #[test]
    fn replies() {
        assert_eq!(parse_reply(b"stream: OK\0"), Ok(Verdict::Clean));
        assert_eq!(
            parse_reply(b"stream: Eicar-Test.UNOFFICIAL FOUND\0"),
            Ok(Verdict::Infected("Eicar-Test.UNOFFICIAL".into()))
        );
        assert!(parse_reply(b"INSTREAM size limit exceeded. ERROR\0")
            .unwrap_err()
            .contains("size limit"));
        assert!(parse_reply(b"").is_err());
    }

    #[tokio::test]
    async fn nothing_listening_is_an_error() {
        // A port that was free a moment ago: nothing answers.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let addr = ClamAddr::Tcp(format!("127.0.0.1:{port}"));
        assert!(!ping(&addr).await);
        let dir = tempfile::tempdir().unwrap();
        let blobs = crate::blob::LocalDisk::new(dir.path());
        let staged = dir.path().join("staged");
        std::fs::write(&staged, b"hello").unwrap();
        let key = "a".repeat(64);
        blobs.put_file(&key, &staged).await.unwrap();
        let err = scan_blob(&addr, &blobs, &key, 5, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(err.starts_with("clamd: "), "{err}");
    }
}
