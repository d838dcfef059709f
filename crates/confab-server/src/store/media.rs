//! Files, uploads and their parts (migration 0005). The bytes live in blob storage
//! (`media::storage`); these rows say which blobs exist, who may use them, and how many things
//! hold each file (`files.refs`).
//!
//! Reference counting: a complete or used upload holds one reference on its file, a user's or a
//! group's avatar one more. Every statement that drops a holder decrements in the same
//! transaction ([`release_files`]); the media sweep deletes files at zero (`files_to_delete`).
//! A file marked `deleting` is never referenced again: a new upload of the same bytes makes a
//! new row, so the sweep cannot delete bytes someone just started to use.

use confab_proto::media::{UploadPurpose, UploadState};
use confab_proto::{ConversationId, MessageId, UploadId, UserId};
use sqlx::any::{Any, AnyTypeInfo};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Transaction, Type};

use super::column::Db;
use super::users::placeholders;
use super::{Store, StoreError, composed};

/// A stored file: the blobs `files/<id>` and (for large images) `thumbs/<id>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub i64);

impl Type<Any> for FileId {
    fn type_info() -> AnyTypeInfo {
        <i64 as Type<Any>>::type_info()
    }
    fn compatible(ty: &AnyTypeInfo) -> bool {
        <i64 as Type<Any>>::compatible(ty)
    }
}

