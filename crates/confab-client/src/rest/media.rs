//! Files: resumable uploads (tus 1.0.0), attachments, avatars and downloads.
//!
//! [`Client::upload`] is the whole protocol in one call: it creates the upload, sends the bytes
//! in chunks, and after a failed chunk asks the server where it stands (`HEAD`) and goes on from
//! there, so a dropped connection costs at most one chunk. The lower-level calls
//! ([`Client::create_upload`], [`Client::upload_offset`], [`Client::upload_chunk`]) are there
//! for callers that keep an upload across restarts of their own.

use base64::Engine;
use bytes::Bytes;
use confab_proto::media::{Attachment, SetAvatarRequest, TUS_VERSION, Upload, UploadPurpose};
use confab_proto::rest::{Conversation, User};
use confab_proto::{AttachmentId, ConversationId, UploadId};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap};

use super::{Client, NO_BODY};
use crate::error::ClientError;
use crate::response;

/// The size of the chunks [`Client::upload`] sends.
pub const DEFAULT_CHUNK: usize = 8 << 20;
/// Chunks retried in a row after failures before [`Client::upload`] gives up.
const RETRIES: u32 = 5;

/// What to upload: a name and, optionally, its SHA-256 (lowercase hex) for the server to check.
#[derive(Debug, Clone, Default)]
pub struct NewUpload {
    /// The file's name as the user sees it (the server cleans it of paths and controls).
    pub name: String,
    /// `Avatar` for a picture that becomes an avatar, else an attachment.
    pub purpose: UploadPurpose,
    /// Checked by the server once the last byte arrived.
    pub sha256: Option<String>,
}

impl Client {
    /// `POST /api/v1/uploads` (tus creation) for `length` bytes.
    pub async fn create_upload(&self, length: u64, new: &NewUpload) -> Result<Upload, ClientError> {
        let encode = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
        let purpose = match new.purpose {
            UploadPurpose::Attachment => "attachment",
            UploadPurpose::Avatar => "avatar",
        };
        let mut metadata = format!("filename {},purpose {}", encode(&new.name), encode(purpose));
        if let Some(sha256) = &new.sha256 {
            metadata.push_str(&format!(",sha256 {}", encode(sha256)));
        }
        let request = self
            .request(Method::POST, "/api/v1/uploads")
            .header("tus-resumable", TUS_VERSION)
            .header("upload-length", length)
            .header("upload-metadata", metadata);
        response::decode(request.send().await?).await
    }

    /// `HEAD /api/v1/uploads/{id}`: where the next chunk starts.
    pub async fn upload_offset(&self, id: UploadId) -> Result<u64, ClientError> {
        let request = self.request(Method::HEAD, &format!("/api/v1/uploads/{id}")).header("tus-resumable", TUS_VERSION);
        let answer = request.send().await?;
        let offset = header_number(answer.headers(), "upload-offset");
        response::expect_success(answer).await?;
        offset.ok_or_else(|| ClientError::UnexpectedResponse { status: 200, body: "no Upload-Offset".into() })
    }

    /// `PATCH /api/v1/uploads/{id}`: sends `chunk` at `offset`; returns the new offset.
    pub async fn upload_chunk(&self, id: UploadId, offset: u64, chunk: Bytes) -> Result<u64, ClientError> {
        let request = self
            .request(Method::PATCH, &format!("/api/v1/uploads/{id}"))
            .header("tus-resumable", TUS_VERSION)
            .header("upload-offset", offset)
            .header(CONTENT_TYPE, "application/offset+octet-stream")
            .body(chunk);
        let answer = request.send().await?;
        let offset = header_number(answer.headers(), "upload-offset");
        response::expect_success(answer).await?;
        offset.ok_or_else(|| ClientError::UnexpectedResponse { status: 204, body: "no Upload-Offset".into() })
    }

    /// `GET /api/v1/uploads/{id}`: the upload as JSON, with its file once complete.
    pub async fn upload_status(&self, id: UploadId) -> Result<Upload, ClientError> {
        self.get(&format!("/api/v1/uploads/{id}")).await
    }

