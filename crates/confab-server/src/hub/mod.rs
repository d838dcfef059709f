//! The hub: every WebSocket connection of this node, by user, and the fan-out of events to them.
//!
//! An event is serialized once and the same bytes are queued for every recipient's connections.
//! Each connection has a bounded queue; a connection whose queue is full is closed as a slow
//! consumer (4008) instead of slowing the sender or anyone else — the client resumes from history.
//!
//! [`Hub::publish`] is the seam where a cluster bus plugs in: it is the only way events leave a
//! service, so carrying them to other nodes changes this module and no caller.

pub mod bus;
pub mod frame;
pub mod order;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use confab_proto::frames::{Event, Resync, ServerFrame, SyncPosition, close_code};
use confab_proto::{ConversationId, SessionId, UserId};
use tokio::sync::{broadcast, mpsc, watch};

pub use frame::Frame;

use crate::metrics::{BusError, Metrics};
use crate::principal::Principal;
use crate::tasks::Tasks;
use bus::{Bus, Envelope, Invalidation};
use order::{Losses, Part, Sequencer, Step};

pub struct Hub {
    connections: RwLock<HashMap<UserId, Vec<Arc<Connection>>>>,
    next_id: AtomicU64,
    /// Set once at start when the server runs as part of a cluster.
    bus: OnceLock<Bus>,
    /// In a cluster: timeline events of every node, in each conversation's version order.
    order: OnceLock<Sequencer>,
    /// Cache invalidations that arrived from other nodes, for the caches to apply.
    invalidations: broadcast::Sender<Invalidation>,
    /// This node's metrics: connections, publishes, deliveries, slow-consumer closes.
    metrics: Arc<Metrics>,
}

/// A hub with detached metrics of its own (node 0), for unit tests.
impl Default for Hub {
    fn default() -> Self {
        Hub::new(Arc::default())
    }
}

/// One live WebSocket, as the hub sees it: a queue to push frames into and a way to close it.
pub struct Connection {
    pub id: u64,
    pub principal: Principal,
    queue: mpsc::Sender<Frame>,
    /// The first close requested wins; the gateway's reader and writer both watch it.
    close_request: watch::Sender<Option<CloseRequest>>,
    metrics: Arc<Metrics>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseRequest {
    pub code: u16,
    pub reason: &'static str,
}

impl Hub {
    pub fn new(metrics: Arc<Metrics>) -> Hub {
        Hub {
            connections: RwLock::default(),
            next_id: AtomicU64::new(0),
            bus: OnceLock::new(),
            order: OnceLock::new(),
            invalidations: broadcast::channel(4096).0,
            metrics,
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Registers a new connection; the gateway drains the returned receiver into the socket.
    pub fn connect(&self, principal: Principal, queue_len: usize) -> (Arc<Connection>, mpsc::Receiver<Frame>) {
        let (queue, rx) = mpsc::channel(queue_len);
        let connection = Arc::new(Connection {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            principal,
            queue,
            close_request: watch::Sender::new(None),
            metrics: self.metrics.clone(),
        });
        self.metrics.websocket_connections_opened.inc();
        let mut map = self.connections.write().unwrap_or_else(|p| p.into_inner());
        map.entry(principal.user_id).or_default().push(connection.clone());
        (connection, rx)
    }

    pub fn disconnect(&self, connection: &Connection) {
        let mut map = self.connections.write().unwrap_or_else(|p| p.into_inner());
        if let Some(list) = map.get_mut(&connection.principal.user_id) {
            list.retain(|c| c.id != connection.id);
            if list.is_empty() {
                map.remove(&connection.principal.user_id);
            }
        }
    }

    /// Joins a cluster: from now on events also go to, and come from, the other nodes, and
    /// timeline events wait up to `gap_wait` for the versions before them (`order.rs`).
    pub fn attach_bus(self: &Arc<Self>, bus: Bus, gap_wait: std::time::Duration, tasks: &Tasks) {
        let _ = self.bus.set(bus);
        let _ = self.order.set(Sequencer::new(gap_wait));
        let hub = Arc::downgrade(self);
        let tick = (gap_wait / 4).max(std::time::Duration::from_millis(5));
        tasks.spawn_worker("bus order expiry", move |mut shutdown| async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(tick) => {}
                    () = shutdown.wait() => return,
                }
                let Some(hub) = hub.upgrade() else { return };
                let Some(order) = hub.order.get() else { return };
                let losses = order.expire(std::time::Instant::now(), |step| hub.apply(step));
                hub.count(&losses);
            }
        });
    }

    /// Sends `event` to every connection of every recipient, on this node and the others.
    pub fn publish(&self, recipients: &[UserId], event: Event) {
        self.publish_all(vec![(recipients, event)]);
    }