impl Encode<'_, Any> for FileId {
    fn encode_by_ref(&self, buf: &mut <Any as Database>::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<'_, Any>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Any> for FileId {
    fn decode(value: <Any as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        <i64 as Decode<'r, Any>>::decode(value).map(FileId)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UploadRow {
    #[sqlx(try_from = "Db<UploadId>")]
    pub id: UploadId,
    #[sqlx(try_from = "Db<UserId>")]
    pub owner_id: UserId,
    #[sqlx(try_from = "Db<UploadPurpose>")]
    pub purpose: UploadPurpose,
    #[sqlx(try_from = "Db<UploadState>")]
    pub state: UploadState,
    pub length: i64,
    pub received: i64,
    pub name: String,
    pub sha256: Option<String>,
    pub file_id: Option<FileId>,
    #[sqlx(try_from = "Db<Option<ConversationId>>")]
    pub conversation_id: Option<ConversationId>,
    #[sqlx(try_from = "Db<Option<MessageId>>")]
    pub message_id: Option<MessageId>,
    pub position: Option<i64>,
    pub access_key: String,
    pub created_at: i64,
    pub expires_at: i64,
}

const UPLOAD_COLUMNS: &str = "id, owner_id, purpose, state, length, received, name, sha256, file_id, conversation_id, \
     message_id, position, access_key, created_at, expires_at";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FileRow {
    pub id: FileId,
    pub sha256: String,
    pub size: i64,
    pub mime: String,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub frames: Option<i64>,
    pub blurhash: Option<String>,
    /// The mime type of the thumbnail blob, when there is one.
    pub thumbnail: Option<String>,
    pub access_key: String,
}

const FILE_COLUMNS: &str = "id, sha256, size, mime, width, height, frames, blurhash, thumbnail, access_key";

/// A message's attachment: the used upload and its file.
#[derive(Debug, Clone)]
pub struct AttachmentRow {
    pub upload: UploadRow,
    pub file: FileRow,
}

pub struct NewUpload<'a> {
    pub id: UploadId,
    pub owner_id: UserId,
    pub purpose: UploadPurpose,
    pub length: i64,
    pub name: &'a str,
    pub sha256: Option<&'a str>,
    pub access_key: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What a user may still store: checked in the statement that creates the upload.
pub struct UploadQuota {
    /// Bytes of all the user's uploads (open, complete and used), the new one included.
    pub max_bytes: i64,
    /// Open uploads at once, the new one included.
    pub max_open: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PartRow {
    pub start: i64,
    pub size: i64,
    pub blob: String,
}

/// Why an upload could not be created.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Bytes,
    OpenUploads,
}

impl Store {
    /// Creates an upload unless it takes its owner past `quota`.
    pub async fn create_upload(
        &self,
        u: &NewUpload<'_>,
        quota: &UploadQuota,
    ) -> Result<Result<(), Refusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        let (bytes, open): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(length), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN state = 'open' THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM uploads WHERE owner_id = $1",
        )
        .bind(Db(u.owner_id))
        .fetch_one(&mut *tx)
        .await?;
        if bytes.saturating_add(u.length) > quota.max_bytes {
            return Ok(Err(Refusal::Bytes));
        }
        if open + 1 > quota.max_open {
            return Ok(Err(Refusal::OpenUploads));
        }
        sqlx::query(
            "INSERT INTO uploads (id, owner_id, purpose, state, length, received, name, sha256, access_key, \
             created_at, expires_at) VALUES ($1, $2, $3, 'open', $4, 0, $5, $6, $7, $8, $9)",
        )
        .bind(Db(u.id))
        .bind(Db(u.owner_id))
        .bind(Db(u.purpose))
        .bind(u.length)
        .bind(u.name)
        .bind(u.sha256)
        .bind(u.access_key)
        .bind(u.created_at)
        .bind(u.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    pub async fn upload(&self, id: UploadId) -> Result<Option<UploadRow>, StoreError> {
        let sql = format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1");
        Ok(sqlx::query_as(composed(sql)).bind(Db(id)).fetch_optional(&self.pool).await?)
    }

    /// The stored parts of an upload, in order.
    pub async fn upload_parts(&self, id: UploadId) -> Result<Vec<PartRow>, StoreError> {
        Ok(sqlx::query_as("SELECT start, size, blob FROM upload_parts WHERE upload_id = $1 ORDER BY start")
            .bind(Db(id))
            .fetch_all(&self.pool)
            .await?)
    }

    /// Records a part that starts at `start`, if the upload is still open and still stands at
    /// `start` (a concurrent `PATCH` that got there first wins; this one's blob is then unused).
    /// Returns the new offset.
    pub async fn add_part(
        &self,
        id: UploadId,
        start: i64,
        size: i64,
        blob: &str,
        expires_at: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let moved: Option<(i64,)> = sqlx::query_as(
            "UPDATE uploads SET received = received + $3, expires_at = $4 \
             WHERE id = $1 AND received = $2 AND state = 'open' AND received + $3 <= length RETURNING received",
        )
        .bind(Db(id))
        .bind(start)
        .bind(size)
        .bind(expires_at)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((offset,)) = moved else { return Ok(None) };
        sqlx::query("INSERT INTO upload_parts (upload_id, start, size, blob) VALUES ($1, $2, $3, $4)")
            .bind(Db(id))
            .bind(start)
            .bind(size)
            .bind(blob)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(offset))
    }

    /// Completes an open upload with the file its bytes became. When a live file with the same
    /// SHA-256 exists, the upload takes a reference to it instead and `file` is not stored
    /// (its blobs are the caller's to delete). Returns the file the upload now holds, or `None`
    /// when the upload is no longer open (another request completed or deleted it).
    pub async fn complete_upload(
        &self,
        id: UploadId,
        file: &FileRow,
        now: i64,
        expires_at: i64,
    ) -> Result<Option<FileRow>, StoreError> {
        let mut tx = self.begin_write().await?;
        let held = hold_file(&mut tx, file, now).await?;
        let done = sqlx::query(
            "UPDATE uploads SET state = 'complete', file_id = $2, expires_at = $3 WHERE id = $1 AND state = 'open'",
        )
        .bind(Db(id))
        .bind(held.id)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None); // rolled back: the reference taken above goes with it
        }
        sqlx::query("DELETE FROM upload_parts WHERE upload_id = $1").bind(Db(id)).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(held))
    }

    /// Deletes an upload that no message uses (termination, expiry, a refused file) and its part
    /// rows; the caller deletes the part blobs (`uploads/<id>/…`).
    pub async fn delete_upload(&self, id: UploadId) -> Result<Option<UploadRow>, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM upload_parts WHERE upload_id = $1").bind(Db(id)).execute(&mut *tx).await?;
        let sql = format!("DELETE FROM uploads WHERE id = $1 AND state <> 'used' RETURNING {UPLOAD_COLUMNS}");
        let Some(upload): Option<UploadRow> =
            sqlx::query_as(composed(sql)).bind(Db(id)).fetch_optional(&mut *tx).await?
        else {
            return Ok(None);
        };
        if let Some(file) = upload.file_id {
            release_files(&mut tx, &[file]).await?;
        }
        tx.commit().await?;
        Ok(Some(upload))
    }

    /// Uploads past their expiry that no message uses, oldest first.
    pub async fn expired_uploads(&self, now: i64, limit: i64) -> Result<Vec<UploadId>, StoreError> {
        let rows: Vec<(Db<UploadId>,)> = sqlx::query_as(
            "SELECT id FROM uploads WHERE expires_at < $1 AND state <> 'used' ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(Db(id),)| id).collect())
    }

    /// Bytes held by the user's uploads (open, complete and used).
    pub async fn storage_used(&self, owner: UserId) -> Result<i64, StoreError> {
        let (bytes,): (i64,) =
            sqlx::query_as("SELECT CAST(COALESCE(SUM(length), 0) AS BIGINT) FROM uploads WHERE owner_id = $1")
                .bind(Db(owner))
                .fetch_one(&self.pool)
                .await?;
        Ok(bytes)
    }

    pub async fn file(&self, id: FileId) -> Result<Option<FileRow>, StoreError> {
        let sql = format!("SELECT {FILE_COLUMNS} FROM files WHERE id = $1 AND state = 'live'");
        Ok(sqlx::query_as(composed(sql)).bind(id).fetch_optional(&self.pool).await?)
    }

    /// Complete uploads with their files, in the order of `ids` (missing ones left out).
    pub async fn uploads_with_files(&self, ids: &[UploadId]) -> Result<Vec<AttachmentRow>, StoreError> {
        self.attachments_where("u.id", ids.iter().map(|id| id.0).collect()).await.map(|mut rows| {
            rows.sort_by_key(|r| ids.iter().position(|id| *id == r.upload.id));
            rows
        })
    }

    /// The attachments of these messages, each message's in order.
    pub async fn attachments_of(&self, message_ids: &[MessageId]) -> Result<Vec<AttachmentRow>, StoreError> {
        let mut rows = self.attachments_where("u.message_id", message_ids.iter().map(|id| id.0).collect()).await?;
        rows.sort_by_key(|r| (r.upload.message_id, r.upload.position));
        Ok(rows)
    }

    async fn attachments_where(
        &self,
        column: &'static str,
        values: Vec<i64>,
    ) -> Result<Vec<AttachmentRow>, StoreError> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let upload_columns: Vec<String> = UPLOAD_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect();
        let sql = format!(
            "SELECT {}, {} FROM uploads u JOIN files f ON f.id = u.file_id WHERE {column} IN ({})",
            upload_columns.join(", "),
            joined_file_columns(),
            placeholders(1, values.len())
        );
        let mut query = sqlx::query(composed(sql));
        for value in values {
            query = query.bind(value);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(attachment_row).collect()
    }

    /// Marks files no longer referenced as `deleting` (at most `limit`), and returns every file
    /// in that state: the sweep deletes their blobs, then [`Store::forget_file`] the row.
    pub async fn files_to_delete(&self, limit: i64) -> Result<Vec<FileId>, StoreError> {
        sqlx::query(
            "UPDATE files SET state = 'deleting' WHERE id IN \
             (SELECT id FROM files WHERE refs <= 0 AND state = 'live' ORDER BY id LIMIT $1)",
        )
        .bind(limit)
        .execute(&self.writes)
        .await?;
        let rows: Vec<(FileId,)> = sqlx::query_as("SELECT id FROM files WHERE state = 'deleting' ORDER BY id LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    pub async fn forget_file(&self, id: FileId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM files WHERE id = $1 AND state = 'deleting'").bind(id).execute(&self.writes).await?;
        Ok(())
    }
}

