//! Fan-out between the nodes that hold WebSockets. The store's event log is the source of
//! truth; the bus only says "user X has new events" (and carries ephemeral typing signals),
//! so a NATS implementation can replace [`LocalBus`] for several nodes without changing sockets.

use crate::cache::{Caches, Invalidation};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BusEvent {
    /// The user has new rows in the store's event log; sockets read `events_since`.
    Events { user_id: String },
    /// Ephemeral: `from` is typing in `conversation_id`; shown to `user_id`.
    Typing {
        user_id: String,
        conversation_id: String,
        from: String,
    },
    /// The user's event `seq` is a new message (`message.created`): a socket exactly one event
    /// behind sends it without reading the log; any other socket reads the log as for
    /// [`BusEvent::Events`].
    Message {
        user_id: String,
        seq: i64,
        message: Box<parley_store::Message>,
    },
    /// Ephemeral: a call frame for the user's sockets (all of them, or one session).
    Call { user_id: String, out: CallOut },
    /// Every node drops the cached entries this names (a token revoked, a plan, user,
    /// contract or membership changed).
    Invalidate { what: Invalidation },
}

impl BusEvent {
    /// The user the event is for (none for cache invalidations).
    pub fn user_id(&self) -> Option<&str> {
        match self {
            BusEvent::Events { user_id }
            | BusEvent::Typing { user_id, .. }
            | BusEvent::Message { user_id, .. }
            | BusEvent::Call { user_id, .. } => Some(user_id),
            BusEvent::Invalidate { .. } => None,
        }
    }
}

/// A call frame (`call.*`, see `domain::call_frames`) on its way to a user's sockets: to one
/// session only, to all but one, or to all. Never stored, never logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallOut {
    /// Only the socket with this session id.
    pub only: Option<String>,
    /// Every socket but this session.
    pub except: Option<String>,
    /// The frame (a JSON object; the socket adds its own `session`).
    pub frame: serde_json::Value,
}

impl CallOut {
    /// Whether the socket of `session` takes this frame.
    pub fn is_for(&self, session: &str) -> bool {
        self.only.as_deref().is_none_or(|o| o == session) && self.except.as_deref() != Some(session)
    }
}

/// Publish/subscribe of [`BusEvent`]s across the nodes of a deployment.
pub trait Bus: Send + Sync + 'static {
    fn publish(&self, event: BusEvent);
    /// Every event published from now on (a socket filters its own user's).
    fn subscribe(&self) -> broadcast::Receiver<BusEvent>;
    /// This node holds a socket of `user_id` now: receive the events other nodes publish for
    /// the user (a no-op for one process).
    fn watch(&self, _user_id: &str) {}
    /// This node holds no socket of `user_id` any more.
    fn unwatch(&self, _user_id: &str) {}
}

/// One process: a broadcast channel. A lagging socket re-reads the event log, so lost
/// notifications cost nothing but a read.
pub struct LocalBus {
    tx: broadcast::Sender<BusEvent>,
}

impl LocalBus {
    pub fn new(capacity: usize) -> LocalBus {
        LocalBus {
            tx: broadcast::channel(capacity.max(16)).0,
        }
    }
}

impl Default for LocalBus {
    fn default() -> LocalBus {
        LocalBus::new(4096)
    }
}

impl Bus for LocalBus {
    fn publish(&self, event: BusEvent) {
        // No subscribers is fine.
        let _ = self.tx.send(event);
    }
    fn subscribe(&self) -> broadcast::Receiver<BusEvent> {
        self.tx.subscribe()
    }
}

/// What a socket is told by its node's [`Hub`].
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// The user has new events in the store's log (read them from the cursor).
    Events,
    /// Ephemeral typing signal.
    Typing {
        conversation_id: String,
        from: String,
    },
    /// A call frame.
    Call(Arc<CallOut>),
    /// Event `seq` is this new message.
    Message {
        seq: i64,
        message: Arc<parley_store::Message>,
    },
    /// The user's tokens or standing may have changed (a revocation, or a node that missed bus
    /// messages): the socket checks its token and the user's suspension again, closes if
    /// either forbids it, and re-reads the event log.
    Recheck,
}

/// Capacity of one socket's signal queue. A full queue already holds a signal that makes the
/// socket read the event log, so a dropped `Events` loses nothing; a dropped typing signal is
/// ephemeral anyway.
const SOCKET_QUEUE: usize = 64;

/// One socket in the [`Hub`]: its id, its signal queue, its "check again" flag (set
/// before a [`Signal::Recheck`] is queued, so a full queue cannot lose a revocation), and its
/// position (the last event sequence number it sent; see [`Hub::positions`]).
type Entry = (u64, mpsc::Sender<Signal>, Arc<AtomicBool>, Arc<AtomicI64>);
type Sockets = HashMap<String, Vec<Entry>>;

