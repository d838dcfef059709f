//! `/api/v1/uploads`: resumable uploads, spoken as tus 1.0.0 (core, creation, expiration and
//! termination), so that stock tus clients work. This file only reads and writes the protocol's
//! headers; `media/` decides everything.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use confab_proto::media::{TUS_EXTENSIONS, TUS_VERSION, Upload, UploadPurpose};
use confab_proto::{ErrorBody, ErrorCode, UploadId};

use super::extract::{Authenticated, Client, Path};
use crate::app::App;
use crate::error::Error;
use crate::media::UploadRequest;

const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");
const UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");
/// The media type of a `PATCH` body (tus core).
const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
/// The longest `Upload-Metadata` header taken.
const MAX_METADATA_BYTES: usize = 4096;

/// What the server speaks: the tus version, extensions and the largest file.
#[utoipa::path(options, path = "/api/v1/uploads", tag = "uploads",
    responses((status = 204, description = "`Tus-Version`, `Tus-Extension` and `Tus-Max-Size` headers")))]
pub async fn capabilities(State(app): State<Arc<App>>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    headers.insert("tus-extension", HeaderValue::from_static(TUS_EXTENSIONS));
    headers.insert("tus-max-size", HeaderValue::from(app.media.config().max_file_bytes));
    (StatusCode::NO_CONTENT, headers).into_response()
}

/// Create an upload (tus creation). Then `PATCH` its bytes; a message attaches it once complete.
#[utoipa::path(post, path = "/api/v1/uploads", tag = "uploads", security(("bearer" = [])),
    params(
        ("Tus-Resumable" = String, Header, description = "`1.0.0`", pattern = "^1\\.0\\.0$"),
        ("Upload-Length" = String, Header, description = "Size of the whole file in bytes (1 to `media.max_file_bytes`, which `OPTIONS` gives as `Tus-Max-Size`)", pattern = "^[1-9][0-9]{0,18}$"),
        ("Upload-Metadata" = Option<String>, Header, description = "tus metadata: comma-separated `key base64(value)` pairs; keys `filename` (or `name`), `sha256` (64 hex digits), `purpose` (`attachment` or `avatar`); others are ignored"),
    ),
    responses(
        (status = 201, description = "created: `Location` names it; `Upload-Expires` says until when", body = Upload),
        (status = 400, description = "invalid_parameter", body = ErrorBody),
        (status = 412, description = "unsupported_tus_version", body = ErrorBody),
        (status = 413, description = "file_too_large, quota_exceeded", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody),
    ))]
pub async fn create(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Client(client): Client,
    headers: HeaderMap,
) -> Result<Response, Error> {
    check_version(&headers)?;
    let length = number(&headers, &UPLOAD_LENGTH)?
        .ok_or_else(|| Error::invalid(ErrorCode::InvalidParameter, "Upload-Length is required"))?;
    let mut req = metadata(&headers)?;
    req.length = length;
    app.traffic.upload(me.user_id, client.ip).await?;
    let upload = app.media.create(me, req).await?;
    let mut response = (StatusCode::CREATED, described(&upload), axum::Json(&upload)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/uploads/{}", upload.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Where an upload stands (tus `HEAD`): `Upload-Offset` is where the next `PATCH` starts.
#[utoipa::path(head, path = "/api/v1/uploads/{id}", tag = "uploads", security(("bearer" = [])),
    params(("id" = String, Path), ("Tus-Resumable" = String, Header, description = "`1.0.0`", pattern = "^1\\.0\\.0$")),
    responses(
        (status = 200, description = "`Upload-Offset`, `Upload-Length`, `Upload-Expires`"),
        (status = 401, description = "missing_token, invalid_token, …"),
        (status = 404, description = "not_found: no upload of yours by that id"),
        (status = 412, description = "unsupported_tus_version"),
    ))]
pub async fn offset(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<UploadId>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    check_version(&headers)?;
    let upload = app.media.status(me, id).await?;
    Ok((StatusCode::OK, described(&upload)).into_response())
}

