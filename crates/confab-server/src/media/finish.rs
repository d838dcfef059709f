//! An upload's last byte arrived: its parts become one file, checked.
//!
//! The parts are concatenated into `files/<new id>` while SHA-256 runs over them and the first
//! bytes are kept for sniffing. The sniffed type decides the rest: an image (PNG, JPEG, GIF,
//! WebP) must pass `image::inspect` — dimensions and frames from its headers, before anything is
//! decoded — and is then stored stripped of its metadata with a thumbnail and a BlurHash, on the
//! blocking pool and under the node's decode permits; an avatar upload becomes its square
//! avatar; anything else is stored as it came. A refused file deletes its upload.

use std::sync::Arc;

use bytes::Bytes;
use confab_proto::ErrorCode;
use confab_proto::media::UploadPurpose;
use sha2::{Digest, Sha256};

use super::image::{self, Format, ImageError, Limits};
use super::{Media, access_key, blob_error, clamp, file_key, thumbnail_key};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::store::{FileId, FileRow, UploadRow};

/// Bytes kept from the start of a file for sniffing.
const SNIFF_BYTES: usize = 8192;

/// What processing made of the bytes of an image.
struct Processed {
    bytes: Vec<u8>,
    mime: &'static str,
    width: u32,
    height: u32,
    frames: u32,
    blurhash: Option<String>,
    thumbnail: Option<image::Encoded>,
}

impl Media {
    /// Turns a fully received upload into a file, or deletes it with the reason it was refused.
    pub(super) async fn finish(&self, upload: UploadRow) -> Result<()> {
        let file_id: FileId = FileId(self.ids.next::<i64>());
        let outcome = self.build_file(&upload, file_id).await;
        let file = match outcome {
            Ok(file) => file,
            Err(refusal) => {
                let _ = self.blobs.delete(&file_key(file_id)).await;
                let _ = self.blobs.delete(&thumbnail_key(file_id)).await;
                if self.store.delete_upload(upload.id).await?.is_some() {
                    self.delete_parts(upload.id).await;
                }
                return Err(refusal);
            }
        };
        let held = self.store.complete_upload(upload.id, &file, now_ms(), self.expiry(now_ms())).await?;
        if held.as_ref().is_none_or(|held| held.id != file_id) {
            // The same bytes were stored before (the upload now shares that file), or another
            // request finished this upload first: this copy is not needed.
            let _ = self.blobs.delete(&file_key(file_id)).await;
            let _ = self.blobs.delete(&thumbnail_key(file_id)).await;
        }
        if held.is_some() {
            self.delete_parts(upload.id).await;
        }
        Ok(())
    }

