//! Link previews (migration 0006): each message's, and the cache of what a link showed.
//!
//! A message's preview with an image and a cache entry with one each hold a reference on that
//! file (`files.refs`), taken and dropped in the transaction that adds or removes the row.

use confab_proto::{ConversationId, MessageId, UserId};

use super::column::Db;
use super::media::{
    FileId, FileRow, drop_previews, hold_again, hold_file, joined_file, joined_file_columns, release_files,
};
use super::messages::{MESSAGE_COLUMNS, next_version};
use super::users::placeholders;
use super::{MessageRow, Store, StoreError, composed};

/// One preview of a message.
#[derive(Debug, Clone)]
pub struct MessagePreviewRow {
    pub message_id: MessageId,
    /// JSON of the preview's text (`LinkPreview` without its image).
    pub preview: String,
    pub file: Option<FileRow>,
}

/// What a link showed when it was last fetched.
#[derive(Debug, Clone)]
pub struct CachedPreview {
    /// `None`: the page had nothing to show (or could not be fetched).
    pub preview: Option<String>,
    pub file: Option<FileRow>,
    pub expires_at: i64,
}

/// A preview to store with a message: its text and the file of its image.
pub struct NewPreview<'a> {
    pub preview: &'a str,
    pub file: Option<FileId>,
}

impl Store {
    /// The previews of these messages, each message's in order.
    pub async fn previews_of(&self, message_ids: &[MessageId]) -> Result<Vec<MessagePreviewRow>, StoreError> {
        if message_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT p.message_id, p.preview, {} FROM message_previews p \
             LEFT JOIN files f ON f.id = p.file_id AND f.state = 'live' \
             WHERE p.message_id IN ({}) ORDER BY p.message_id, p.position",
            joined_file_columns(),
            placeholders(1, message_ids.len())
        );
        let mut query = sqlx::query(composed(sql));
        for id in message_ids {
            query = query.bind(Db(*id));
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                use sqlx::Row;
                let Db(message_id): Db<MessageId> = row.try_get("message_id")?;
                Ok(MessagePreviewRow { message_id, preview: row.try_get("preview")?, file: joined_file(row)? })
            })
            .collect()
    }

    pub async fn cached_preview(&self, url: &str) -> Result<Option<CachedPreview>, StoreError> {
        let sql = format!(
            "SELECT p.preview, p.expires_at, {} FROM link_previews p \
             LEFT JOIN files f ON f.id = p.file_id AND f.state = 'live' WHERE p.url = $1",
            joined_file_columns()
        );
        let row = sqlx::query(composed(sql)).bind(url).fetch_optional(&self.pool).await?;
        row.map(|row| {
            use sqlx::Row;
            Ok(CachedPreview {
                preview: row.try_get("preview")?,
                expires_at: row.try_get("expires_at")?,
                file: joined_file(&row)?,
            })
        })
        .transpose()
    }

    /// Keeps what `url` showed until `expires_at`, replacing an older entry (whose file it
    /// releases). `image`, a file whose blobs are stored, is held for the entry; returns the file
    /// the entry holds (another one with the same bytes, when there was one: then `image`'s blobs
    /// are not needed).
    pub async fn cache_preview(
        &self,
        url: &str,
        preview: Option<&str>,
        image: Option<&FileRow>,
        now: i64,
        expires_at: i64,
    ) -> Result<Option<FileRow>, StoreError> {
        let mut tx = self.begin_write().await?;
        let held = match image {
            Some(image) => Some(hold_file(&mut tx, image, now).await?),
            None => None,
        };
        let old: Option<(Option<FileId>,)> =
            sqlx::query_as("DELETE FROM link_previews WHERE url = $1 RETURNING file_id")
                .bind(url)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((Some(old),)) = old {
            release_files(&mut tx, &[old]).await?;
        }
        sqlx::query("INSERT INTO link_previews (url, preview, file_id, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(url)
            .bind(preview)
            .bind(held.as_ref().map(|f| f.id))
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(held)
    }

    /// Forgets cache entries past their time (at most `limit`), releasing their files.
    pub async fn expire_previews(&self, now: i64, limit: i64) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let gone: Vec<(Option<FileId>,)> = sqlx::query_as(
            "DELETE FROM link_previews WHERE url IN \
             (SELECT url FROM link_previews WHERE expires_at < $1 ORDER BY expires_at LIMIT $2) RETURNING file_id",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let files: Vec<FileId> = gone.iter().filter_map(|(f,)| *f).collect();
        release_files(&mut tx, &files).await?;
        tx.commit().await?;
        Ok(gone.len() as u64)
    }

    /// Gives a message its previews (replacing any it had), if it is still the text they were
    /// built for: live, not edited since (`edited_at` as it was), previews not removed by its
    /// author. Bumps the version; `None` when the message moved on.
    pub async fn set_previews(
        &self,
        conversation_id: ConversationId,
        id: MessageId,
        edited_at: Option<i64>,
        previews: &[NewPreview<'_>],
    ) -> Result<Option<MessageRow>, StoreError> {
        let mut tx = self.begin_write().await?;
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND id = $2");
        let row: Option<MessageRow> =
            sqlx::query_as(composed(sql)).bind(Db(conversation_id)).bind(Db(id)).fetch_optional(&mut *tx).await?;
        let Some(row) = row else { return Ok(None) };
        if row.deleted_at.is_some() || row.previews_removed.is_some() || row.edited_at != edited_at {
            return Ok(None);
        }
        drop_previews(&mut tx, "message_id", id.0).await?;
        for (position, preview) in previews.iter().enumerate() {
            // A file the sweep already gave up is left out rather than resurrected.
            let file = match preview.file {
                Some(file) if hold_again(&mut tx, file).await? => Some(file),
                _ => None,
            };
            sqlx::query(
                "INSERT INTO message_previews (message_id, conversation_id, position, preview, file_id) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(Db(id))
            .bind(Db(conversation_id))
            .bind(position as i64)
            .bind(preview.preview)
            .bind(file)
            .execute(&mut *tx)
            .await?;
        }
        let version = next_version(&mut tx, conversation_id).await?;
        sqlx::query("UPDATE messages SET version = $2 WHERE id = $1")
            .bind(Db(id))
            .bind(version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(MessageRow { version, ..row }))
    }

    /// The author takes the previews off their message for good. `None` when it is not a live
    /// message of `author`; the row unchanged (same version) when there was nothing to remove.
    pub async fn remove_previews(
        &self,
        conversation_id: ConversationId,
        id: MessageId,
        author: UserId,
        now: i64,
    ) -> Result<Option<MessageRow>, StoreError> {
        let mut tx = self.begin_write().await?;
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND id = $2");
        let row: Option<MessageRow> =
            sqlx::query_as(composed(sql)).bind(Db(conversation_id)).bind(Db(id)).fetch_optional(&mut *tx).await?;
        let Some(row) = row.filter(|r| r.sender_id == author && r.deleted_at.is_none()) else { return Ok(None) };
        if row.previews_removed.is_some() {
            return Ok(Some(row));
        }
        drop_previews(&mut tx, "message_id", id.0).await?;
        let version = next_version(&mut tx, conversation_id).await?;
        sqlx::query("UPDATE messages SET previews_removed = $2, version = $3 WHERE id = $1")
            .bind(Db(id))
            .bind(now)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(MessageRow { previews_removed: Some(now), version, ..row }))
    }
}
