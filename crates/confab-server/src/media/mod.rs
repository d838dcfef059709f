//! Files and images: resumable uploads (tus 1.0.0), the attachments of messages, avatars, and
//! serving all of them safely. docs/media.md is the user-facing description.
//!
//! The path of a file: `create` (quota, size limit) → `append` (a `PATCH`: its bytes streamed
//! into a blob, then the part recorded only if the upload still stands at the same offset) → on
//! the last byte, `finish` (`finish.rs`: the parts concatenated and hashed, the type sniffed,
//! images inspected and stripped on the blocking pool) → a file row, shared by every upload of
//! the same bytes → `Messages::send` marks the upload used by its message (`attachable` checks
//! it first) → members get capability URLs, served by `open_attachment`.
//!
//! Every state lives in the database and every byte in [`storage::Blobs`], so a `PATCH` may come
//! to any node, after any restart.

mod finish;
pub mod image;
mod names;
pub mod storage;
mod sweep;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use confab_proto::media::{
    Attachment, FileInfo, MAX_ATTACHMENTS, SetAvatarRequest, Upload, UploadPurpose, UploadState,
};
use confab_proto::rest::{Conversation, SetThemeRequest, ThemeBackground, User};
use confab_proto::{ConversationId, ErrorCode, UploadId, UserId};
use futures_util::{Stream, StreamExt};
use tokio::sync::{Notify, Semaphore};

use crate::auth::Principal;
use crate::clock::{datetime, now_ms};
use crate::config::MediaConfig;
use crate::conversations::Conversations;
use crate::error::{Error, Result};
use crate::ids::IdGenerator;
use crate::people::Blocks;
use crate::presence::Presence;
use crate::render::Renderer;
use crate::store::{AttachmentRow, FileId, FileRow, NewUpload, Refusal, Store, UploadQuota, UploadRow};
use crate::users::Users;
pub use names::content_disposition;
pub use storage::{Blob, BlobError, Blobs};
pub use sweep::spawn_sweeper;

/// Image types served `inline` (and drawn by the web client). They are exactly the ones the
/// server parsed and stripped itself; SVG never is one (it can carry script).
const INLINE: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// What a client asks for when it creates an upload (from the tus headers).
#[derive(Debug, Default)]
pub struct UploadRequest {
    pub length: u64,
    pub name: Option<String>,
    /// Lowercase or uppercase hex SHA-256 of the whole file, checked on the last byte.
    pub sha256: Option<String>,
    pub purpose: UploadPurpose,
}

/// A file (or its thumbnail) about to be served: what the response headers say about it.
#[derive(Debug, Clone)]
pub struct Served {
    pub key: String,
    /// The `Content-Type`: the sniffed type for inline images, `application/octet-stream` else.
    pub content_type: &'static str,
    pub inline: bool,
    pub name: String,
    /// A strong validator: the SHA-256 of the stored bytes (the thumbnail's: its own key's).
    pub etag: String,
}

pub struct Media {
    store: Store,
    blobs: Blobs,
    ids: Arc<IdGenerator>,
    conversations: Arc<Conversations>,
    users: Arc<Users>,
    blocks: Arc<Blocks>,
    presence: Arc<Presence>,
    render: Renderer,
    config: MediaConfig,
    /// Images decoded at once on this node: each may take `max_decode_bytes`.
    decodes: Semaphore,
    /// Wakes the sweep early, after something released files.
    sweep_now: Notify,
}

/// The services a [`Media`] works with.
pub struct MediaDeps {
    pub store: Store,
    pub blobs: Blobs,
    pub ids: Arc<IdGenerator>,
    pub conversations: Arc<Conversations>,
    pub users: Arc<Users>,
    pub blocks: Arc<Blocks>,
    pub presence: Arc<Presence>,
    pub render: Renderer,
}

impl Media {
    pub fn new(deps: MediaDeps, config: MediaConfig) -> Media {
        let MediaDeps { store, blobs, ids, conversations, users, blocks, presence, render } = deps;
        let decodes = Semaphore::new(config.decode_concurrency.max(1));
        Media {
            store,
            blobs,
            ids,
            conversations,
            users,
            blocks,
            presence,
            render,
            config,
            decodes,
            sweep_now: Notify::new(),
        }
    }