    /// Publishes the variants of one event (e.g. a message collapsed for those who blocked its
    /// sender, whole for the others) as one: in a cluster they keep one place in the
    /// conversation's order.
    pub fn publish_all(&self, variants: Vec<(&[UserId], Event)>) {
        let Some((_, first)) = variants.first() else { return };
        let key = order_key(first);
        let parts: Vec<Part> = variants
            .into_iter()
            .map(|(recipients, event)| {
                self.metrics.events_published.inc();
                (recipients.to_vec(), encode(&ServerFrame { id: None, event }))
            })
            .collect();
        if let Some(bus) = self.bus.get() {
            match key {
                Some((conversation, version)) => bus.send(Envelope::ordered(conversation, version, &parts)),
                None => {
                    for (recipients, frame) in &parts {
                        bus.send(Envelope::deliver(recipients, frame));
                    }
                }
            }
        }
        self.deliver_unit(key, parts);
    }

    /// Delivers what this node or another published, through the conversation's order when it
    /// is a timeline event in a cluster.
    fn deliver_unit(&self, key: Option<(ConversationId, i64)>, parts: Vec<Part>) {
        match (key, self.order.get()) {
            (Some((conversation, version)), Some(order)) => {
                let losses =
                    order.offer(conversation, version, parts, std::time::Instant::now(), |step| self.apply(step));
                self.count(&losses);
            }
            _ => {
                for (recipients, frame) in &parts {
                    self.deliver(recipients, frame);
                }
            }
        }
    }

    fn apply(&self, step: Step) {
        match step {
            Step::Deliver(parts) => {
                for (recipients, frame) in &parts {
                    self.deliver(recipients, frame);
                }
            }
            Step::Rewind { recipients, conversation, version } => {
                let resync = Resync { conversations: vec![SyncPosition { id: conversation, version }] };
                self.deliver(&recipients, &encode(&ServerFrame { id: None, event: Event::Resync(resync) }));
            }
        }
    }

    fn count(&self, losses: &Losses) {
        if losses.skipped > 0 {
            self.metrics.bus_errors_add(BusError::Gap, losses.skipped);
        }
        if losses.late > 0 {
            self.metrics.bus_errors_add(BusError::Late, losses.late);
        }
    }

    /// Tells every session of this node to `sync`: events from other nodes may have been lost.
    pub fn resync_all(&self) {
        let frame = encode(&ServerFrame { id: None, event: Event::Resync(Resync { conversations: Vec::new() }) });
        let map = self.connections.read().unwrap_or_else(|p| p.into_inner());
        for connection in map.values().flatten() {
            connection.push(frame.clone());
        }
    }

    /// Tells the other nodes to drop a cached fact (this node's caches drop it themselves).
    pub fn invalidate_elsewhere(&self, invalidation: Invalidation) {
        if let Some(bus) = self.bus.get() {
            bus.send(Envelope::Invalidate(invalidation));
        }
    }

    /// Invalidations from other nodes.
    pub fn invalidations(&self) -> broadcast::Receiver<Invalidation> {
        self.invalidations.subscribe()
    }

    /// Applies what another node sent.
    fn receive(&self, envelope: Envelope) {
        self.metrics.bus_envelopes_received.inc();
        match envelope {
            Envelope::Deliver { recipients, frame } => self.deliver(&recipients, &Frame::from(frame)),
            Envelope::Ordered { conversation, version, parts } => {
                let parts = parts.into_iter().map(|p| (p.recipients, Frame::from(p.frame))).collect();
                self.deliver_unit(Some((conversation, version)), parts);
            }
            Envelope::Resync => self.resync_all(),
            Envelope::CloseSession { session } => self.close_local_session(session),
            Envelope::Invalidate(invalidation) => {
                let _ = self.invalidations.send(invalidation);
            }
        }
    }

    fn deliver(&self, recipients: &[UserId], frame: &Frame) {
        let map = self.connections.read().unwrap_or_else(|p| p.into_inner());
        let mut queued = 0;
        for user in recipients {
            for connection in map.get(user).into_iter().flatten() {
                queued += u64::from(connection.push(frame.clone()));
            }
        }
        self.metrics.event_deliveries.add(queued);
    }

    /// Closes every connection of a signed-out or revoked session, on every node.
    pub fn close_session(&self, session: SessionId) {
        self.close_local_session(session);
        if let Some(bus) = self.bus.get() {
            bus.send(Envelope::CloseSession { session });
        }
    }

    fn close_local_session(&self, session: SessionId) {
        let map = self.connections.read().unwrap_or_else(|p| p.into_inner());
        for connection in map.values().flatten().filter(|c| c.principal.session_id == Some(session)) {
            connection.close(close_code::SESSION_REVOKED, "session revoked");
        }
    }

    /// Closes every connection, e.g. with 1001 when the node shuts down.
    pub fn close_all(&self, code: u16, reason: &'static str) {
        let map = self.connections.read().unwrap_or_else(|p| p.into_inner());
        for connection in map.values().flatten() {
            connection.close(code, reason);
        }
    }

    /// True while `user` has a WebSocket open on this node. Not "is the user online": in a
    /// cluster that is `Presence::online`.
    pub fn is_connected(&self, user: UserId) -> bool {
        self.connections.read().unwrap_or_else(|p| p.into_inner()).contains_key(&user)
    }