/// An upload as JSON: its state and, once complete, what the file turned out to be.
#[utoipa::path(get, path = "/api/v1/uploads/{id}", tag = "uploads", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Upload), (status = 404, body = ErrorBody)))]
pub async fn status(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<UploadId>,
) -> Result<Response, Error> {
    let upload = app.media.status(me, id).await?;
    Ok((described(&upload), axum::Json(&upload)).into_response())
}

/// Send bytes at `Upload-Offset` (tus core). What arrives before a connection drops is kept.
/// The request that brings the last byte answers once the file is checked: a refused file
/// (wrong SHA-256, an image too large or unreadable, an avatar that is no image) deletes the
/// upload and says why.
#[utoipa::path(patch, path = "/api/v1/uploads/{id}", tag = "uploads", security(("bearer" = [])),
    params(
        ("id" = String, Path),
        ("Tus-Resumable" = String, Header, description = "`1.0.0`", pattern = "^1\\.0\\.0$"),
        ("Upload-Offset" = String, Header, description = "Where these bytes start: the upload's current offset", pattern = "^[0-9]{1,19}$"),
    ),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses(
        (status = 204, description = "stored: `Upload-Offset` is the new offset"),
        (status = 400, description = "invalid_parameter, checksum_mismatch, invalid_image, not_an_image", body = ErrorBody),
        (status = 409, description = "offset_mismatch: `HEAD` the upload and resume from its offset", body = ErrorBody),
        (status = 412, description = "unsupported_tus_version", body = ErrorBody),
        (status = 413, description = "file_too_large (more bytes than remain), image_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type: the body must be application/offset+octet-stream", body = ErrorBody),
    ))]
pub async fn append(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<UploadId>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Error> {
    check_version(&headers)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.trim().eq_ignore_ascii_case(OFFSET_OCTET_STREAM) {
        return Err(Error::invalid(
            ErrorCode::UnsupportedMediaType,
            "the body must be sent as Content-Type: application/offset+octet-stream",
        ));
    }
    let offset = number(&headers, &UPLOAD_OFFSET)?
        .ok_or_else(|| Error::invalid(ErrorCode::InvalidParameter, "Upload-Offset is required"))?;
    let content_length = number(&headers, &header::CONTENT_LENGTH)?;
    let upload = app.media.append(me, id, offset, content_length, body.into_data_stream()).await?;
    Ok((StatusCode::NO_CONTENT, described(&upload)).into_response())
}

/// Delete an upload that no message uses (tus termination).
#[utoipa::path(delete, path = "/api/v1/uploads/{id}", tag = "uploads", security(("bearer" = [])),
    params(("id" = String, Path), ("Tus-Resumable" = String, Header, description = "`1.0.0`", pattern = "^1\\.0\\.0$")),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, body = ErrorBody),
        (status = 409, description = "invalid_attachment: a message uses it (delete the message)", body = ErrorBody),
        (status = 412, description = "unsupported_tus_version", body = ErrorBody),
    ))]
