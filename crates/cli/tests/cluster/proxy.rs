//! A small TCP proxy between a node and NATS: the test cuts the link (open connections are
//! dropped, new ones refused until it is restored) or delays it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

struct State {
    up: AtomicBool,
    delay_ms: AtomicU64,
    /// Bumped on every cut: the connections open before it end.
    cuts: watch::Sender<u64>,
}

pub struct Proxy {
    pub port: u16,
    state: Arc<State>,
}

impl Proxy {
    pub async fn start(upstream: u16) -> Proxy {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let state = Arc::new(State {
            up: AtomicBool::new(true),
            delay_ms: AtomicU64::new(0),
            cuts: watch::channel(0).0,
        });
        let st = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = l.accept().await {
                if !st.up.load(Ordering::Acquire) {
                    drop(client);
                    continue;
                }
                let st = st.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                        return;
                    };
                    let mut cut = st.cuts.subscribe();
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::select! {
                        _ = pipe(cr, sw, &st) => {}
                        _ = pipe(sr, cw, &st) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy { port, state }
    }

    /// Drops the open connections and refuses new ones.
    pub fn cut(&self) {
        self.state.up.store(false, Ordering::Release);
        self.state.cuts.send_modify(|n| *n += 1);
    }

    pub fn restore(&self) {
        self.state.up.store(true, Ordering::Release);
    }

    /// Holds every chunk this long before forwarding it.
    pub fn delay(&self, d: Duration) {
        self.state
            .delay_ms
            .store(d.as_millis() as u64, Ordering::Release);
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    st: &State,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let d = st.delay_ms.load(Ordering::Acquire);
        if d > 0 {
            tokio::time::sleep(Duration::from_millis(d)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
