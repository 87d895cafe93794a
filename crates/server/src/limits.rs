//! Bounds on what one client can hold or trigger: open connections per IP address, typing
//! fan-outs per (conversation, sender), failed authentications per IP address.

use crate::rate::RateLimiter;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The maps stay consistent under a panic (plain inserts and removals): keep using them.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Open connections per client IP address, up to a cap.
pub struct ConnLimiter {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One open connection's place under the cap; given back when the last clone is dropped (an
/// upgraded WebSocket keeps its connection's slot until it closes).
#[derive(Clone)]
pub struct ConnSlot(#[allow(dead_code)] Arc<SlotInner>);

struct SlotInner {
    limiter: Arc<ConnLimiter>,
    ip: IpAddr,
}

impl Drop for SlotInner {
    fn drop(&mut self) {
        let mut m = lock(&self.limiter.open);
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

impl ConnLimiter {
    pub fn new(max_per_ip: usize) -> Arc<ConnLimiter> {
        Arc::new(ConnLimiter {
            max: max_per_ip.max(1),
            open: Mutex::default(),
        })
    }

    /// A slot for one more connection from `ip`, or `None` when `ip` holds the cap already.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<ConnSlot> {
        let mut m = lock(&self.open);
        let n = m.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(ConnSlot(Arc::new(SlotInner {
            limiter: self.clone(),
            ip,
        })))
    }

    /// Connections open from `ip`.
    pub fn open_from(&self, ip: IpAddr) -> usize {
        lock(&self.open).get(&ip).copied().unwrap_or(0)
    }
}

/// At most one typing fan-out per (conversation, sender) per interval: typing signals are
/// ephemeral, so the ones in between are dropped.
pub struct TypingGate {
    interval: Duration,
    last: Mutex<HashMap<(String, String), Instant>>,
}

impl TypingGate {
    pub fn new(interval: Duration) -> TypingGate {
        TypingGate {
            interval,
            last: Mutex::default(),
        }
    }

    /// True when `from`'s typing in `conversation` should be fanned out now.
    pub fn allow(&self, conversation: &str, from: &str) -> bool {
        let now = Instant::now();
        let mut m = lock(&self.last);
        if m.len() > 100_000 {
            let interval = self.interval;
            m.retain(|_, at| now.duration_since(*at) < interval);
        }
        let key = (conversation.to_string(), from.to_string());
        match m.get(&key) {
            Some(at) if now.duration_since(*at) < self.interval => false,
            _ => {
                m.insert(key, now);
                true
            }
        }
    }
}

/// Failed authentications per client IP address (a token bucket per address).
pub struct AuthFailures(RateLimiter);

impl AuthFailures {
    pub fn new(per_sec: f64, burst: f64) -> AuthFailures {
        AuthFailures(RateLimiter::new(per_sec, burst))
    }

    /// Records a failure from `ip`; false when `ip` is over its budget (answer 429).
    pub fn record(&self, ip: Option<IpAddr>) -> bool {
        match ip {
            Some(ip) => self.0.allow(&ip.to_string()),
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_per_address_and_slots_come_back() {
        let l = ConnLimiter::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let s1 = l.try_acquire(a).unwrap();
        let s2 = l.try_acquire(a).unwrap();
        assert!(l.try_acquire(a).is_none());
        assert!(l.try_acquire(b).is_some());
        let s2b = s2.clone();
        drop(s2);
        assert!(l.try_acquire(a).is_none(), "a clone keeps the slot");
        drop(s2b);
        assert_eq!(l.open_from(a), 1);
        assert!(l.try_acquire(a).is_some());
        drop(s1);
    }

    #[test]
    fn typing_is_coalesced_per_conversation_and_sender() {
        let g = TypingGate::new(Duration::from_secs(60));
        assert!(g.allow("c", "a"));
        assert!(!g.allow("c", "a"));
        assert!(g.allow("c", "b"));
        assert!(g.allow("d", "a"));
        let g = TypingGate::new(Duration::ZERO);
        assert!(g.allow("c", "a") && g.allow("c", "a"));
    }

    #[test]
    fn failures_are_limited_per_address() {
        let f = AuthFailures::new(0.0, 2.0);
        let ip = Some("10.0.0.1".parse().unwrap());
        assert!(f.record(ip) && f.record(ip));
        assert!(!f.record(ip));
        assert!(f.record(Some("10.0.0.2".parse().unwrap())));
    }
}
