//! The TURN relay built into the server (the `turn` crate of webrtc-rs), so calls connect
//! across NATs with no other service. UDP only (the crate has no TCP listener). Credentials
//! are the TURN REST ones of `GET /v1/calls/ice` (checked by [`RestAuth`] without a
//! database); relayed sockets go through the peer filter of [`crate::turn_filter`]. The relay
//! carries DTLS-SRTP ciphertext it cannot read, and records nothing.

use crate::domain::call_ice::{check_username, turn_password};
use crate::turn_filter::{FilteredConn, PeerRules, TurnStats};
use crate::AppState;
use async_trait::async_trait;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use turn::auth::{generate_auth_key, AuthHandler};
use turn::relay::RelayAddressGenerator;
use turn::server::config::{ConnConfig, ServerConfig};
use webrtc_util::Conn;

/// The realm of the built-in relay.
pub const REALM: &str = "parley";

/// Why the relay could not start.
#[derive(Debug, thiserror::Error)]
#[error("TURN relay: {0}")]
pub struct TurnError(pub String);

/// Checks TURN REST usernames (`expiry:user_id`) against the shared secret.
struct RestAuth {
    secret: Vec<u8>,
}

impl AuthHandler for RestAuth {
    fn auth_handle(
        &self,
        username: &str,
        realm: &str,
        _src: SocketAddr,
    ) -> Result<Vec<u8>, turn::Error> {
        let now = parley_store::now_ms().div_euclid(1000);
        match check_username(&self.secret, username, now) {
            Some((_, password)) => Ok(generate_auth_key(username, realm, &password)),
            None => Err(turn::Error::ErrFakeErr),
        }
    }
}

/// Relayed sockets: bound on the listening address (in the port range when set), announced
/// at the public address, wrapped in the peer filter.
struct Relays {
    bind_ip: IpAddr,
    announced: IpAddr,
    ports: Option<(u16, u16)>,
    rules: Arc<PeerRules>,
    stats: Arc<TurnStats>,
}

#[async_trait]
impl RelayAddressGenerator for Relays {
    fn validate(&self) -> Result<(), turn::Error> {
        Ok(())
    }
    async fn allocate_conn(
        &self,
        _use_ipv4: bool,
        requested_port: u16,
    ) -> Result<(Arc<dyn Conn + Send + Sync>, SocketAddr), turn::Error> {
        let candidates: Vec<u16> = match (requested_port, self.ports) {
            (p, _) if p != 0 => vec![p],
            (_, None) => vec![0],
            (_, Some((lo, hi))) => {
                let span = u32::from(hi - lo) + 1;
                let start = rand_u32() % span;
                (0..span.min(64))
                    .map(|i| lo + u16::try_from((start + i) % span).unwrap_or(0))
                    .collect()
            }
        };
        for port in candidates {
            if let Ok(sock) = UdpSocket::bind(SocketAddr::new(self.bind_ip, port)).await {
                let mut relay = sock
                    .local_addr()
                    .map_err(|e| turn::Error::Other(e.to_string()))?;
                relay.set_ip(self.announced);
                let conn = FilteredConn::new(sock, self.rules.clone(), self.stats.clone());
                return Ok((Arc::new(conn), relay));
            }
        }
        Err(turn::Error::ErrMaxRetriesExceeded)
    }
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    let _ = getrandom::getrandom(&mut b);
    u32::from_le_bytes(b)
}

/// The running relay.
pub struct Relay {
    server: turn::server::Server,
    /// Where it listens (the real port when 0 was asked).
    pub addr: SocketAddr,
    /// The address announced to clients.
    pub announced: IpAddr,
    pub rules: Arc<PeerRules>,
    pub stats: Arc<TurnStats>,
    secret: Vec<u8>,
}

impl Relay {
    /// Stops serving.
    pub async fn close(&self) {
        let _ = self.server.close().await;
    }
    /// The TURN URL clients use.
    pub fn url(&self) -> String {
        let host = match self.announced {
            IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        };
        format!("turn:{host}:{}?transport=udp", self.addr.port())
    }
}

/// Where the relay listens: `calls.turn_listen`, else port 3478 on the host of `listen`.
pub fn listen_addr(s: &AppState) -> Result<SocketAddr, TurnError> {
    let c = &s.inner.config;
    let text = if c.calls.turn_listen.is_empty() {
        let host = c
            .listen
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or("127.0.0.1");
        format!("{host}:3478")
    } else {
        c.calls.turn_listen.clone()
    };
    text.parse()
        .map_err(|_| TurnError(format!("not an address (IP:PORT): {text:?}")))
}

