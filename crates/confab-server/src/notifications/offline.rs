//! Offline delivery: notifications of users with no connected session are gathered per user for
//! `batch_window_ms` and posted to the host app in one signed request, retried with backoff.
//! The queue is bounded and fed with `try_send`: a slow or dead host app never slows the chat.
//! At shutdown the open batches are sent at once rather than dropped.

use std::collections::HashMap;
use std::time::Duration;

use confab_proto::UserId;
use confab_proto::rest::Notification;
use serde_json::json;
use tokio::sync::mpsc;

use crate::ids::IdGenerator;
use crate::shutdown::Shutdown;
use crate::tasks::Tasks;
use crate::webhooks::Webhooks;

const QUEUE: usize = 10_000;

#[derive(Clone)]
pub struct OfflineDelivery {
    tx: mpsc::Sender<(UserId, Notification)>,
}

impl OfflineDelivery {
    /// Starts the batching worker; at shutdown it sends what it holds and ends.
    pub fn start(
        webhooks: Webhooks,
        url: String,
        secret: String,
        window: Duration,
        ids: std::sync::Arc<IdGenerator>,
        tasks: &Tasks,
    ) -> OfflineDelivery {
        let (tx, rx) = mpsc::channel(QUEUE);
        let sender = BatchSender { webhooks, url, secret, ids, tasks: tasks.clone() };
        tasks.spawn_worker("offline notifications", move |shutdown| run(rx, sender, window, shutdown));
        OfflineDelivery { tx }
    }

    pub fn enqueue(&self, user: UserId, notification: Notification) {
        if self.tx.try_send((user, notification)).is_err() {
            tracing::warn!(%user, "offline notification queue full; notification not pushed");
        }
    }
}

/// Posts one user's batch, on a job of its own: retries of one user never hold up the others.
struct BatchSender {
    webhooks: Webhooks,
    url: String,
    secret: String,
    ids: std::sync::Arc<IdGenerator>,
    tasks: Tasks,
}

impl BatchSender {
    fn send(&self, user: UserId, notifications: Vec<Notification>) {
        let body = json!({"type": "notifications.offline", "user_id": user, "notifications": notifications});
        let (webhooks, url, secret, id) =
            (self.webhooks.clone(), self.url.clone(), self.secret.clone(), self.ids.next());
        self.tasks.spawn_job("offline notification batch", async move {
            if let Err(e) = webhooks.deliver(&url, &secret, "notifications.offline", id, &body).await {
                tracing::warn!(%user, error = %e, "offline notifications not delivered");
            }
        });
    }
}

type Batches = HashMap<UserId, (tokio::time::Instant, Vec<Notification>)>;

fn add(batches: &mut Batches, window: Duration, user: UserId, notification: Notification) {
    batches.entry(user).or_insert_with(|| (tokio::time::Instant::now() + window, Vec::new())).1.push(notification);
}

async fn run(
    mut rx: mpsc::Receiver<(UserId, Notification)>,
    sender: BatchSender,
    window: Duration,
    mut shutdown: Shutdown,
) {
    // Each user's batch opens with their first pending notification and is sent `window` later.
    let mut batches: Batches = HashMap::new();
    loop {
        let next_due = batches.values().map(|(due, _)| *due).min();
        let due_soon = async {
            match next_due {
                Some(due) => tokio::time::sleep_until(due).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            item = rx.recv() => match item {
                Some((user, notification)) => add(&mut batches, window, user, notification),
                None => break, // every sender is gone
            },
            () = due_soon => {
                let now = tokio::time::Instant::now();
                let due: Vec<UserId> = batches.iter().filter(|(_, (at, _))| *at <= now).map(|(u, _)| *u).collect();
                for user in due {
                    if let Some((_, notifications)) = batches.remove(&user) {
                        sender.send(user, notifications);
                    }
                }
            }
            () = shutdown.wait() => break,
        }
    }
    // Stopping: what is queued joins its batch, and every open batch goes out now.
    while let Ok((user, notification)) = rx.try_recv() {
        add(&mut batches, window, user, notification);
    }
    for (user, (_, notifications)) in batches {
        sender.send(user, notifications);
    }
}
