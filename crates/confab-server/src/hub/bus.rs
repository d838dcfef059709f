//! The cluster bus: carries events between nodes through Redis, so that a session on any node
//! receives what is published on any other.
//!
//! Routing: one channel (`redis_channel`, default `confab:events`) that every node subscribes to. A node publishes each
//! event once (with its recipients) and every other node delivers it to the recipients it holds.
//! Cost: one Redis PUBLISH per event and one read per node — no per-connect work and no
//! subscription churn, which suits clusters of a few nodes; per-user channels would cut the
//! reads when nodes are many, at the price of a SUBSCRIBE on every connect.
//!
//! Publishing is off the caller's path: envelopes go through a bounded queue to one publisher
//! task, which keeps their order. Timeline events carry their conversation and version, so that
//! each receiving node delivers them in order (`order.rs`).
//!
//! Losses are told, never silent. Redis calls are bounded (`REDIS_TIMEOUT`); a PUBLISH that
//! fails drops the envelopes queued behind it (they would arrive too late to be delivered in
//! order), counts them, and once publishing works again a `Resync` envelope tells the other
//! nodes to have their sessions sync. A subscription that drops (Redis restarted) is counted,
//! and when it is back this node's sessions are told to sync. The connection re-subscribes by
//! itself.

use std::sync::{Arc, Weak};

use confab_proto::{ConversationId, SessionId, UserId};
use redis::aio::ConnectionManagerConfig;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{Frame, Hub};
use crate::metrics::{BusError, Metrics};
use crate::tasks::Tasks;

