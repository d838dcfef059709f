//! Offline delivery: notifications of users with no connected session are gathered per user for
//! `batch_window_ms` and posted to the host app in one signed request, retried with backoff.
//! The queue is bounded and fed with `try_send`: a slow or dead host app never slows the chat.

use std::collections::HashMap;
use std::time::Duration;

use confab_proto::UserId;
use confab_proto::rest::Notification;
use serde_json::json;
use tokio::sync::mpsc;

use crate::ids::IdGenerator;
use crate::webhooks::Webhooks;

const QUEUE: usize = 10_000;

#[derive(Clone)]
pub struct OfflineDelivery {
    tx: mpsc::Sender<(UserId, Notification)>,
}

impl OfflineDelivery {
    /// Starts the batching worker; it ends when every `OfflineDelivery` handle is dropped.
    pub fn start(
        webhooks: Webhooks,
        url: String,
        secret: String,
        window: Duration,
        ids: std::sync::Arc<IdGenerator>,
    ) -> OfflineDelivery {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(rx, webhooks, url, secret, window, ids));
        OfflineDelivery { tx }
    }

    pub fn enqueue(&self, user: UserId, notification: Notification) {
        if self.tx.try_send((user, notification)).is_err() {
            tracing::warn!(%user, "offline notification queue full; notification not pushed");
        }
    }
}

async fn run(
    mut rx: mpsc::Receiver<(UserId, Notification)>,
    webhooks: Webhooks,
    url: String,
    secret: String,
    window: Duration,
    ids: std::sync::Arc<IdGenerator>,
) {
    // Each user's batch opens with their first pending notification and is sent `window` later.
    let mut batches: HashMap<UserId, (tokio::time::Instant, Vec<Notification>)> = HashMap::new();
    loop {
        let next_due = batches.values().map(|(due, _)| *due).min();
        let received = match next_due {
            Some(due) => tokio::select! {
                item = rx.recv() => Some(item),
                _ = tokio::time::sleep_until(due) => None,
            },
            None => Some(rx.recv().await),
        };
        match received {
            Some(Some((user, notification))) => {
                batches
                    .entry(user)
                    .or_insert_with(|| (tokio::time::Instant::now() + window, Vec::new()))
                    .1
                    .push(notification);
            }
            Some(None) => return, // every sender is gone: the server stopped
            None => {
                let now = tokio::time::Instant::now();
                let due: Vec<UserId> = batches.iter().filter(|(_, (at, _))| *at <= now).map(|(u, _)| *u).collect();
                for user in due {
                    if let Some((_, notifications)) = batches.remove(&user) {
                        let body =
                            json!({"type": "notifications.offline", "user_id": user, "notifications": notifications});
                        let (webhooks, url, secret, id) = (webhooks.clone(), url.clone(), secret.clone(), ids.next());
                        // Sent on its own task: retries of one user never hold up the others.
                        tokio::spawn(async move {
                            if let Err(e) = webhooks.deliver(&url, &secret, "notifications.offline", id, &body).await {
                                tracing::warn!(%user, error = %e, "offline notifications not delivered");
                            }
                        });
                    }
                }
            }
        }
    }
}