/// This node's open sockets by user: one task reads the bus and wakes only the sockets of the
/// user an event is for (a socket per bus subscription would wake every socket for every
/// event).
#[derive(Default)]
pub struct Hub {
    next: AtomicU64,
    sockets: Mutex<Sockets>,
    /// Told when this node starts or stops holding a user's sockets (see [`Bus::watch`]).
    bus: Option<Arc<dyn Bus>>,
}

/// A socket's place in the [`Hub`]; removed when dropped.
pub struct Registration {
    hub: Arc<Hub>,
    user_id: String,
    id: u64,
    recheck: Arc<AtomicBool>,
    position: Arc<AtomicI64>,
}

impl Registration {
    /// Records the last event sequence number the socket sent (read by the position check).
    pub fn set_position(&self, seq: i64) {
        self.position.store(seq, Ordering::Release);
    }

    /// True once if the socket was asked to check its token and standing again since the
    /// last call (see [`Signal::Recheck`]).
    pub fn take_recheck(&self) -> bool {
        self.recheck.swap(false, Ordering::AcqRel)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut m = self.hub.lock();
        if let Some(v) = m.get_mut(&self.user_id) {
            v.retain(|(id, ..)| *id != self.id);
            if v.is_empty() {
                m.remove(&self.user_id);
                if let Some(bus) = &self.hub.bus {
                    bus.unwatch(&self.user_id);
                }
            }
        }
    }
}

impl Hub {
    /// A hub that tells `bus` which users it holds sockets for.
    pub fn with_bus(bus: Arc<dyn Bus>) -> Hub {
        Hub {
            bus: Some(bus),
            ..Hub::default()
        }
    }

    fn lock(&self) -> MutexGuard<'_, Sockets> {
        self.sockets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a socket of `user_id`: it receives the user's signals until the registration
    /// is dropped.
    pub fn register(self: &Arc<Self>, user_id: &str) -> (Registration, mpsc::Receiver<Signal>) {
        let (tx, rx) = mpsc::channel(SOCKET_QUEUE);
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let recheck = Arc::new(AtomicBool::new(false));
        let position = Arc::new(AtomicI64::new(i64::MAX));
        {
            let mut m = self.lock();
            let v = m.entry(user_id.to_string()).or_default();
            if v.is_empty() {
                if let Some(bus) = &self.bus {
                    bus.watch(user_id);
                }
            }
            v.push((id, tx, recheck.clone(), position.clone()));
        }
        (
            Registration {
                hub: self.clone(),
                user_id: user_id.to_string(),
                id,
                recheck,
                position,
            },
            rx,
        )
    }