fn attachment_row(row: &sqlx::any::AnyRow) -> Result<AttachmentRow, StoreError> {
    use sqlx::FromRow;
    let upload = UploadRow::from_row(row)?;
    let file = joined_file(row)?.ok_or(sqlx::Error::RowNotFound)?; // an inner join: always there
    Ok(AttachmentRow { upload, file })
}

/// The columns of `files f` as `f_<column>`, for a join that [`joined_file`] reads back.
pub(super) fn joined_file_columns() -> String {
    FILE_COLUMNS.split(", ").map(|c| format!("f.{c} AS f_{c}")).collect::<Vec<_>>().join(", ")
}

/// The file of a row that joined `files f` with [`joined_file_columns`]; `None` when the join
/// found none (a `LEFT JOIN`).
pub(super) fn joined_file(row: &sqlx::any::AnyRow) -> Result<Option<FileRow>, StoreError> {
    use sqlx::Row;
    let Some(id) = row.try_get::<Option<FileId>, _>("f_id")? else { return Ok(None) };
    Ok(Some(FileRow {
        id,
        sha256: row.try_get("f_sha256")?,
        size: row.try_get("f_size")?,
        mime: row.try_get("f_mime")?,
        width: row.try_get("f_width")?,
        height: row.try_get("f_height")?,
        frames: row.try_get("f_frames")?,
        blurhash: row.try_get("f_blurhash")?,
        thumbnail: row.try_get("f_thumbnail")?,
        access_key: row.try_get("f_access_key")?,
    }))
}

/// Takes a reference on the live file with `file`'s SHA-256, or stores `file` (with one
/// reference) when there is none. Returns the file now held: `file`'s blobs are not needed when
/// it is another one.
pub(super) async fn hold_file(
    tx: &mut Transaction<'static, Any>,
    file: &FileRow,
    now: i64,
) -> Result<FileRow, StoreError> {
    let sql = format!("UPDATE files SET refs = refs + 1 WHERE sha256 = $1 AND state = 'live' RETURNING {FILE_COLUMNS}");
    let existing: Option<FileRow> = sqlx::query_as(composed(sql)).bind(&file.sha256).fetch_optional(&mut **tx).await?;
    if let Some(existing) = existing {
        return Ok(existing);
    }
    sqlx::query(
        "INSERT INTO files (id, sha256, size, mime, width, height, frames, blurhash, thumbnail, \
         access_key, refs, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, 'live', $11)",
    )
    .bind(file.id)
    .bind(&file.sha256)
    .bind(file.size)
    .bind(&file.mime)
    .bind(file.width)
    .bind(file.height)
    .bind(file.frames)
    .bind(&file.blurhash)
    .bind(&file.thumbnail)
    .bind(&file.access_key)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(file.clone())
}