pub async fn terminate(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<UploadId>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    check_version(&headers)?;
    app.media.terminate(me, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Every answer under `/api/v1/uploads` carries `Tus-Resumable`, errors included: this router
/// layer is the one place that adds it.
pub async fn with_tus_version(uri: axum::http::Uri, mut response: Response) -> Response {
    if uri.path().starts_with("/api/v1/uploads") {
        response.headers_mut().insert(TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
    }
    response
}

/// The tus headers that describe an upload.
fn described(upload: &Upload) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(UPLOAD_OFFSET, HeaderValue::from(upload.offset));
    headers.insert(UPLOAD_LENGTH, HeaderValue::from(upload.length));
    if let Ok(expires) = HeaderValue::from_str(&http_date(upload.expires_at)) {
        headers.insert(UPLOAD_EXPIRES, expires);
    }
    headers
}

fn check_version(headers: &HeaderMap) -> Result<(), Error> {
    match headers.get(TUS_RESUMABLE).map(HeaderValue::as_bytes) {
        Some(b"1.0.0") => Ok(()),
        _ => {
            Err(Error::invalid(ErrorCode::UnsupportedTusVersion, "send Tus-Resumable: 1.0.0 (the version spoken here)"))
        }
    }
}

/// A header of decimal digits (the tus lengths and offsets), or absent.
fn number(headers: &HeaderMap, name: &HeaderName) -> Result<Option<u64>, Error> {
    let Some(value) = headers.get(name) else { return Ok(None) };
    let digits =
        value.to_str().ok().filter(|v| !v.is_empty() && v.len() <= 19 && v.bytes().all(|b| b.is_ascii_digit()));
    match digits.and_then(|d| d.parse().ok()) {
        Some(n) => Ok(Some(n)),
        None => Err(Error::invalid(ErrorCode::InvalidParameter, format!("{name} must be a whole number of bytes"))),
    }
}

/// `Upload-Metadata`: `key base64value` pairs separated by commas (a key alone has an empty value).
fn metadata(headers: &HeaderMap) -> Result<UploadRequest, Error> {
    let mut req = UploadRequest::default();
    let Some(raw) = headers.get(UPLOAD_METADATA) else { return Ok(req) };
    let invalid = |what: &str| Error::invalid(ErrorCode::InvalidParameter, format!("Upload-Metadata: {what}"));
    if raw.len() > MAX_METADATA_BYTES {
        return Err(invalid("too long"));
    }
    let raw = raw.to_str().map_err(|_| invalid("not ASCII"))?;
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, encoded) = pair.split_once(' ').unwrap_or((pair, ""));
        let value = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| invalid("a value is not base64"))?;
        let text = || String::from_utf8(value.clone()).map_err(|_| invalid("a value is not UTF-8"));
        match key {
            "filename" | "name" => req.name = Some(text()?),
            "sha256" => req.sha256 = Some(text()?),
            "purpose" => {
                req.purpose = match text()?.as_str() {
                    "attachment" => UploadPurpose::Attachment,
                    "avatar" => UploadPurpose::Avatar,
                    _ => return Err(invalid("purpose is attachment or avatar")),
                }
            }
            _ => {} // tus clients send their own keys (filetype, relativePath…); the server sniffs
        }
    }
    Ok(req)
}

/// An IMF-fixdate (RFC 9110), as `Upload-Expires` is written.
fn http_date(at: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    at.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: &'static str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HeaderName::from_static(name), HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn metadata_is_read_as_tus_writes_it() {
        // tus-js-client: `filename` and `filetype`, base64, comma-separated.
        let headers = with("upload-metadata", "filename cGhvdG8uanBn,filetype aW1hZ2UvanBlZw==,purpose YXZhdGFy,empty");
        let req = metadata(&headers).unwrap();
        assert_eq!(req.name.as_deref(), Some("photo.jpg"));
        assert_eq!(req.purpose, UploadPurpose::Avatar);
        assert!(metadata(&with("upload-metadata", "filename !!!")).is_err());
        assert!(metadata(&with("upload-metadata", "purpose b3RoZXI=")).is_err());
    }

    #[test]
    fn numbers_are_digits_only() {
        assert_eq!(number(&with("upload-length", "1024"), &UPLOAD_LENGTH).unwrap(), Some(1024));
        for bad in ["-1", "1e3", " 12", "0x10", "99999999999999999999"] {
            assert!(number(&with("upload-length", bad), &UPLOAD_LENGTH).is_err(), "{bad}");
        }
        assert_eq!(number(&HeaderMap::new(), &UPLOAD_LENGTH).unwrap(), None);
    }

    #[test]
    fn expiry_is_an_http_date() {
        let at = time::macros::datetime!(2026-12-02 10:24:24 UTC);
        assert_eq!(http_date(at), "Wed, 02 Dec 2026 10:24:24 GMT");
    }
}