    async fn build_file(&self, upload: &UploadRow, file_id: FileId) -> Result<FileRow> {
        let parts = self.store.upload_parts(upload.id).await?;
        let contiguous = parts.iter().try_fold(0i64, |at, p| (p.start == at).then_some(at + p.size));
        if contiguous != Some(upload.length) {
            return Err(Error::Internal(format!("upload {} has parts that do not add up", upload.id)));
        }
        let keys: Vec<String> = parts.into_iter().map(|p| p.blob).collect();
        let key = file_key(file_id);
        let mut hasher = Sha256::new();
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        let size = self
            .blobs
            .concat(&keys, &key, |chunk| {
                hasher.update(chunk);
                let wanted = SNIFF_BYTES.saturating_sub(head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..wanted]);
            })
            .await
            .map_err(blob_error)?;
        let sha256 = hex::encode(hasher.finalize());
        if let Some(declared) = &upload.sha256
            && *declared != sha256
        {
            return Err(Error::invalid(
                ErrorCode::ChecksumMismatch,
                "the bytes received do not have the declared SHA-256; upload the file again",
            ));
        }
        let sniffed = image::sniff(&head);
        let mut file = FileRow {
            id: file_id,
            sha256,
            size: clamp(size),
            mime: sniffed.mime.to_owned(),
            width: None,
            height: None,
            frames: None,
            blurhash: None,
            thumbnail: None,
            access_key: access_key(),
        };
        let Some(format) = sniffed.image else {
            if upload.purpose == UploadPurpose::Avatar {
                return Err(Error::invalid(ErrorCode::NotAnImage, "an avatar must be a PNG, JPEG, GIF or WebP image"));
            }
            return Ok(file);
        };
        if size > self.config.max_image_bytes {
            return Err(Error::invalid(
                ErrorCode::ImageTooLarge,
                format!("an image may have at most {} bytes", self.config.max_image_bytes),
            ));
        }
        let original = self.blobs.read_all(&key, self.config.max_image_bytes).await.map_err(blob_error)?;
        self.store_image(&mut file, original, format, upload.purpose).await?;
        Ok(file)
    }

    /// An image that came from elsewhere than an upload (a link preview's): checked, stripped and
    /// stored exactly as an uploaded one. Its row is not in the database yet: the caller's store
    /// call takes it (or a file of the same bytes, and then [`Media::discard`]s this one).
    pub async fn import_image(&self, original: Bytes) -> Result<FileRow> {
        let sniffed = image::sniff(&original[..original.len().min(SNIFF_BYTES)]);
        let Some(format) = sniffed.image else {
            return Err(Error::invalid(ErrorCode::NotAnImage, "not a PNG, JPEG, GIF or WebP image"));
        };
        if original.len() as u64 > self.config.max_image_bytes {
            return Err(Error::invalid(ErrorCode::ImageTooLarge, "the image is too large"));
        }
        let mut file = FileRow {
            id: FileId(self.ids.next::<i64>()),
            sha256: String::new(),
            size: 0,
            mime: sniffed.mime.to_owned(),
            width: None,
            height: None,
            frames: None,
            blurhash: None,
            thumbnail: None,
            access_key: access_key(),
        };
        if let Err(e) = self.store_image(&mut file, original, format, UploadPurpose::Attachment).await {
            self.discard(&file).await;
            return Err(e);
        }
        Ok(file)
    }

    /// Deletes the blobs of a file that no row took.
    pub async fn discard(&self, file: &FileRow) {
        let _ = self.blobs.delete(&file_key(file.id)).await;
        let _ = self.blobs.delete(&thumbnail_key(file.id)).await;
    }

    /// Processes an image and stores what it became under `file`'s keys, filling in `file`.
    async fn store_image(
        &self,
        file: &mut FileRow,
        original: Bytes,
        format: Format,
        purpose: UploadPurpose,
    ) -> Result<()> {
        let processed = self.process(original, format, purpose).await?;
        file.size = clamp(processed.bytes.len() as u64);
        file.sha256 = hex::encode(Sha256::digest(&processed.bytes));
        file.mime = processed.mime.to_owned();
        file.width = Some(i64::from(processed.width));
        file.height = Some(i64::from(processed.height));
        file.frames = (processed.frames > 1).then_some(i64::from(processed.frames));
        file.blurhash = processed.blurhash;
        self.blobs.put(&file_key(file.id), Bytes::from(processed.bytes)).await.map_err(blob_error)?;
        if let Some(thumbnail) = processed.thumbnail {
            file.thumbnail = Some(thumbnail.mime.to_owned());
            self.blobs.put(&thumbnail_key(file.id), Bytes::from(thumbnail.bytes)).await.map_err(blob_error)?;
        }
        Ok(())
    }

    /// Inspects, strips and scales an image on the blocking pool, at most `decode_concurrency`
    /// at once on this node.
    async fn process(&self, original: Bytes, format: Format, purpose: UploadPurpose) -> Result<Processed> {
        let limits = Limits {
            max_pixels: self.config.max_image_pixels,
            max_side: self.config.max_image_side,
            max_frames: self.config.max_image_frames,
            max_alloc: self.config.max_decode_bytes,
        };
        // Headers first, before waiting for a permit: a pixel flood is refused at once.
        let header = image::inspect(&original, format, &limits).map_err(image_error)?;
        let _permit = self.decodes.acquire().await.map_err(|_| Error::Unavailable("shutting down".into()))?;
        let (thumbnail_side, avatar_side) = (self.config.thumbnail_side, self.config.avatar_side);
        let limits = Arc::new(limits);
        tokio::task::spawn_blocking(move || -> std::result::Result<Processed, ImageError> {
            let cleaned = image::clean(&original, &header, &limits)?;
            drop(original);
            if purpose == UploadPurpose::Avatar {
                let avatar = image::avatar(&cleaned.bytes, &cleaned.header, &limits, avatar_side)?;
                return Ok(Processed {
                    mime: avatar.mime,
                    width: avatar.width,
                    height: avatar.height,
                    frames: 1,
                    blurhash: None,
                    thumbnail: None,
                    bytes: avatar.bytes,
                });
            }
            let preview = image::preview(&cleaned.bytes, &cleaned.header, &limits, thumbnail_side)?;
            let (width, height) = cleaned.header.upright_size();
            Ok(Processed {
                mime: cleaned.header.format.mime(),
                width,
                height,
                frames: cleaned.header.frames,
                blurhash: Some(preview.blurhash),
                thumbnail: preview.thumbnail,
                bytes: cleaned.bytes,
            })
        })
        .await
        .map_err(|e| Error::Internal(format!("image processing stopped: {e}")))?
        .map_err(image_error)
    }
}

fn image_error(e: ImageError) -> Error {
    match e {
        ImageError::TooLarge { .. } | ImageError::TooManyFrames(_) => {
            Error::invalid(ErrorCode::ImageTooLarge, e.to_string())
        }
        ImageError::Decode(ref detail) => {
            tracing::debug!(detail, "an uploaded image did not decode");
            Error::invalid(ErrorCode::InvalidImage, e.to_string())
        }
        ImageError::Malformed(_) | ImageError::Unsupported => Error::invalid(ErrorCode::InvalidImage, e.to_string()),
    }
}