    pub fn connection_count(&self) -> usize {
        let map = self.connections.read().unwrap_or_else(|p| p.into_inner());
        map.values().map(Vec::len).sum()
    }
}

impl Connection {
    /// Queues a frame (true when queued); a full queue closes the connection as a slow consumer.
    pub fn push(&self, frame: Frame) -> bool {
        match self.queue.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                // Counted once per connection, and not when it was already closing for another reason.
                if self.request_close(close_code::SLOW_CONSUMER, "outbound queue overflow; resume from history") {
                    self.metrics.websocket_closed_slow_consumer.inc();
                }
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false, // the socket is already going away
        }
    }

    /// Asks the gateway to close this connection with `code`; later requests are ignored.
    pub fn close(&self, code: u16, reason: &'static str) {
        self.request_close(code, reason);
    }

    /// True when this was the first close request, the one that takes effect.
    fn request_close(&self, code: u16, reason: &'static str) -> bool {
        self.close_request.send_if_modified(|request| {
            if request.is_some() {
                return false;
            }
            *request = Some(CloseRequest { code, reason });
            true
        })
    }

    /// Completes once a close was requested, with the request.
    pub async fn close_requested(&self) -> CloseRequest {
        let mut rx = self.close_request.subscribe();
        loop {
            if let Some(request) = *rx.borrow_and_update() {
                return request;
            }
            if rx.changed().await.is_err() {
                return CloseRequest { code: 1000, reason: "" };
            }
        }
    }

    pub fn is_closing(&self) -> bool {
        self.close_request.borrow().is_some()
    }
}

/// The conversation and version of a timeline event: what orders it among the other nodes'.
fn order_key(event: &Event) -> Option<(ConversationId, i64)> {
    match event {
        Event::MessageCreated(m) | Event::MessageUpdated(m) => Some((m.conversation_id, m.version)),
        _ => None,
    }
}

/// Serializes a frame for the wire. Serializing these types cannot fail (string keys, no maps
/// with non-string keys), so a failure is a bug and is logged rather than sent.
pub fn encode(frame: &ServerFrame) -> Frame {
    match serde_json::to_string(frame) {
        Ok(text) => Frame::from(text),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialize a server frame");
            Frame::from_static(r#"{"type":"error","data":{"code":"internal","message":"internal error"}}"#)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_proto::frames::{Ack, Event};

    fn principal(user: i64) -> Principal {
        Principal { user_id: UserId(user), session_id: Some(SessionId(user * 10)), bot: false }
    }

    #[tokio::test]
    async fn every_connection_of_every_recipient_gets_the_same_bytes() {
        let hub = Hub::default();
        let (_a1, mut rx_a1) = hub.connect(principal(1), 8);
        let (_a2, mut rx_a2) = hub.connect(principal(1), 8);
        let (_b, mut rx_b) = hub.connect(principal(2), 8);
        let (_c, mut rx_c) = hub.connect(principal(3), 8);
        hub.publish(&[UserId(1), UserId(2)], Event::Ack(Ack::Empty {}));
        let a1 = rx_a1.recv().await.unwrap();
        assert_eq!(a1, rx_a2.recv().await.unwrap());
        assert_eq!(a1, rx_b.recv().await.unwrap());
        assert!(rx_c.try_recv().is_err(), "user 3 was not a recipient");
    }

    #[tokio::test]
    async fn a_full_queue_closes_only_that_connection() {
        let hub = Hub::default();
        let (slow, _rx_slow) = hub.connect(principal(1), 2);
        let (fast, mut rx_fast) = hub.connect(principal(2), 16);
        for _ in 0..3 {
            hub.publish(&[UserId(1), UserId(2)], Event::Ack(Ack::Empty {}));
        }
        assert_eq!(slow.close_requested().await.code, close_code::SLOW_CONSUMER);
        for _ in 0..3 {
            assert!(rx_fast.recv().await.is_some());
        }
        assert!(!fast.is_closing());
        hub.publish(&[UserId(1)], Event::Ack(Ack::Empty {}));
        let metrics = hub.metrics();
        assert_eq!(metrics.websocket_closed_slow_consumer.get(), 1, "one close, however many overflows");
        assert_eq!(metrics.event_deliveries.get(), 5, "2 to the slow connection, 3 to the fast one");
        assert_eq!((metrics.events_published.get(), metrics.websocket_connections_opened.get()), (4, 2));
    }

    #[tokio::test]
    async fn closing_a_session_closes_its_connections_only() {
        let hub = Hub::default();
        let (one, _r1) = hub.connect(principal(1), 2);
        let (two, _r2) = hub.connect(principal(2), 2);
        hub.close_session(SessionId(10));
        assert_eq!(one.close_requested().await.code, close_code::SESSION_REVOKED);
        assert!(!two.is_closing());
        hub.disconnect(&one);
        assert_eq!(hub.connection_count(), 1);
    }
}
