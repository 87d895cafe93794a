//! [`Bus`] over NATS core, for several nodes (`--nats URL` / `PARLEY_NATS_URL`).
//!
//! NATS only wakes nodes; the database stays the only source of truth. A publish goes to this
//! node's own sockets first (the in-process channel), then, from a separate task, to NATS:
//! user events on `parley.u.<user>` (see [`subject`]), cache invalidations on `parley.inv`. A
//! node subscribes to the subjects of the users it holds sockets for ([`Bus::watch`]) and to
//! `parley.inv`. Nothing waits for NATS: a publish that cannot be queued is dropped and counted
//! (the sockets' periodic position check against the database, see `Hub::check_positions`,
//! delivers what it announced), and while NATS is down sends still commit and answer.
//!
//! On every reconnection after a disconnection the node empties its caches (an invalidation
//! may have been missed) and every socket re-reads its event log from its position.

use crate::bus::{Bus, BusEvent};
use crate::cache::Invalidation;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

/// The subject of cache invalidations.
pub const INVALIDATIONS: &str = "parley.inv";

/// How many publishes may wait for NATS before new ones are dropped.
const OUTGOING: usize = 65_536;

/// A message over this size (original plus delivered text) travels as a bare "read your log"
/// ([`BusEvent::Events`]): NATS carries small wake-ups, the database the content.
const INLINE_MESSAGE_BYTES: usize = 16 * 1024;

/// The NATS subject of a user's events: `parley.u.<user>`, the id as it is when it is a safe
/// subject token (letters, digits, `-`, `_`), else `x` and its UTF-8 bytes in hex.
pub fn subject(user_id: &str) -> String {
    let safe = !user_id.is_empty()
        && user_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if safe && !user_id.starts_with('x') {
        format!("parley.u.{user_id}")
    } else {
        let hex: String = user_id.bytes().map(|b| format!("{b:02x}")).collect();
        format!("parley.u.x{hex}")
    }
}

/// What the subscription task is asked to do.
enum Control {
    Watch(String),
    Unwatch(String),
}

/// The NATS bus of one node.
pub struct NatsBus {
    local: broadcast::Sender<BusEvent>,
    out: mpsc::Sender<(String, Vec<u8>)>,
    control: mpsc::UnboundedSender<Control>,
    dropped: AtomicU64,
    connected: Arc<AtomicBool>,
}

impl NatsBus {
    /// Connects to `url` (comma-separated URLs for a NATS cluster). Does not wait for NATS: a
    /// node starts, accepts sends and serves its own sockets while NATS is unreachable, and
    /// connects (and reconnects) in the background.
    pub async fn connect(url: &str) -> Result<Arc<NatsBus>, String> {
        let local = broadcast::channel(4096).0;
        let connected = Arc::new(AtomicBool::new(false));
        let was_down = Arc::new(AtomicBool::new(false));
        let (tx, cb_local, cb_conn) = (local.clone(), local.clone(), connected.clone());
        let opts = async_nats::ConnectOptions::new()
            .name("parley")
            .no_echo()
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(2))
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis((attempts as u64 * 100).clamp(100, 1000))
            })
            .event_callback(move |ev| {
                let (local, conn, was_down) = (cb_local.clone(), cb_conn.clone(), was_down.clone());
                async move {
                    match ev {
                        async_nats::Event::Connected => {
                            conn.store(true, Ordering::Release);
                            tracing::info!("NATS connected");
                            if was_down.swap(false, Ordering::AcqRel) {
                                // Invalidations and wake-ups may have been missed: empty the
                                // caches, every socket re-reads from its position.
                                let _ = local.send(BusEvent::Invalidate {
                                    what: Invalidation::All,
                                });
                            }
                        }
                        async_nats::Event::Disconnected => {
                            conn.store(false, Ordering::Release);
                            was_down.store(true, Ordering::Release);
                            tracing::warn!("NATS disconnected: sends go on, delivery to other nodes waits for the position checks");
                        }
                        other => tracing::info!(event = %other, "NATS"),
                    }
                }
            });
        let urls: Vec<&str> = url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect();
        let client = opts
            .connect(urls.as_slice())
            .await
            .map_err(|e| format!("NATS {url}: {e}"))?;
        let (out, out_rx) = mpsc::channel(OUTGOING);
        let (control, control_rx) = mpsc::unbounded_channel();
        tokio::spawn(publisher(client.clone(), out_rx));
        tokio::spawn(subscriptions(client.clone(), tx.clone(), control_rx));
        tokio::spawn(follow(client, INVALIDATIONS.to_string(), tx));
        Ok(Arc::new(NatsBus {
            local,
            out,
            control,
            dropped: AtomicU64::new(0),
            connected,
        }))
    }

    /// Publishes that could not be queued for NATS since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Whether the connection to NATS is up.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }
}

/// What goes on the wire for a bus event, and on which subject (None: this node only).
fn wire(event: &BusEvent) -> Option<(String, Vec<u8>)> {
    let (subject, ev) = match event {
        BusEvent::Invalidate { .. } => (INVALIDATIONS.to_string(), None),
        BusEvent::Message {
            user_id, message, ..
        } if message.original.len() + message.delivered.as_ref().map_or(0, String::len)
            > INLINE_MESSAGE_BYTES =>
        {
            (
                subject(user_id),
                Some(BusEvent::Events {
                    user_id: user_id.clone(),
                }),
            )
        }
        other => (subject(other.user_id()?), None),
    };
    let payload = serde_json::to_vec(ev.as_ref().unwrap_or(event)).ok()?;
    Some((subject, payload))
}

