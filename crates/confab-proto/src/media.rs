//! Files and images: resumable uploads (`/api/v1/uploads`, the tus 1.0.0 protocol), the
//! attachments messages carry, and avatars made from an upload.
//!
//! Bytes never travel in JSON: an upload is created with tus headers, filled with `PATCH`es of
//! raw bytes at an offset, and becomes a [`FileInfo`] once its last byte arrived and the server
//! checked it. A message then names the upload in `attachments`; what recipients get is an
//! [`Attachment`] with capability URLs that work in `<img>` without credentials.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::ids::{AttachmentId, UploadId};

/// The tus protocol version the server speaks (the `Tus-Resumable` header).
pub const TUS_VERSION: &str = "1.0.0";
/// The tus extensions the server implements (the `Tus-Extension` header).
pub const TUS_EXTENSIONS: &str = "creation,expiration,termination";
/// Attachments one message may carry.
pub const MAX_ATTACHMENTS: usize = 10;
/// A file name: 1–255 bytes once cleaned (see docs/media.md).
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// What an upload will become once complete.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UploadPurpose {
    /// A file for a message (the default).
    #[default]
    Attachment,
    /// A picture for a profile or a group: must be an image; kept as a square thumbnail.
    Avatar,
}

/// Where an upload stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    /// Bytes are still arriving: `PATCH` at `offset`.
    Open,
    /// Every byte arrived and was checked: `file` describes it; a message may attach it.
    Complete,
    /// A message carries it (or an avatar was made from it); it cannot be attached again.
    Used,
}

/// `GET /api/v1/uploads/{id}`; also the body of the `POST` that creates one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Upload {
    pub id: UploadId,
    pub purpose: UploadPurpose,
    pub state: UploadState,
    /// Total size in bytes, as declared at creation.
    pub length: u64,
    /// Bytes received so far; the next `PATCH` starts here.
    pub offset: u64,
    /// When an upload that no message uses is deleted.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Once complete: what the server found the file to be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileInfo>,
}

/// A stored file, as the server sees it (never as the client labelled it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FileInfo {
    /// The file name, cleaned: no path, no control characters (see docs/media.md).
    pub name: String,
    /// Size in bytes of what is stored (for images: after metadata was stripped).
    pub size: u64,
    /// The type sniffed from the file's first bytes, e.g. `image/png`, `application/pdf`, or
    /// `application/octet-stream` when unknown.
    pub mime: String,
    /// For images (PNG, JPEG, GIF, WebP): pixel size, upright.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// For animated images: the number of frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<u32>,
    /// A BlurHash of the image (https://blurha.sh), to paint before the image arrives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blurhash: Option<String>,
    /// Lowercase hex SHA-256 of the stored bytes (also their `ETag`).
    pub sha256: String,
}

/// A file carried by a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Attachment {
    pub id: AttachmentId,
    #[serde(flatten)]
    pub file: FileInfo,
    /// The file itself: a capability URL (128 random bits in the path) that needs no
    /// credentials, so that `<img>` and downloads work anywhere; it stops working when the
    /// message is deleted. Relative to the server unless `media.public_origin` is configured.
    pub url: String,
    /// For images larger than the thumbnail size: a smaller rendition (JPEG or PNG).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
}

/// `PUT /api/v1/me/avatar`, `PUT /api/v1/conversations/{id}/avatar`: make an avatar of a
/// complete upload (created with purpose `avatar`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetAvatarRequest {
    pub upload_id: UploadId,
}
