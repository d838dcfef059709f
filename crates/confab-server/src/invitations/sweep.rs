//! The background sweep that expires pending invitations past their time, so that expiry shows
//! live even when nobody touches the invitation.

use std::sync::Arc;

use super::Invitations;
use crate::clock::now_ms;
use crate::tasks::Tasks;

/// Runs until shutdown.
pub fn spawn_sweeper(invitations: Arc<Invitations>, tasks: &Tasks) {
    tasks.spawn_worker("invitation sweep", |mut shutdown| async move {
        let mut ticker = tokio::time::interval(invitations.sweep_interval());
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = shutdown.wait() => return,
            }
            let due = match invitations.deps.store.due_invitations(now_ms(), 500).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "invitation sweep failed");
                    continue;
                }
            };
            for id in due {
                if let Err(e) = invitations.expire(id).await {
                    tracing::warn!(error = %e, invitation = %id, "cannot expire invitation");
                }
            }
        }
    });
}
