//! The accept loop: HTTP/1.1 connections (upgrades to WebSocket included) served by hyper with
//! a header-read timeout (which is also the keep-alive idle timeout), a cap on open
//! connections per client IP address, and graceful shutdown.
//!
//! A connection over its address's cap is not refused outright: it is served one request
//! (keep-alive off, a short header timeout), and only `/v1/health` answers on it (503
//! `too_many_connections` otherwise), so health checks keep working while one address holds
//! the cap.

use crate::limits::{ConnLimiter, ConnSlot};
use crate::ApiError;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// How the listener treats connections.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    pub header_read_timeout: Duration,
    pub max_connections_per_ip: usize,
}

/// The header timeout of a connection over its address's cap.
const OVER_CAP_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// Serves `app` on `listener` until `shutdown` completes, then lets the open connections
/// finish their requests (WebSockets already upgraded close with the process).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    opts: ListenOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limiter = ConnLimiter::new(opts.max_connections_per_ip);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let slot = limiter.try_acquire(addr.ip());
        if slot.is_none() {
            tracing::debug!(ip = %addr.ip(), "connection over the per-address cap");
        }
        tokio::spawn(connection(
            stream,
            addr,
            slot,
            app.clone(),
            opts.header_read_timeout,
            stop_rx.clone(),
            done_rx.clone(),
        ));
    }
    drop(listener);
    drop(done_rx);
    let _ = stop_tx.send(true);
    done_tx.closed().await;
    Ok(())
}

async fn connection(
    stream: tokio::net::TcpStream,
    addr: SocketAddr,
    slot: Option<ConnSlot>,
    app: Router,
    header_timeout: Duration,
    mut stop: watch::Receiver<bool>,
    _done: watch::Receiver<()>,
) {
    let over_cap = slot.is_none();
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(addr));
        if let Some(s) = &slot {
            req.extensions_mut().insert(s.clone());
        }
        let app = app.clone();
        async move {
            if over_cap && req.uri().path() != "/v1/health" {
                return Ok::<Response, Infallible>(too_many_connections());
            }
            app.oneshot(req).await
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(if over_cap {
            OVER_CAP_HEADER_TIMEOUT.min(header_timeout)
        } else {
            header_timeout
        })
        .keep_alive(!over_cap);
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        _ = async { drop(stop.wait_for(|s| *s).await) } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

fn too_many_connections() -> Response {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "too_many_connections",
        "too many open connections from your address; close some and retry",
    )
    .into_response()
}

/// Raises this process's open-file limit (`RLIMIT_NOFILE`) to its hard limit, so one node can
/// hold many sockets; returns the soft limit before and after (both logged).
pub fn raise_open_files_limit() -> std::io::Result<(u64, u64)> {
    let raised = rlimit::Resource::NOFILE.get().and_then(|(before, _)| {
        rlimit::increase_nofile_limit(u64::MAX).map(|after| (before, after))
    });
    match &raised {
        Ok((before, after)) => tracing::info!(before, after, "open files limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open files limit"),
    }
    raised
}
