//! The built-in TURN relay's peer filter: a relay that sends wherever a client asks is an
//! open proxy into the server's own network. A relayed socket ([`FilteredConn`]) refuses
//! peers in 0.0.0.0/8, loopback, RFC 1918, shared address space (100.64/10), link-local,
//! multicast and broadcast (and their IPv6 counterparts), and the relay's own addresses except
//! its own relay allocations (two parties relayed by the same server), unless the test-only
//! `calls.turn_allow_private_peers` allows them. It also counts relayed bytes. Addresses are
//! never logged.

use async_trait::async_trait;
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;
use webrtc_util::Conn;

/// Counters of the relay (for metrics and the self test).
#[derive(Debug, Default)]
pub struct TurnStats {
    pub allocations: AtomicU64,
    pub relayed_bytes: AtomicU64,
    pub refused_packets: AtomicU64,
}

/// Whether an IPv4 address is one a relay must not reach.
pub fn private_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    o[0] == 0 // 0.0.0.0/8 "this network"
        || ip.is_loopback() // 127/8
        || ip.is_private() // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local() // 169.254/16
        || ip.is_multicast() // 224/4
        || ip.is_broadcast()
        || o[0] >= 240 // reserved
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64/10 shared address space
}

/// Whether an IPv6 address is one a relay must not reach (IPv4-mapped ones as IPv4).
pub fn private_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return private_v4(v4);
    }
    let s = ip.segments();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local
        || (s[0] & 0xffc0) == 0xfe80 // fe80::/10 link-local
}

/// Whether `ip` is in a refused range.
pub fn private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => private_v6(v6),
    }
}

/// Who a relay may send to.
#[derive(Debug)]
pub struct PeerRules {
    /// Test only: every peer allowed.
    pub allow_private: bool,
    /// The relay's own addresses (listening and announced).
    pub own: Vec<IpAddr>,
    /// Ports of this relay's live allocations (relay-to-relay is allowed).
    relay_ports: Mutex<HashSet<u16>>,
    /// Exact peers allowed for a moment (the self test's peer socket).
    allowed: Mutex<HashSet<SocketAddr>>,
}

impl PeerRules {
    pub fn new(allow_private: bool, own: Vec<IpAddr>) -> PeerRules {
        PeerRules {
            allow_private,
            own,
            relay_ports: Mutex::new(HashSet::new()),
            allowed: Mutex::new(HashSet::new()),
        }
    }

