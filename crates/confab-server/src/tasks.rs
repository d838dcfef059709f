//! Background work with one lifecycle. Every task the server starts beside its requests (bus
//! listeners, presence grace timers, the invitation sweeper, webhook calls, notification
//! batches) is spawned through [`Tasks`]: workers get the [`Shutdown`] signal and return once it
//! fires, jobs run to completion, and shutdown waits for both ([`Tasks::stopped`]) instead of
//! dropping them with the runtime.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::shutdown::Shutdown;

/// The set of this node's background tasks. Cheap to clone; every clone spawns into the same set.
#[derive(Clone)]
pub struct Tasks {
    shutdown: Shutdown,
    running: Arc<Running>,
}

/// The tasks still running, by name (so that a shutdown that times out can say which), and a
/// wake-up for whoever waits for the last one to end.
#[derive(Default)]
struct Running {
    next: AtomicU64,
    names: Mutex<HashMap<u64, &'static str>>,
    none_left: Notify,
}

impl Running {
    fn names(&self) -> std::sync::MutexGuard<'_, HashMap<u64, &'static str>> {
        self.names.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Removes its task's name when the task ends, however it ends (return, panic, abort).
struct NameGuard {
    running: Arc<Running>,
    key: u64,
}

impl Drop for NameGuard {
    fn drop(&mut self) {
        let mut names = self.running.names();
        names.remove(&self.key);
        if names.is_empty() {
            self.running.none_left.notify_waiters();
        }
    }
}

impl Tasks {
    pub fn new(shutdown: Shutdown) -> Tasks {
        Tasks { shutdown, running: Arc::default() }
    }

    /// The signal workers watch.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// A long-lived task (a listener, a sweeper): it is handed the shutdown signal and must
    /// return soon after it fires.
    pub fn spawn_worker<F, Fut>(&self, name: &'static str, worker: F)
    where
        F: FnOnce(Shutdown) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let work = worker(self.shutdown.clone());
        self.spawn_job(name, work);
    }

    /// A finite piece of work (one webhook call, a grace timer, a batch to flush): it runs to
    /// its end, and shutdown waits for it.
    pub fn spawn_job<Fut>(&self, name: &'static str, job: Fut)
    where
        Fut: Future<Output = ()> + Send + 'static,
    {
        let key = self.running.next.fetch_add(1, Ordering::Relaxed);
        self.running.names().insert(key, name);
        let guard = NameGuard { running: self.running.clone(), key };
        tokio::spawn(async move {
            let _guard = guard;
            job.await;
        });
    }

    /// How many tasks are running now.
    pub fn len(&self) -> usize {
        self.running.names().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits, at most `grace`, until every task has ended; call it after shutdown has fired.
    /// Returns false (and logs the names of those still running) if some did not end in time.
    pub async fn stopped(&self, grace: Duration) -> bool {
        let none_left = async {
            loop {
                // Registered before the check, so that the last task's wake-up cannot slip between.
                let notified = self.running.none_left.notified();
                let mut notified = std::pin::pin!(notified);
                notified.as_mut().enable();
                if self.is_empty() {
                    return;
                }
                notified.await;
            }
        };
        let ended = tokio::time::timeout(grace, none_left).await.is_ok();
        if !ended {
            let mut names: Vec<&str> = self.running.names().values().copied().collect();
            names.sort_unstable();
            tracing::warn!(?names, "background tasks still running after the shutdown grace");
        }
        ended
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;
    use crate::shutdown;

    #[tokio::test]
    async fn stopped_waits_for_workers_to_see_shutdown_and_for_jobs_to_finish() {
        let (trigger, signal) = shutdown::channel();
        let tasks = Tasks::new(signal);
        let worker_done = Arc::new(AtomicBool::new(false));
        let job_done = Arc::new(AtomicBool::new(false));
        let flag = worker_done.clone();
        tasks.spawn_worker("worker", move |mut shutdown| async move {
            shutdown.wait().await;
            tokio::time::sleep(Duration::from_millis(20)).await; // a last flush
            flag.store(true, Ordering::SeqCst);
        });
        let flag = job_done.clone();
        tasks.spawn_job("job", async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            flag.store(true, Ordering::SeqCst);
        });
        assert_eq!(tasks.len(), 2);
        trigger.trigger();
        assert!(tasks.stopped(Duration::from_secs(5)).await);
        assert!(worker_done.load(Ordering::SeqCst), "the worker finished its last flush");
        assert!(job_done.load(Ordering::SeqCst), "the job ran to its end");
        assert!(tasks.is_empty());
    }

    #[tokio::test]
    async fn stopped_gives_up_after_the_grace_on_a_task_that_ignores_shutdown() {
        let (trigger, signal) = shutdown::channel();
        let tasks = Tasks::new(signal);
        tasks.spawn_worker("stubborn", |_shutdown| async move {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        });
        trigger.trigger();
        assert!(!tasks.stopped(Duration::from_millis(50)).await);
        assert_eq!(tasks.running.names.lock().unwrap().values().copied().collect::<Vec<_>>(), vec!["stubborn"]);
    }

    #[tokio::test]
    async fn a_panicking_task_leaves_the_set() {
        let (_trigger, signal) = shutdown::channel();
        let tasks = Tasks::new(signal);
        tasks.spawn_job("panics", async { panic!("boom") });
        assert!(tasks.stopped(Duration::from_secs(5)).await);
        assert!(tasks.running.names.lock().unwrap().is_empty());
    }
}
