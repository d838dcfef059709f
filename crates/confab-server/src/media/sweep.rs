//! The media sweep: deletes uploads past their expiry that no message uses and link previews
//! past their time in the cache, then every file
//! nothing references any more (`files.refs` at 0), blobs first and the row last, so that a
//! crash in between leaves a row the next sweep finishes, never bytes without a row.

use std::sync::Arc;
use std::time::Duration;

use super::{Media, file_key, thumbnail_key};
use crate::clock::now_ms;
use crate::error::Result;
use crate::tasks::Tasks;

/// How often the sweep runs when nothing wakes it earlier.
const INTERVAL: Duration = Duration::from_secs(60);
/// Rows one pass handles of each kind; a longer backlog continues on the next pass.
const BATCH: i64 = 500;

/// Runs until shutdown; `Media::released` wakes it early.
pub fn spawn_sweeper(media: Arc<Media>, tasks: &Tasks) {
    tasks.spawn_worker("media sweep", |mut shutdown| async move {
        let mut ticker = tokio::time::interval(INTERVAL);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = media.sweep_now.notified() => {}
                () = shutdown.wait() => return,
            }
            if let Err(e) = media.sweep().await {
                tracing::warn!(error = %e, "media sweep failed");
            }
        }
    });
}

impl Media {
    /// One pass: expired uploads, then unreferenced files. Returns the files deleted.
    pub async fn sweep(&self) -> Result<usize> {
        // Link previews past their time release their images.
        self.store.expire_previews(now_ms(), BATCH).await?;
        for id in self.store.expired_uploads(now_ms(), BATCH).await? {
            if self.store.delete_upload(id).await?.is_some() {
                self.delete_parts(id).await;
            }
        }
        let doomed = self.store.files_to_delete(BATCH).await?;
        for file in &doomed {
            let deleted = async {
                self.blobs.delete(&thumbnail_key(*file)).await?;
                self.blobs.delete(&file_key(*file)).await
            };
            match deleted.await {
                Ok(()) => self.store.forget_file(*file).await?,
                Err(e) => tracing::warn!(error = %e, file = file.0, "cannot delete a file's blobs; retried next pass"),
            }
        }
        Ok(doomed.len())
    }
}