    /// Open sockets on this node.
    pub fn sockets(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    /// Each user with sockets here and the lowest position among them (sockets that have not
    /// finished their first replay are left out).
    pub fn positions(&self) -> Vec<(String, i64)> {
        self.lock()
            .iter()
            .filter_map(|(user, v)| {
                let min = v.iter().map(|(.., p)| p.load(Ordering::Acquire)).min()?;
                (min != i64::MAX).then(|| (user.clone(), min))
            })
            .collect()
    }

    /// Tells the user's sockets to read their event log.
    pub fn wake(&self, user_id: &str) {
        self.send_to(user_id, Signal::Events);
    }

    fn send_to(&self, user_id: &str, signal: Signal) {
        if let Some(v) = self.lock().get(user_id) {
            for (_, tx, recheck, _) in v {
                if signal == Signal::Recheck {
                    recheck.store(true, Ordering::Release);
                }
                let _ = tx.try_send(signal.clone());
            }
        }
    }

    /// Wakes every socket (after missed bus messages: each checks its token again, as a
    /// revocation may have been missed, and re-reads its event log).
    fn wake_all(&self) {
        for v in self.lock().values() {
            for (_, tx, recheck, _) in v {
                recheck.store(true, Ordering::Release);
                let _ = tx.try_send(Signal::Recheck);
            }
        }
    }

    /// Hands one bus event to the sockets it is for, or to the caches.
    pub fn dispatch(&self, event: BusEvent, caches: &Caches) {
        match event {
            BusEvent::Events { user_id } => self.send_to(&user_id, Signal::Events),
            BusEvent::Typing {
                user_id,
                conversation_id,
                from,
            } => self.send_to(
                &user_id,
                Signal::Typing {
                    conversation_id,
                    from,
                },
            ),
            BusEvent::Message {
                user_id,
                seq,
                message,
            } => self.send_to(
                &user_id,
                Signal::Message {
                    seq,
                    message: Arc::from(message),
                },
            ),
            BusEvent::Call { user_id, out } => self.send_to(&user_id, Signal::Call(Arc::new(out))),
            BusEvent::Invalidate { what } => {
                caches.invalidate(&what);
                // A node that may have missed messages (NATS reconnected): every socket checks
                // its token and re-reads its log from its position.
                if what == Invalidation::All {
                    self.wake_all();
                }
                // A revocation closes the sockets of the revoked tokens.
                if let Invalidation::UserTokens { user_id }
                | Invalidation::TokensValidAfter { user_id, .. } = &what
                {
                    self.send_to(user_id, Signal::Recheck);
                }
            }
        }
    }

    /// Follows the bus until it closes. Missed messages (a lagging receiver) wake every socket
    /// and empty the caches: whatever was missed is then read again from the store.
    pub async fn run(self: Arc<Self>, mut rx: broadcast::Receiver<BusEvent>, caches: Arc<Caches>) {
        loop {
            match rx.recv().await {
                Ok(ev) => self.dispatch(ev, &caches),
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(
                        missed = n,
                        "bus receiver lagged; sockets re-read, caches emptied"
                    );
                    caches.invalidate(&Invalidation::All);
                    self.wake_all();
                }
                Err(RecvError::Closed) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn invalidations_round_trip_as_json() {
        for e in [
            BusEvent::Invalidate {
                what: Invalidation::UserTokens {
                    user_id: "u".into(),
                },
            },
            BusEvent::Invalidate {
                what: Invalidation::Contexts,
            },
        ] {
            let j = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<BusEvent>(&j).unwrap(), e, "{j}");
        }
    }

    #[test]
    fn hub_wakes_only_the_users_sockets_and_forgets_closed_ones() {
        let hub = Arc::new(Hub::default());
        let caches = Caches::new(Duration::from_secs(1), 10);
        let (a, mut ra) = hub.register("a");
        let (_b, mut rb) = hub.register("b");
        assert_eq!(hub.sockets(), 2);
        hub.dispatch(
            BusEvent::Events {
                user_id: "a".into(),
            },
            &caches,
        );
        assert_eq!(ra.try_recv().unwrap(), Signal::Events);
        assert!(rb.try_recv().is_err());
        drop(a);
        assert_eq!(hub.sockets(), 1);
        // A full queue does not block the dispatcher.
        for _ in 0..SOCKET_QUEUE * 2 {
            hub.dispatch(
                BusEvent::Events {
                    user_id: "b".into(),
                },
                &caches,
            );
        }
        assert_eq!(rb.try_recv().unwrap(), Signal::Events);
    }

    /// Records what the hub asks of the bus.
    #[derive(Default)]
    struct Watching(Mutex<Vec<String>>);

    impl Bus for Watching {
        fn publish(&self, _: BusEvent) {}
        fn subscribe(&self) -> broadcast::Receiver<BusEvent> {
            broadcast::channel(1).1
        }
        fn watch(&self, user_id: &str) {
            self.0.lock().unwrap().push(format!("+{user_id}"));
        }
        fn unwatch(&self, user_id: &str) {
            self.0.lock().unwrap().push(format!("-{user_id}"));
        }
    }

    #[test]
    fn the_hub_watches_users_with_sockets_and_reports_their_positions() {
        let bus = Arc::new(Watching::default());
        let hub = Arc::new(Hub::with_bus(bus.clone()));
        let caches = Caches::new(Duration::from_secs(1), 10);
        let (a1, mut r1) = hub.register("a");
        let (a2, _r2) = hub.register("a");
        assert!(hub.positions().is_empty(), "no socket has replayed yet");
        a1.set_position(7);
        a2.set_position(5);
        let (_b, _rb) = hub.register("b");
        assert_eq!(hub.positions(), vec![("a".to_string(), 5)]);
        hub.wake("a");
        assert_eq!(r1.try_recv().unwrap(), Signal::Events);
        drop(a1);
        drop(a2);
        assert_eq!(*bus.0.lock().unwrap(), vec!["+a", "+b", "-a"]);
        // A reconnection's "everything" empties the caches and re-reads every socket.
        let (reg, _rx) = hub.register("c");
        hub.dispatch(
            BusEvent::Invalidate {
                what: Invalidation::All,
            },
            &caches,
        );
        assert!(reg.take_recheck());
    }

    #[test]
    fn a_revocation_reaches_a_socket_with_a_full_queue() {
        let hub = Arc::new(Hub::default());
        let caches = Caches::new(Duration::from_secs(1), 10);
        let (reg, mut rx) = hub.register("u");
        for _ in 0..SOCKET_QUEUE {
            hub.dispatch(
                BusEvent::Events {
                    user_id: "u".into(),
                },
                &caches,
            );
        }
        assert!(!reg.take_recheck());
        hub.dispatch(
            BusEvent::Invalidate {
                what: Invalidation::UserTokens {
                    user_id: "u".into(),
                },
            },
            &caches,
        );
        let mut queued = Vec::new();
        while let Ok(s) = rx.try_recv() {
            queued.push(s);
        }
        assert!(!queued.contains(&Signal::Recheck), "the queue was full");
        assert!(reg.take_recheck(), "the flag carries it");
        assert!(!reg.take_recheck());
    }
}