    pub fn config(&self) -> &MediaConfig {
        &self.config
    }

    /// Creates an upload of `req.length` bytes for the caller.
    pub async fn create(&self, principal: Principal, req: UploadRequest) -> Result<Upload> {
        if req.length == 0 {
            return Err(Error::invalid(ErrorCode::InvalidParameter, "Upload-Length must be at least 1"));
        }
        if req.length > self.config.max_file_bytes {
            return Err(Error::invalid(
                ErrorCode::FileTooLarge,
                format!("a file may have at most {} bytes", self.config.max_file_bytes),
            ));
        }
        let sha256 = match req.sha256.as_deref() {
            Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(hex.to_ascii_lowercase())
            }
            Some(_) => return Err(Error::invalid(ErrorCode::InvalidParameter, "sha256 must be 64 hex digits")),
            None => None,
        };
        let name = names::clean(req.name.as_deref().unwrap_or_default());
        let now = now_ms();
        let id: UploadId = self.ids.next();
        let access_key = access_key();
        let new = NewUpload {
            id,
            owner_id: principal.user_id,
            purpose: req.purpose,
            length: clamp(req.length),
            name: &name,
            sha256: sha256.as_deref(),
            access_key: &access_key,
            created_at: now,
            expires_at: self.expiry(now),
        };
        let quota = UploadQuota {
            max_bytes: clamp(self.config.quota_bytes),
            max_open: i64::from(self.config.max_open_uploads),
        };
        match self.store.create_upload(&new, &quota).await? {
            Ok(()) => {}
            Err(Refusal::Bytes) => {
                return Err(Error::invalid(
                    ErrorCode::QuotaExceeded,
                    format!("your files may take at most {} bytes; delete some first", self.config.quota_bytes),
                ));
            }
            Err(Refusal::OpenUploads) => {
                return Err(Error::invalid(
                    ErrorCode::QuotaExceeded,
                    format!("at most {} unfinished uploads at once", self.config.max_open_uploads),
                ));
            }
        }
        self.status(principal, id).await
    }

    /// An upload of the caller's, as it stands. Anyone else's is `not_found`.
    pub async fn status(&self, principal: Principal, id: UploadId) -> Result<Upload> {
        let upload = self.own_upload(principal, id).await?;
        let file = match upload.file_id {
            Some(file) => self.store.file(file).await?,
            None => None,
        };
        Ok(wire_upload(&upload, file.as_ref()))
    }

    /// Appends `body` at `offset` (a tus `PATCH`). What arrives before a cut connection is kept,
    /// so the client resumes from the offset `HEAD` then reports. On the last byte the file is
    /// checked (`finish.rs`); a refused file deletes the upload and answers why.
    pub async fn append<S, E>(
        &self,
        principal: Principal,
        id: UploadId,
        offset: u64,
        content_length: Option<u64>,
        body: S,
    ) -> Result<Upload>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let mut upload = self.own_upload(principal, id).await?;
        let received = u64::try_from(upload.received).unwrap_or_default();
        let length = u64::try_from(upload.length).unwrap_or_default();
        if upload.state != UploadState::Open {
            // A retried last PATCH of a finished upload: it changes nothing.
            if offset == length && content_length.unwrap_or(0) == 0 {
                return self.status(principal, id).await;
            }
            return Err(Error::Conflict(ErrorCode::OffsetMismatch, "this upload is complete".into()));
        }
        if offset != received {
            return Err(Error::Conflict(
                ErrorCode::OffsetMismatch,
                format!("the upload stands at {received}, not {offset}: HEAD it and resume from there"),
            ));
        }
        let remaining = length - received;
        if content_length.is_some_and(|n| n > remaining) {
            return Err(Error::invalid(
                ErrorCode::FileTooLarge,
                format!("{remaining} bytes remain of this upload, the request has more"),
            ));
        }
        if remaining > 0 {
            // The row as the recorded part left it, without reading it again.
            upload.expires_at = self.expiry(now_ms());
            upload.received = self.store_part(&upload, received, remaining, body).await?;
        }
        if upload.received < upload.length {
            return Ok(wire_upload(&upload, None));
        }
        self.finish(upload).await?;
        self.status(principal, id).await
    }

    /// Streams `body` into a part blob and records it; returns the upload's new offset.
    async fn store_part<S, E>(&self, upload: &UploadRow, start: u64, remaining: u64, body: S) -> Result<i64>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let key = format!("uploads/{}/{start}-{}", upload.id, &access_key()[..8].to_ascii_lowercase());
        let (limited, overflow) = at_most(body, remaining);
        let written = self.blobs.put_stream(&key, limited).await.map_err(blob_error)?;
        let mut offset = clamp(start);
        if written.bytes > 0 {
            let recorded =
                self.store.add_part(upload.id, offset, clamp(written.bytes), &key, upload.expires_at).await?;
            let Some(moved) = recorded else {
                // Another PATCH got there first (or the upload was deleted meanwhile).
                let _ = self.blobs.delete(&key).await;
                return Err(Error::Conflict(ErrorCode::OffsetMismatch, "the upload moved on meanwhile".into()));
            };
            offset = moved;
        }
        if overflow.load(Ordering::Relaxed) {
            return Err(Error::invalid(
                ErrorCode::FileTooLarge,
                format!("the upload is complete at {} bytes; the rest of the request was dropped", upload.length),
            ));
        }
        if written.cut {
            return Err(Error::invalid(ErrorCode::InvalidParameter, "the request body was cut off; resume from HEAD"));
        }
        Ok(offset)
    }

    /// Deletes an upload no message uses (tus termination).
    pub async fn terminate(&self, principal: Principal, id: UploadId) -> Result<()> {
        self.own_upload(principal, id).await?;
        match self.store.delete_upload(id).await? {
            Some(_) => {
                self.delete_parts(id).await;
                self.sweep_now.notify_one();
                Ok(())
            }
            None => Err(Error::Conflict(ErrorCode::InvalidAttachment, "a message uses this upload".into())),
        }
    }

    /// The uploads a message is about to carry, checked: each a complete attachment upload of
    /// `owner` not used before, at most ten, none twice. The send's transaction checks again.
    pub async fn attachable(&self, owner: UserId, ids: &[UploadId]) -> Result<Vec<AttachmentRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if ids.len() > MAX_ATTACHMENTS {
            return Err(Error::invalid(
                ErrorCode::InvalidAttachment,
                format!("a message carries at most {MAX_ATTACHMENTS} attachments"),
            ));
        }
        if ids.iter().enumerate().any(|(i, id)| ids[..i].contains(id)) {
            return Err(Error::invalid(ErrorCode::InvalidAttachment, "an upload is listed twice"));
        }
        let rows = self.store.uploads_with_files(ids).await?;
        for id in ids {
            let usable = rows.iter().any(|r| {
                r.upload.id == *id
                    && r.upload.owner_id == owner
                    && r.upload.state == UploadState::Complete
                    && r.upload.purpose == UploadPurpose::Attachment
            });
            if !usable {
                return Err(Error::invalid(
                    ErrorCode::InvalidAttachment,
                    format!("upload {id} is not a complete attachment upload of yours that no message uses"),
                ));
            }
        }
        Ok(rows)
    }

    /// An attachment with fresh URLs, for a member of its conversation who may see its sender's
    /// messages; `not_found` for everyone else.
    pub async fn attachment(&self, principal: Principal, id: UploadId) -> Result<Attachment> {
        let row = self.store.uploads_with_files(&[id]).await?.pop().ok_or(Error::NotFound("attachment"))?;
        let conversation = row.upload.conversation_id.filter(|_| row.upload.state == UploadState::Used);
        let conversation = conversation.ok_or(Error::NotFound("attachment"))?;
        self.conversations.membership(principal.user_id, conversation).await?;
        if self.blocks.of(principal.user_id).await?.blocked.contains(&row.upload.owner_id) {
            return Err(Error::NotFound("attachment"));
        }
        Ok(self.render.attachment(&row))
    }

    /// What `/api/v1/media/{id}/{key}[/thumbnail]` serves, if `key` is the attachment's.
    pub async fn open_attachment(&self, id: UploadId, key: &str, thumbnail: bool) -> Result<Served> {
        let row = self.store.uploads_with_files(&[id]).await?.pop().ok_or(Error::NotFound("attachment"))?;
        if row.upload.state != UploadState::Used || !same_key(&row.upload.access_key, key) {
            return Err(Error::NotFound("attachment"));
        }
        if thumbnail {
            let mime = row.file.thumbnail.as_deref().ok_or(Error::NotFound("thumbnail"))?;
            return Ok(Served {
                key: thumbnail_key(row.file.id),
                content_type: inline_type(mime).unwrap_or("application/octet-stream"),
                inline: true,
                name: row.upload.name.clone(),
                etag: format!("{}-t", row.file.sha256),
            });
        }
        Ok(served_file(&row.file, &row.upload.name))
    }

    /// What `/api/v1/avatars/{file}/{key}` serves.
    pub async fn open_avatar(&self, file: FileId, key: &str) -> Result<Served> {
        let row = self.store.file(file).await?.ok_or(Error::NotFound("avatar"))?;
        if !same_key(&row.access_key, key) || inline_type(&row.mime).is_none() {
            return Err(Error::NotFound("avatar"));
        }
        Ok(served_file(&row, "avatar"))
    }

    pub async fn read(&self, served: &Served, range: Option<std::ops::Range<u64>>) -> Result<Blob, BlobError> {
        self.blobs.get(&served.key, range).await
    }

    /// Sets or removes (`None`) the caller's avatar.
    pub async fn set_my_avatar(&self, principal: Principal, req: Option<SetAvatarRequest>) -> Result<User> {
        let avatar = match req {
            Some(req) => Some((self.avatar_url(principal, req.upload_id).await?, req.upload_id)),
            None => None,
        };
        let user = self.users.set_avatar(principal.user_id, avatar).await?;
        self.sweep_now.notify_one();
        self.presence.announce_profile(&user).await?;
        Ok(user)
    }

    /// Sets or removes (`None`) a group's avatar (who may: as for its name and topic).
    pub async fn set_group_avatar(
        &self,
        principal: Principal,
        conversation: ConversationId,
        req: Option<SetAvatarRequest>,
    ) -> Result<Conversation> {
        let avatar = match req {
            Some(req) => Some((self.avatar_url(principal, req.upload_id).await?, req.upload_id)),
            None => None,
        };
        let updated = self.conversations.set_avatar(principal, conversation, avatar).await?;
        self.sweep_now.notify_one();
        Ok(updated)
    }

    /// Sets (or with `None`, removes) a conversation's theme; a background picture named in the
    /// request must be a complete image upload of the caller's, which the conversation takes.
    pub async fn set_theme(
        &self,
        principal: Principal,
        conversation: ConversationId,
        req: Option<SetThemeRequest>,
    ) -> Result<Conversation> {
        let background = match req.as_ref().and_then(SetThemeRequest::background_upload_id) {
            Some(id) => Some((self.theme_background(principal, id).await?, id)),
            None => None,
        };
        let updated = self.conversations.set_theme(principal, conversation, req, background).await?;
        self.sweep_now.notify_one(); // a background replaced may be unreferenced now
        Ok(updated)
    }

    async fn theme_background(&self, principal: Principal, id: UploadId) -> Result<ThemeBackground> {
        let upload = self.own_upload(principal, id).await?;
        let file = match (upload.purpose, upload.state, upload.file_id) {
            (UploadPurpose::Attachment, UploadState::Complete, Some(file)) => self.store.file(file).await?,
            _ => None,
        };
        let not_usable = || {
            Error::invalid(ErrorCode::InvalidAttachment, "background_upload_id is not a complete image upload of yours")
        };
        let file = file.ok_or_else(not_usable)?;
        let dimension = |v: Option<i64>| v.and_then(|v| u32::try_from(v).ok());
        let (Some(width), Some(height)) = (dimension(file.width), dimension(file.height)) else {
            return Err(not_usable());
        };
        Ok(ThemeBackground { url: self.render.avatar_url(&file), width, height, blurhash: file.blurhash.clone() })
    }

    async fn avatar_url(&self, principal: Principal, id: UploadId) -> Result<String> {
        let upload = self.own_upload(principal, id).await?;
        let file = match (upload.purpose, upload.state, upload.file_id) {
            (UploadPurpose::Avatar, UploadState::Complete, Some(file)) => self.store.file(file).await?,
            _ => None,
        };
        let file = file.ok_or_else(|| {
            Error::invalid(ErrorCode::InvalidAttachment, "upload_id is not a complete avatar upload of yours")
        })?;
        Ok(self.render.avatar_url(&file))
    }

    /// Files were released (a message deleted): let the sweep delete what nothing holds now.
    pub fn released(&self) {
        self.sweep_now.notify_one();
    }

    async fn own_upload(&self, principal: Principal, id: UploadId) -> Result<UploadRow> {
        match self.store.upload(id).await? {
            Some(upload) if upload.owner_id == principal.user_id => Ok(upload),
            _ => Err(Error::NotFound("upload")),
        }
    }

    fn expiry(&self, from: i64) -> i64 {
        from.saturating_add(clamp(self.config.upload_expiry_secs.saturating_mul(1000)))
    }

    /// Deletes the part blobs of an upload whose row is gone (or finished with them).
    async fn delete_parts(&self, id: UploadId) {
        if let Err(e) = self.blobs.delete_under(&format!("uploads/{id}")).await {
            tracing::warn!(error = %e, upload = %id, "could not delete an upload's parts; they stay in storage");
        }
    }
}

