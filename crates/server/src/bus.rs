//! Fan-out between the nodes that hold WebSockets. The store's event log is the source of
//! truth; the bus only says "user X has new events" (and carries ephemeral typing signals),
//! so a NATS implementation can replace [`LocalBus`] for several nodes without changing sockets.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

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
}

impl BusEvent {
    pub fn user_id(&self) -> &str {
        match self {
            BusEvent::Events { user_id } | BusEvent::Typing { user_id, .. } => user_id,
        }
    }
}

/// Publish/subscribe of [`BusEvent`]s across the nodes of a deployment.
pub trait Bus: Send + Sync + 'static {
    fn publish(&self, event: BusEvent);
    /// Every event published from now on (a socket filters its own user's).
    fn subscribe(&self) -> broadcast::Receiver<BusEvent>;
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