/// Starts the relay for this server on `addr` and announces its URL in `GET /v1/calls/ice`
/// (unless external TURN URLs are configured).
pub async fn start(s: &AppState, addr: SocketAddr) -> Result<Arc<Relay>, TurnError> {
    let cfg = &s.inner.config.calls;
    let sock = UdpSocket::bind(addr)
        .await
        .map_err(|e| TurnError(format!("binding {addr}: {e}")))?;
    let addr = sock.local_addr().map_err(|e| TurnError(e.to_string()))?;
    let announced: IpAddr = if cfg.turn_public_ip.is_empty() {
        if addr.ip().is_unspecified() {
            return Err(TurnError(
                "listening on every address: set calls.turn_public_ip to the address clients reach"
                    .into(),
            ));
        }
        addr.ip()
    } else {
        cfg.turn_public_ip
            .parse()
            .map_err(|_| TurnError(format!("calls.turn_public_ip: {:?}", cfg.turn_public_ip)))?
    };
    let mut own = vec![announced, addr.ip()];
    own.dedup();
    let rules = Arc::new(PeerRules::new(cfg.turn_allow_private_peers, own));
    let stats = Arc::new(TurnStats::default());
    let ports = cfg.relay_ports().map_err(|e| TurnError(e.0))?;
    let secret = s.inner.turn.secret().to_vec();
    let server = turn::server::Server::new(ServerConfig {
        conn_configs: vec![ConnConfig {
            conn: Arc::new(sock),
            relay_addr_generator: Box::new(Relays {
                bind_ip: addr.ip(),
                announced,
                ports,
                rules: rules.clone(),
                stats: stats.clone(),
            }),
        }],
        realm: REALM.into(),
        auth_handler: Arc::new(RestAuth {
            secret: secret.clone(),
        }),
        channel_bind_timeout: Duration::from_secs(0),
        alloc_close_notify: None,
    })
    .await
    .map_err(|e| TurnError(e.to_string()))?;
    let relay = Arc::new(Relay {
        server,
        addr,
        announced,
        rules,
        stats,
        secret,
    });
    if cfg.turn_urls.is_empty() {
        s.inner.turn.set_urls(vec![relay.url()]);
    }
    let _ = s.inner.turn_relay.set(relay.clone());
    if cfg.turn_allow_private_peers {
        tracing::warn!("TURN relay may reach private addresses (calls.turn_allow_private_peers): for tests only");
    }
    tracing::info!(%addr, "TURN relay listening (UDP)");
    Ok(relay)
}

/// What `parley turn selftest` and `POST /v1/admin/turn/selftest` report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SelftestReport {
    pub pass: bool,
    /// The relay tested (`turn:HOST:PORT`).
    pub url: String,
    /// A relay allocation was made with REST credentials.
    pub allocated: bool,
    /// A packet went out through the relay and one came back.
    pub relayed: bool,
    /// Round trip through the relay, ms.
    pub round_trip_ms: Option<u64>,
    pub error: Option<String>,
}

/// Allocates on `relay` with fresh REST credentials and relays a packet to a local peer and
/// back; at most 5 s.
pub async fn selftest(relay: &Relay) -> SelftestReport {
    let mut report = SelftestReport {
        pass: false,
        url: relay.url(),
        allocated: false,
        relayed: false,
        round_trip_ms: None,
        error: None,
    };
    let started = std::time::Instant::now();
    match tokio::time::timeout(Duration::from_secs(5), run_selftest(relay, &mut report)).await {
        Ok(Ok(())) => {
            report.round_trip_ms = Some(started.elapsed().as_millis() as u64);
            report.pass = report.allocated && report.relayed;
        }
        Ok(Err(e)) => report.error = Some(e),
        Err(_) => report.error = Some("no answer within 5 s".into()),
    }
    report
}

async fn run_selftest(relay: &Relay, report: &mut SelftestReport) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let host = if relay.addr.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        relay.addr.ip()
    };
    let server = SocketAddr::new(host, relay.addr.port()).to_string();
    let expiry = parley_store::now_ms().div_euclid(1000) + 60;
    let username = format!("{expiry}:parley-selftest");
    let client_sock = UdpSocket::bind(SocketAddr::new(host, 0))
        .await
        .map_err(|x| e(&x))?;
    let client = turn::client::Client::new(turn::client::ClientConfig {
        stun_serv_addr: server.clone(),
        turn_serv_addr: server,
        password: turn_password(&relay.secret, &username),
        username,
        realm: REALM.into(),
        software: String::new(),
        rto_in_ms: 0,
        conn: Arc::new(client_sock),
        vnet: None,
    })
    .await
    .map_err(|x| e(&x))?;
    client.listen().await.map_err(|x| e(&x))?;
    let outcome = async {
        let conn = client.allocate().await.map_err(|x| e(&x))?;
        report.allocated = true;
        let mut relayed_at = conn.local_addr().map_err(|x| e(&x))?;
        relayed_at.set_ip(host);
        let peer = UdpSocket::bind(SocketAddr::new(host, 0))
            .await
            .map_err(|x| e(&x))?;
        let peer_addr = peer.local_addr().map_err(|x| e(&x))?;
        relay.rules.allow_exactly(peer_addr);
        let result = async {
            conn.send_to(b"parley-selftest", peer_addr)
                .await
                .map_err(|x| e(&x))?;
            let mut buf = [0u8; 64];
            let (n, from) = peer.recv_from(&mut buf).await.map_err(|x| e(&x))?;
            if &buf[..n] != b"parley-selftest" || from.port() != relayed_at.port() {
                return Err("the relayed packet differs".to_string());
            }
            peer.send_to(b"parley-selftest-back", from)
                .await
                .map_err(|x| e(&x))?;
            let (n, _) = conn.recv_from(&mut buf).await.map_err(|x| e(&x))?;
            if &buf[..n] != b"parley-selftest-back" {
                return Err("the answer differs".to_string());
            }
            Ok(())
        }
        .await;
        relay.rules.forget(peer_addr);
        let _ = conn.close().await;
        result
    }
    .await;
    let _ = client.close().await;
    outcome?;
    report.relayed = true;
    Ok(())
}

/// Counters for metrics: allocations, relayed bytes, refused packets.
pub fn stats(s: &AppState) -> Option<(u64, u64, u64)> {
    s.inner.turn_relay.get().map(|r| {
        (
            r.stats.allocations.load(Ordering::Relaxed),
            r.stats.relayed_bytes.load(Ordering::Relaxed),
            r.stats.refused_packets.load(Ordering::Relaxed),
        )
    })
}