/// Takes one more reference on a live file; false when it is no longer live.
pub(super) async fn hold_again(tx: &mut Transaction<'static, Any>, file: FileId) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE files SET refs = refs + 1 WHERE id = $1 AND state = 'live'")
        .bind(file)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Drops one reference on each of `files` (a file listed twice loses two).
pub(super) async fn release_files(tx: &mut Transaction<'static, Any>, files: &[FileId]) -> Result<(), StoreError> {
    for file in files {
        sqlx::query("UPDATE files SET refs = refs - 1 WHERE id = $1").bind(*file).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Marks `uploads` used by the message, in order, inside the message's transaction. False when
/// one of them is not a complete attachment upload of `owner` (the caller rolls back).
pub(super) async fn use_uploads(
    tx: &mut Transaction<'static, Any>,
    uploads: &[UploadId],
    owner: UserId,
    conversation: ConversationId,
    message: MessageId,
) -> Result<bool, StoreError> {
    for (position, upload) in uploads.iter().enumerate() {
        let done = sqlx::query(
            "UPDATE uploads SET state = 'used', conversation_id = $3, message_id = $4, position = $5 \
             WHERE id = $1 AND owner_id = $2 AND state = 'complete' AND purpose = 'attachment'",
        )
        .bind(Db(*upload))
        .bind(Db(owner))
        .bind(Db(conversation))
        .bind(Db(message))
        .bind(position as i64)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Deletes the previews whose `column` (`message_id` or `conversation_id`, a constant of the
/// caller's) is `value`, releasing their pictures (a message's link previews hold files as its
/// attachments do).
pub(super) async fn drop_previews(
    tx: &mut Transaction<'static, Any>,
    column: &'static str,
    value: i64,
) -> Result<(), StoreError> {
    let sql = format!("DELETE FROM message_previews WHERE {column} = $1 RETURNING file_id");
    let files: Vec<(Option<FileId>,)> = sqlx::query_as(composed(sql)).bind(value).fetch_all(&mut **tx).await?;
    let files: Vec<FileId> = files.into_iter().filter_map(|(f,)| f).collect();
    release_files(tx, &files).await
}

/// Deletes the attachments whose `column` (`message_id` or `conversation_id`, a constant of the
/// caller's) is `value`, releasing their files.
pub(super) async fn drop_attachments(
    tx: &mut Transaction<'static, Any>,
    column: &'static str,
    value: i64,
) -> Result<(), StoreError> {
    let sql = format!("DELETE FROM uploads WHERE state = 'used' AND {column} = $1 RETURNING file_id");
    let files: Vec<(Option<FileId>,)> = sqlx::query_as(composed(sql)).bind(value).fetch_all(&mut **tx).await?;
    let files: Vec<FileId> = files.into_iter().filter_map(|(f,)| f).collect();
    release_files(tx, &files).await
}

/// Takes a complete avatar upload of `owner` for a new avatar: the upload row goes, its
/// reference on the file passes to the avatar. `None` when there is no such upload.
/// Takes a complete attachment upload that is an image (a theme's background): the upload row
/// goes and its reference on the file passes to the caller's row.
pub(super) async fn take_image_upload(
    tx: &mut Transaction<'static, Any>,
    upload: UploadId,
    owner: UserId,
) -> Result<Option<FileId>, StoreError> {
    let taken: Option<(Option<FileId>,)> = sqlx::query_as(
        "DELETE FROM uploads WHERE id = $1 AND owner_id = $2 AND state = 'complete' AND purpose = 'attachment' \
         AND file_id IN (SELECT id FROM files WHERE width IS NOT NULL) RETURNING file_id",
    )
    .bind(Db(upload))
    .bind(Db(owner))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(taken.and_then(|(f,)| f))
}

pub(super) async fn take_avatar_upload(
    tx: &mut Transaction<'static, Any>,
    upload: UploadId,
    owner: UserId,
) -> Result<Option<FileId>, StoreError> {
    let taken: Option<(Option<FileId>,)> = sqlx::query_as(
        "DELETE FROM uploads WHERE id = $1 AND owner_id = $2 AND state = 'complete' AND purpose = 'avatar' \
         RETURNING file_id",
    )
    .bind(Db(upload))
    .bind(Db(owner))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(taken.and_then(|(f,)| f))
}
