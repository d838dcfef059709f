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
//! task, which keeps their order. The connection re-subscribes by itself after Redis restarts;
//! what was lost meanwhile is recovered by clients through `sync` (they reconnect when their
//! node notices).

use std::sync::{Arc, Weak};

use axum::extract::ws::Utf8Bytes;
use confab_proto::{ConversationId, SessionId, UserId};
use redis::aio::ConnectionManagerConfig;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::Hub;
use crate::metrics::{BusError, Metrics};

const QUEUE: usize = 100_000;

/// What crosses the bus.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Envelope {
    /// A pre-serialized frame for the sessions of these users.
    Deliver { recipients: Vec<UserId>, frame: String },
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
        let config = ConnectionManagerConfig::new().set_push_sender(push_tx).set_automatic_resubscription();
        let mut subscriber = client.get_connection_manager_with_config(config).await?;
        subscriber.subscribe(&channel).await?;
        let mut publisher = client.get_connection_manager().await?;

        let (tx, mut rx) = mpsc::channel::<Envelope>(QUEUE);
        let publisher_metrics = metrics.clone();
        tokio::spawn(async move {
            while let Some(envelope) = rx.recv().await {
                let Ok(text) = serde_json::to_string(&Wire { from: node, envelope }) else { continue };
                let sent: Result<i64, _> =
                    redis::cmd("PUBLISH").arg(&channel).arg(text).query_async(&mut publisher).await;
                match sent {
                    Ok(_) => publisher_metrics.bus_envelopes_sent.inc(),
                    Err(e) => {
                        publisher_metrics.bus_error(BusError::Publish);
                        tracing::warn!(error = %e, "cannot publish to the cluster bus");
                    }
                }
            }
        });
        // The manager reconnects (and resubscribes) when a command notices the connection is
        // gone; a subscriber sends none, so a ping every second does the noticing.
        let mut pinger = subscriber.clone();
        let hub_alive = hub.clone();
        tokio::spawn(async move {
            while hub_alive.strong_count() > 0 {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                let _: Result<String, _> = redis::cmd("PING").query_async(&mut pinger).await;
            }
        });
        let listener_metrics = metrics.clone();
        tokio::spawn(async move {
            let _keep_subscribed = subscriber;
            while let Some(push) = push_rx.recv().await {
                let Some(hub) = hub.upgrade() else { return };
                if push.kind != redis::PushKind::Message {
                    continue;
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
    pub fn deliver(recipients: &[UserId], frame: &Utf8Bytes) -> Envelope {
        Envelope::Deliver { recipients: recipients.to_vec(), frame: frame.as_str().to_owned() }
    }
}