/// `body`, cut after `max` bytes; the flag tells whether more was sent.
fn at_most<S, E>(
    body: S,
    max: u64,
) -> (impl Stream<Item = std::result::Result<Bytes, std::io::Error>> + Unpin + Send, Arc<AtomicBool>)
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin + Send,
    E: std::fmt::Display,
{
    let overflow = Arc::new(AtomicBool::new(false));
    let flag = overflow.clone();
    let limited = body.scan(max, move |left, chunk| {
        let chunk = match chunk {
            Ok(mut chunk) => {
                if chunk.len() as u64 > *left {
                    flag.store(true, Ordering::Relaxed);
                    if *left == 0 {
                        return std::future::ready(None); // stop reading: nothing more fits
                    }
                    chunk.truncate(usize::try_from(*left).unwrap_or(usize::MAX));
                }
                *left -= chunk.len() as u64;
                Ok(chunk)
            }
            Err(e) => Err(std::io::Error::other(e.to_string())),
        };
        std::future::ready(Some(chunk))
    });
    (Box::pin(limited), overflow)
}

fn served_file(file: &FileRow, name: &str) -> Served {
    let content_type = inline_type(&file.mime);
    Served {
        key: file_key(file.id),
        content_type: content_type.unwrap_or("application/octet-stream"),
        inline: content_type.is_some(),
        name: name.to_owned(),
        etag: file.sha256.clone(),
    }
}

fn inline_type(mime: &str) -> Option<&'static str> {
    INLINE.iter().copied().find(|t| *t == mime)
}

pub(crate) fn file_key(id: FileId) -> String {
    format!("files/{}", id.0)
}

pub(crate) fn thumbnail_key(id: FileId) -> String {
    format!("thumbs/{}", id.0)
}

fn wire_upload(upload: &UploadRow, file: Option<&FileRow>) -> Upload {
    let file: Option<FileInfo> = file.map(|f| crate::render::file_info(&upload.name, f));
    Upload {
        id: upload.id,
        purpose: upload.purpose,
        state: upload.state,
        length: u64::try_from(upload.length).unwrap_or_default(),
        offset: u64::try_from(upload.received).unwrap_or_default(),
        expires_at: datetime(upload.expires_at),
        file,
    }
}

/// 128 random bits, URL-safe: the capability in attachment and avatar URLs.
fn access_key() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares keys in time independent of where they differ.
fn same_key(stored: &str, given: &str) -> bool {
    stored.len() == given.len() && stored.bytes().zip(given.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn blob_error(e: BlobError) -> Error {
    Error::Internal(format!("blob store: {e}"))
}