    /// Whether the relay may exchange packets with `peer`.
    pub fn allows(&self, peer: SocketAddr) -> bool {
        if self.allow_private {
            return true;
        }
        if self
            .allowed
            .lock()
            .map(|a| a.contains(&peer))
            .unwrap_or(false)
        {
            return true;
        }
        let ip = match peer.ip() {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        if self.own.contains(&ip) {
            // Another allocation of this relay: two parties both relayed here.
            return self
                .relay_ports
                .lock()
                .map(|p| p.contains(&peer.port()))
                .unwrap_or(false);
        }
        !private_ip(ip)
    }

    /// Allows one exact peer until [`PeerRules::forget`] (the self test).
    pub fn allow_exactly(&self, peer: SocketAddr) {
        if let Ok(mut a) = self.allowed.lock() {
            a.insert(peer);
        }
    }
    pub fn forget(&self, peer: SocketAddr) {
        if let Ok(mut a) = self.allowed.lock() {
            a.remove(&peer);
        }
    }
    fn add_port(&self, port: u16) {
        if let Ok(mut p) = self.relay_ports.lock() {
            p.insert(port);
        }
    }
    fn remove_port(&self, port: u16) {
        if let Ok(mut p) = self.relay_ports.lock() {
            p.remove(&port);
        }
    }
}

/// A relayed socket that only talks to allowed peers, counting the bytes it relays.
pub struct FilteredConn {
    inner: UdpSocket,
    port: u16,
    rules: Arc<PeerRules>,
    stats: Arc<TurnStats>,
}

impl FilteredConn {
    pub fn new(inner: UdpSocket, rules: Arc<PeerRules>, stats: Arc<TurnStats>) -> FilteredConn {
        let port = inner.local_addr().map(|a| a.port()).unwrap_or(0);
        rules.add_port(port);
        stats.allocations.fetch_add(1, Ordering::Relaxed);
        FilteredConn {
            inner,
            port,
            rules,
            stats,
        }
    }
    fn refused(&self) {
        self.stats.refused_packets.fetch_add(1, Ordering::Relaxed);
    }
    fn relayed(&self, n: usize) {
        self.stats
            .relayed_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
    }
}

impl Drop for FilteredConn {
    fn drop(&mut self) {
        self.rules.remove_port(self.port);
    }
}

#[async_trait]
impl Conn for FilteredConn {
    async fn connect(&self, addr: SocketAddr) -> webrtc_util::Result<()> {
        if !self.rules.allows(addr) {
            self.refused();
            return Err(webrtc_util::Error::Other("peer refused".into()));
        }
        Ok(self.inner.connect(addr).await?)
    }
    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        let n = self.inner.recv(buf).await?;
        self.relayed(n);
        Ok(n)
    }
    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        loop {
            let (n, from) = self.inner.recv_from(buf).await?;
            if self.rules.allows(from) {
                self.relayed(n);
                return Ok((n, from));
            }
            self.refused();
        }
    }
    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        let n = self.inner.send(buf).await?;
        self.relayed(n);
        Ok(n)
    }
    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        if !self.rules.allows(target) {
            // Dropped, as a firewall would.
            self.refused();
            return Ok(buf.len());
        }
        let n = self.inner.send_to(buf, target).await?;
        self.relayed(n);
        Ok(n)
    }
    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        Ok(self.inner.local_addr()?)
    }
    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }
    async fn close(&self) -> webrtc_util::Result<()> {
        self.rules.remove_port(self.port);
        Ok(())
    }
    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn every_private_range_is_refused() {
        let rules = PeerRules::new(false, vec!["203.0.113.5".parse().unwrap()]);
        for refused in [
            "0.0.0.0:9",
            "0.1.2.3:9",
            "127.0.0.1:9",
            "127.255.0.1:9",
            "10.0.0.1:9",
            "10.255.255.255:9",
            "172.16.0.1:9",
            "172.31.255.1:9",
            "192.168.1.1:9",
            "169.254.169.254:80",
            "100.64.0.1:9",
            "224.0.0.1:9",
            "239.255.255.250:1900",
            "255.255.255.255:9",
            "[::1]:9",
            "[::]:9",
            "[fc00::1]:9",
            "[fd12:3456::1]:9",
            "[fe80::1]:9",
            "[ff02::1]:9",
            "[::ffff:10.0.0.1]:9",
            "[::ffff:127.0.0.1]:9",
            // Its own address, on a port that is no relay allocation (e.g. its TURN port).
            "203.0.113.5:3478",
        ] {
            assert!(!rules.allows(sa(refused)), "{refused} must be refused");
        }
        for allowed in [
            "8.8.8.8:53",
            "172.15.0.1:9",
            "172.32.0.1:9",
            "100.128.0.1:9",
            "198.51.100.7:40000",
            "[2001:db8::1]:9",
        ] {
            assert!(rules.allows(sa(allowed)), "{allowed} must be allowed");
        }
        // An exact peer can be allowed for a moment (the self test).
        rules.allow_exactly(sa("127.0.0.1:5000"));
        assert!(rules.allows(sa("127.0.0.1:5000")));
        assert!(!rules.allows(sa("127.0.0.1:5001")));
        rules.forget(sa("127.0.0.1:5000"));
        assert!(!rules.allows(sa("127.0.0.1:5000")));
        // The test-only setting allows everything.
        assert!(PeerRules::new(true, vec![]).allows(sa("10.0.0.1:9")));
    }

    #[tokio::test]
    async fn a_filtered_socket_drops_refused_peers_and_counts_relayed_bytes() {
        let rules = Arc::new(PeerRules::new(false, vec!["127.0.0.1".parse().unwrap()]));
        let stats = Arc::new(TurnStats::default());
        let a = FilteredConn::new(
            UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            rules.clone(),
            stats.clone(),
        );
        let b = FilteredConn::new(
            UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            rules.clone(),
            stats.clone(),
        );
        let outsider = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // Relay to relay (own address, both allocations) passes.
        let b_addr = b.local_addr().unwrap();
        a.send_to(b"hello", b_addr).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hello");
        // A loopback socket that is no allocation is refused both ways.
        a.send_to(b"x", outsider.local_addr().unwrap())
            .await
            .unwrap();
        assert_eq!(stats.refused_packets.load(Ordering::Relaxed), 1);
        assert_eq!(stats.allocations.load(Ordering::Relaxed), 2);
        assert_eq!(stats.relayed_bytes.load(Ordering::Relaxed), 10);
        drop(b);
        a.send_to(b"gone", b_addr).await.unwrap();
        assert_eq!(stats.refused_packets.load(Ordering::Relaxed), 2);
    }
}