impl Bus for NatsBus {
    fn publish(&self, event: BusEvent) {
        let wire = wire(&event);
        // This node's sockets first, without waiting for NATS.
        let _ = self.local.send(event);
        if let Some(w) = wire {
            if self.out.try_send(w).is_err() {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(dropped = n, "NATS publish queue full: publishes dropped (the position checks deliver them)");
                }
            }
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<BusEvent> {
        self.local.subscribe()
    }

    fn watch(&self, user_id: &str) {
        let _ = self.control.send(Control::Watch(user_id.to_string()));
    }

    fn unwatch(&self, user_id: &str) {
        let _ = self.control.send(Control::Unwatch(user_id.to_string()));
    }
}

/// Hands queued publishes to the client (which buffers while reconnecting).
async fn publisher(client: async_nats::Client, mut rx: mpsc::Receiver<(String, Vec<u8>)>) {
    while let Some((subject, payload)) = rx.recv().await {
        if let Err(e) = client.publish(subject, payload.into()).await {
            tracing::debug!(error = %e, "NATS publish failed");
        }
    }
}

/// Keeps one subscription per user with sockets on this node.
async fn subscriptions(
    client: async_nats::Client,
    local: broadcast::Sender<BusEvent>,
    mut rx: mpsc::UnboundedReceiver<Control>,
) {
    let mut subs: HashMap<String, JoinHandle<()>> = HashMap::new();
    while let Some(c) = rx.recv().await {
        match c {
            Control::Watch(user) => {
                if let Some(old) = subs.remove(&user) {
                    old.abort();
                }
                let task = tokio::spawn(follow(client.clone(), subject(&user), local.clone()));
                subs.insert(user, task);
            }
            Control::Unwatch(user) => {
                if let Some(t) = subs.remove(&user) {
                    t.abort();
                }
            }
        }
    }
}

/// Forwards the events of one subject to this node's hub until aborted (the subscription is
/// dropped, hence unsubscribed, with the task).
async fn follow(client: async_nats::Client, subject: String, local: broadcast::Sender<BusEvent>) {
    let mut sub = loop {
        match client.subscribe(subject.clone()).await {
            Ok(s) => break s,
            Err(e) => {
                tracing::warn!(error = %e, %subject, "NATS subscribe failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    while let Some(m) = sub.next().await {
        match serde_json::from_slice::<BusEvent>(&m.payload) {
            Ok(ev) => {
                let _ = local.send(ev);
            }
            Err(e) => tracing::warn!(error = %e, %subject, "unreadable bus message"),
        }
    }
}

/// Every `every`, compares each socket's position with its user's latest event in the
/// database and wakes the sockets that are behind: a publish lost on the way (NATS down, a
/// full queue, a subscription not yet active) costs at most this delay.
pub async fn check_positions(weak: std::sync::Weak<crate::Inner>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = weak.upgrade() else { return };
        let positions = inner.hub.positions();
        for chunk in positions.chunks(1000) {
            let users: Vec<String> = chunk.iter().map(|(u, _)| u.clone()).collect();
            let at: HashMap<&str, i64> = chunk.iter().map(|(u, p)| (u.as_str(), *p)).collect();
            match inner.store.event_heads(&users).await {
                Ok(heads) => {
                    for (user, head) in heads {
                        if at.get(user.as_str()).is_some_and(|p| head > *p) {
                            tracing::debug!(%user, head, "socket behind the database: woken");
                            inner.hub.wake(&user);
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "position check: could not read the heads"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_single_safe_tokens() {
        assert_eq!(subject("u_1-a"), "parley.u.u_1-a");
        assert_eq!(subject("a.b"), "parley.u.x612e62");
        assert_eq!(subject("x1"), "parley.u.x7831", "no clash with encoded ids");
        assert_eq!(subject(""), "parley.u.x");
        assert_eq!(subject("a*>"), "parley.u.x612a3e");
    }

    #[test]
    fn big_messages_travel_as_wake_ups() {
        let msg = |n: usize| BusEvent::Message {
            user_id: "u".into(),
            seq: 3,
            message: Box::new(parley_store::Message {
                id: 1,
                conversation_id: "c".into(),
                author_id: "a".into(),
                client_id: "k".into(),
                purpose: None,
                state: parley_store::MessageState::Delivered,
                original: "a".repeat(n),
                delivered: None,
                decision: serde_json::Value::Null,
                version: 1,
                created_at: 0,
                edited_at: None,
                deleted_at: None,
            }),
        };
        let (s, p) = wire(&msg(10)).unwrap();
        assert_eq!(s, "parley.u.u");
        assert_eq!(serde_json::from_slice::<BusEvent>(&p).unwrap(), msg(10));
        let (_, p) = wire(&msg(INLINE_MESSAGE_BYTES + 1)).unwrap();
        assert_eq!(
            serde_json::from_slice::<BusEvent>(&p).unwrap(),
            BusEvent::Events {
                user_id: "u".into()
            }
        );
        let (s, _) = wire(&BusEvent::Invalidate {
            what: Invalidation::Contexts,
        })
        .unwrap();
        assert_eq!(s, INVALIDATIONS);
    }
}