const QUEUE: usize = 100_000;
/// How long one Redis call (or connection attempt) may take before it counts as failed.
pub const REDIS_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// Bounded calls and one retry: a Redis outage shows as quick errors, not as callers waiting
/// through the manager's reconnection backoff.
pub fn bounded_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_response_timeout(Some(REDIS_TIMEOUT))
        .set_connection_timeout(Some(REDIS_TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(REDIS_TIMEOUT)
}

/// What crosses the bus.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Envelope {
    /// A pre-serialized frame for the sessions of these users.
    Deliver { recipients: Vec<UserId>, frame: String },
    /// A timeline event (version `version` of `conversation`), in one or more variants.
    Ordered { conversation: ConversationId, version: i64, parts: Vec<Part> },
    /// The sender lost envelopes: every node's sessions should sync.
    Resync,
    /// Close the sockets of a revoked session.
    CloseSession { session: SessionId },
    /// A cached fact changed; drop it.
    Invalidate(Invalidation),
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Invalidation {
    Membership { conversation: ConversationId },
    Blocks { user: UserId },
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Part {
    pub recipients: Vec<UserId>,
    pub frame: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    from: u16,
    #[serde(flatten)]
    envelope: Envelope,
}

/// The sending half, held by the hub.
pub struct Bus {
    node: u16,
    tx: mpsc::Sender<Envelope>,
    metrics: Arc<Metrics>,
}

impl Bus {
    /// Connects to Redis (RESP3, for pushed messages), subscribes, and starts the publisher
    /// and the listener. `hub` receives what other nodes publish (and counts it); envelopes sent
    /// and errors are counted in `metrics`.
    pub async fn connect(
        url: &str,
        channel: &str,
        node: u16,
        hub: Weak<Hub>,
        metrics: Arc<Metrics>,
        tasks: &Tasks,
    ) -> Result<Bus, redis::RedisError> {
        let channel = channel.to_owned();
        let url = if url.contains("protocol=") {
            url.to_owned()
        } else if url.contains('?') {
            format!("{url}&protocol=resp3")
        } else {
            format!("{url}?protocol=resp3")
        };
        let client = redis::Client::open(url)?;
        let (push_tx, mut push_rx) = mpsc::unbounded_channel();
        let config = bounded_config().set_push_sender(push_tx).set_automatic_resubscription();
        let mut subscriber = client.get_connection_manager_with_config(config).await?;
        subscriber.subscribe(&channel).await?;
        let mut publisher = client.get_connection_manager_with_config(bounded_config()).await?;

        let (tx, mut rx) = mpsc::channel::<Envelope>(QUEUE);
        let publisher_metrics = metrics.clone();
        let publish_channel = channel.clone();
        tasks.spawn_worker("bus publisher", |mut shutdown| async move {
            let mut lost = false;
            loop {
                // At shutdown, what is already queued still goes out.
                let envelope = tokio::select! {
                    biased;
                    envelope = rx.recv() => match envelope {
                        Some(envelope) => envelope,
                        None => return,
                    },
                    () = shutdown.wait() => match rx.try_recv() {
                        Ok(envelope) => envelope,
                        Err(_) => return,
                    },
                };
                if lost {
                    // Before anything else goes out: the others must sync what they missed.
                    let text = serde_json::to_string(&Wire { from: node, envelope: Envelope::Resync });
                    let told: Result<i64, _> = match text {
                        Ok(text) => {
                            redis::cmd("PUBLISH").arg(&publish_channel).arg(text).query_async(&mut publisher).await
                        }
                        Err(_) => Ok(0),
                    };
                    lost = told.is_err();
                }
                let Ok(text) = serde_json::to_string(&Wire { from: node, envelope }) else { continue };
                let sent: Result<i64, _> = if lost {
                    Err(redis::RedisError::from((redis::ErrorKind::Io, "the bus is unreachable")))
                } else {
                    redis::cmd("PUBLISH").arg(&publish_channel).arg(text).query_async(&mut publisher).await
                };
                match sent {
                    Ok(_) => publisher_metrics.bus_envelopes_sent.inc(),
                    Err(e) => {
                        // What queued behind a failure would reach the others too late to keep
                        // its place: drop it, count it, and tell them to sync.
                        let mut dropped = 1;
                        while rx.try_recv().is_ok() {
                            dropped += 1;
                        }
                        publisher_metrics.bus_errors_add(BusError::Publish, dropped);
                        if !lost {
                            tracing::warn!(error = %e, dropped, "cannot publish to the cluster bus");
                        }
                        lost = true;
                    }
                }
            }
        });
        // The manager reconnects (and resubscribes) when a command notices the connection is
        // gone; a subscriber sends none, so a ping every second does the noticing.
        let mut pinger = subscriber.clone();
        let hub_alive = hub.clone();
        tasks.spawn_worker("bus pinger", |mut shutdown| async move {
            while hub_alive.strong_count() > 0 {
                tokio::select! {
                    () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                    () = shutdown.wait() => return,
                }
                let _: Result<String, _> = redis::cmd("PING").query_async(&mut pinger).await;
            }
        });
        let listener_metrics = metrics.clone();
        tasks.spawn_worker("bus listener", |mut shutdown| async move {
            let _keep_subscribed = subscriber;
            let mut interrupted = false;
            loop {
                let push = tokio::select! {
                    push = push_rx.recv() => match push {
                        Some(push) => push,
                        None => return,
                    },
                    () = shutdown.wait() => return,
                };
                let Some(hub) = hub.upgrade() else { return };
                match push.kind {
                    redis::PushKind::Message => {}
                    redis::PushKind::Disconnection => {
                        if !interrupted {
                            listener_metrics.bus_error(BusError::Interrupted);
                            tracing::warn!("the cluster bus subscription was interrupted");
                        }
                        interrupted = true;
                        continue;
                    }
                    redis::PushKind::Subscribe if interrupted => {
                        // Resubscribed: whatever was published meanwhile never reached us.
                        interrupted = false;
                        tracing::info!("the cluster bus subscription is back; sessions resync");
                        hub.resync_all();
                        continue;
                    }
                    _ => continue,
                }
                let Some(redis::Value::BulkString(payload)) = push.data.get(1) else { continue };
                match serde_json::from_slice::<Wire>(payload) {
                    Ok(wire) if wire.from != node => hub.receive(wire.envelope),
                    Ok(_) => {} // our own, already delivered locally
                    Err(e) => {
                        listener_metrics.bus_error(BusError::Unreadable);
                        tracing::warn!(error = %e, "unreadable envelope on the cluster bus");
                    }
                }
            }
        });
        Ok(Bus { node, tx, metrics })
    }

    pub fn node(&self) -> u16 {
        self.node
    }

    pub fn send(&self, envelope: Envelope) {
        if self.tx.try_send(envelope).is_err() {
            self.metrics.bus_error(BusError::QueueFull);
            tracing::warn!("cluster bus queue full; an event was not sent to other nodes");
        }
    }
}

impl Envelope {
    pub fn deliver(recipients: &[UserId], frame: &Frame) -> Envelope {
        Envelope::Deliver { recipients: recipients.to_vec(), frame: frame.as_str().to_owned() }
    }

    pub fn ordered(conversation: ConversationId, version: i64, parts: &[super::order::Part]) -> Envelope {
        let parts = parts
            .iter()
            .map(|(recipients, frame)| Part { recipients: recipients.clone(), frame: frame.as_str().to_owned() })
            .collect();
        Envelope::Ordered { conversation, version, parts }
    }
}