    /// `DELETE /api/v1/uploads/{id}` (tus termination).
    pub async fn delete_upload(&self, id: UploadId) -> Result<(), ClientError> {
        let request =
            self.request(Method::DELETE, &format!("/api/v1/uploads/{id}")).header("tus-resumable", TUS_VERSION);
        response::expect_success(request.send().await?).await
    }

    /// Uploads `bytes` whole: creates the upload, sends it in chunks of `DEFAULT_CHUNK`, resumes
    /// after a failed chunk from the offset the server reports, and returns the complete upload
    /// (its `file` says what the server made of it). Refusals (`file_too_large`,
    /// `image_too_large`, `checksum_mismatch`, …) are returned at once, not retried.
    pub async fn upload(&self, bytes: Bytes, new: &NewUpload) -> Result<Upload, ClientError> {
        let upload = self.create_upload(bytes.len() as u64, new).await?;
        self.resume_upload(upload.id, bytes, DEFAULT_CHUNK).await
    }

    /// Sends what the server lacks of `bytes` for upload `id`, in chunks of `chunk` bytes,
    /// starting from the offset the server reports.
    pub async fn resume_upload(&self, id: UploadId, bytes: Bytes, chunk: usize) -> Result<Upload, ClientError> {
        let total = bytes.len() as u64;
        let mut offset = self.upload_offset(id).await?;
        let mut failures = 0;
        while offset < total {
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
            let end = start.saturating_add(chunk.max(1)).min(bytes.len());
            match self.upload_chunk(id, offset, bytes.slice(start..end)).await {
                Ok(next) => {
                    offset = next;
                    failures = 0;
                }
                Err(e) if retryable(&e) && failures < RETRIES => {
                    failures += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(failures))).await;
                    offset = self.upload_offset(id).await?;
                }
                Err(e) => return Err(e),
            }
        }
        self.upload_status(id).await
    }

    /// `GET /api/v1/attachments/{id}`: an attachment (with fresh URLs) for a member.
    pub async fn attachment(&self, id: AttachmentId) -> Result<Attachment, ClientError> {
        self.get(&format!("/api/v1/attachments/{id}")).await
    }

    /// Downloads a file by the `url` (or `thumbnail_url`) of an [`Attachment`] or an avatar:
    /// relative URLs are taken against this client's server. No token is sent: the URL is the
    /// capability.
    pub async fn download(&self, url: &str) -> Result<Bytes, ClientError> {
        let absolute = if url.starts_with('/') { format!("{}{url}", self.base_url) } else { url.to_owned() };
        let answer = self.http.get(absolute).send().await?;
        if !answer.status().is_success() {
            return Err(response::expect_success(answer)
                .await
                .err()
                .unwrap_or(ClientError::UnexpectedResponse { status: 0, body: String::new() }));
        }
        Ok(answer.bytes().await?)
    }

    /// `PUT /api/v1/me/avatar`: your avatar from a complete avatar upload.
    pub async fn set_avatar(&self, upload: UploadId) -> Result<User, ClientError> {
        self.call(Method::PUT, "/api/v1/me/avatar", Some(&SetAvatarRequest { upload_id: upload })).await
    }

    /// `DELETE /api/v1/me/avatar`.
    pub async fn remove_avatar(&self) -> Result<User, ClientError> {
        self.call(Method::DELETE, "/api/v1/me/avatar", NO_BODY).await
    }

    /// `PUT /api/v1/conversations/{id}/avatar`: a group's avatar from your avatar upload.
    pub async fn set_group_avatar(&self, id: ConversationId, upload: UploadId) -> Result<Conversation, ClientError> {
        let req = SetAvatarRequest { upload_id: upload };
        self.call(Method::PUT, &format!("/api/v1/conversations/{id}/avatar"), Some(&req)).await
    }
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.parse().ok()
}

/// Failures worth resuming after: the transport, a conflict about the offset, the server busy.
fn retryable(e: &ClientError) -> bool {
    match e {
        ClientError::Http(_) => true,
        ClientError::Api { status, error } => *status >= 500 || error.code == confab_proto::ErrorCode::OffsetMismatch,
        ClientError::UnexpectedResponse { status, .. } => *status >= 500,
        _ => false,
    }
}
