//! Serving files: `/api/v1/media/{id}/{key}` (attachments and their thumbnails) and
//! `/api/v1/avatars/{file}/{key}`, capability URLs that need no credentials; plus attachments as
//! JSON for members, and setting avatars from uploads.
//!
//! Every file is served as data, never as a page of this origin: `nosniff` (for the whole
//! router), `Content-Security-Policy: sandbox` (a document opened from here has an opaque origin
//! and runs no script), `inline` only for the images the server stripped itself, everything else
//! `attachment` as `application/octet-stream`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use confab_proto::media::{Attachment, SetAvatarRequest};
use confab_proto::rest::{Conversation, User};
use confab_proto::{ConversationId, ErrorBody, UploadId};
use futures_util::StreamExt;

use super::extract::{Authenticated, Json, Path};
use crate::app::App;
use crate::error::Error;
use crate::media::{BlobError, Served, content_disposition};
use crate::store::FileId;

/// For documents opened from a media URL: no script, no plugins, no subresources, no origin.
const SANDBOX: &str = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'";

/// An attachment with fresh URLs: for members of its conversation who may see its sender.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "uploads", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Attachment), (status = 404, description = "not_found: no such attachment, or not yours to see", body = ErrorBody)))]
pub async fn attachment(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<UploadId>,
) -> Result<axum::Json<Attachment>, Error> {
    Ok(axum::Json(app.media.attachment(me, id).await?))
}

/// The file of an attachment. `Range` (one range) and `If-None-Match` are honoured.
#[utoipa::path(get, path = "/api/v1/media/{id}/{key}", tag = "uploads",
    params(("id" = String, Path), ("key" = String, Path, description = "The capability in the attachment's `url`")),
    responses(
        (status = 200, description = "the file", content_type = "application/octet-stream"),
        (status = 206, description = "the requested range"),
        (status = 304, description = "not modified"),
        (status = 404, description = "not_found: no such attachment, or a wrong key", body = ErrorBody),
        (status = 416, description = "range not satisfiable"),
    ))]
pub async fn file(
    State(app): State<Arc<App>>,
    Path((id, key)): Path<(UploadId, String)>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let served = app.media.open_attachment(id, &key, false).await?;
    serve(&app, &served, &headers).await
}

/// The thumbnail of an image attachment (JPEG or PNG), when it has one.
#[utoipa::path(get, path = "/api/v1/media/{id}/{key}/thumbnail", tag = "uploads",
    params(("id" = String, Path), ("key" = String, Path)),
    responses(
        (status = 200, description = "the thumbnail", content_type = "image/jpeg"),
        (status = 206, description = "the requested range"),
        (status = 304, description = "not modified"),
        (status = 404, body = ErrorBody),
        (status = 416, description = "range not satisfiable"),
    ))]
pub async fn thumbnail(
    State(app): State<Arc<App>>,
    Path((id, key)): Path<(UploadId, String)>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let served = app.media.open_attachment(id, &key, true).await?;
    serve(&app, &served, &headers).await
}

/// An avatar made from an upload (a user's or a group's `avatar_url`).
#[utoipa::path(get, path = "/api/v1/avatars/{file}/{key}", tag = "uploads",
    params(("file" = String, Path), ("key" = String, Path)),
    responses(
        (status = 200, description = "the avatar", content_type = "image/jpeg"),
        (status = 206, description = "the requested range"),
        (status = 304, description = "not modified"),
        (status = 404, body = ErrorBody),
        (status = 416, description = "range not satisfiable"),
    ))]
pub async fn avatar(
    State(app): State<Arc<App>>,
    Path((file, key)): Path<(i64, String)>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let served = app.media.open_avatar(FileId(file), &key).await?;
    serve(&app, &served, &headers).await
}

/// Use a complete avatar upload (purpose `avatar`) as your avatar.
#[utoipa::path(put, path = "/api/v1/me/avatar", tag = "users", security(("bearer" = [])),
    request_body = SetAvatarRequest,
    responses(
        (status = 200, body = User),
        (status = 400, description = "invalid_attachment: not a complete avatar upload", body = ErrorBody),
        (status = 404, description = "not_found: no upload of yours by that id", body = ErrorBody),
    ))]
pub async fn set_my_avatar(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Json(req): Json<SetAvatarRequest>,
) -> Result<axum::Json<User>, Error> {
    Ok(axum::Json(app.media.set_my_avatar(me, Some(req)).await?))
}

/// Remove your avatar.
#[utoipa::path(delete, path = "/api/v1/me/avatar", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = User)))]
pub async fn remove_my_avatar(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
) -> Result<axum::Json<User>, Error> {
    Ok(axum::Json(app.media.set_my_avatar(me, None).await?))
}

/// Use a complete avatar upload of yours as a group's avatar (owners and admins).
#[utoipa::path(put, path = "/api/v1/conversations/{id}/avatar", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = SetAvatarRequest,
    responses(
        (status = 200, body = Conversation),
        (status = 400, description = "invalid_attachment", body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
pub async fn set_group_avatar(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<ConversationId>,
    Json(req): Json<SetAvatarRequest>,
) -> Result<axum::Json<Conversation>, Error> {
    Ok(axum::Json(app.media.set_group_avatar(me, id, Some(req)).await?))
}

/// Remove a group's avatar.
#[utoipa::path(delete, path = "/api/v1/conversations/{id}/avatar", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Conversation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_group_avatar(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<ConversationId>,
) -> Result<axum::Json<Conversation>, Error> {
    Ok(axum::Json(app.media.set_group_avatar(me, id, None).await?))
}

async fn serve(app: &App, served: &Served, request: &HeaderMap) -> Result<Response, Error> {
    let etag = format!("\"{}\"", served.etag);
    let mut headers = HeaderMap::new();
    let set = |headers: &mut HeaderMap, name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(&mut headers, header::ETAG, &etag);
    // What a capability URL names never changes: it may be cached, by this browser only.
    set(&mut headers, header::CACHE_CONTROL, "private, max-age=31536000, immutable");
    set(&mut headers, header::CONTENT_SECURITY_POLICY, SANDBOX);
    let same_site = app.config.media.public_origin.is_none();
    set(
        &mut headers,
        header::HeaderName::from_static("cross-origin-resource-policy"),
        if same_site { "same-origin" } else { "cross-origin" },
    );
    set(&mut headers, header::CONTENT_DISPOSITION, &content_disposition(served.inline, &served.name));
    set(&mut headers, header::ACCEPT_RANGES, "bytes");
    if request.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| matches_etag(v, &etag)) {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    let range = request.get(header::RANGE).and_then(|v| v.to_str().ok()).and_then(parse_range);
    let blob = match range {
        Some(range) => {
            // A suffix range needs the size first; `get` clamps the end to the object's size.
            let range = match range {
                Requested::From(start, end) => start..end.map_or(u64::MAX, |e| e.saturating_add(1)),
                Requested::Last(n) => {
                    let size = app.media.read(served, Some(0..1)).await.map_or(0, |b| b.size);
                    size.saturating_sub(n)..size
                }
            };
            app.media.read(served, Some(range)).await
        }
        None => app.media.read(served, None).await,
    };
    let blob = match blob {
        Ok(blob) => blob,
        Err(BlobError::InvalidRange { size, .. }) => {
            set(&mut headers, header::CONTENT_RANGE, &format!("bytes */{size}"));
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, headers).into_response());
        }
        Err(BlobError::NotFound(_)) => return Err(Error::NotFound("file")),
        Err(e) => return Err(Error::Internal(format!("blob store: {e}"))),
    };
    set(&mut headers, header::CONTENT_TYPE, served.content_type);
    set(&mut headers, header::CONTENT_LENGTH, &(blob.range.end - blob.range.start).to_string());
    let status = if range.is_some() {
        let last = blob.range.end.saturating_sub(1);
        set(&mut headers, header::CONTENT_RANGE, &format!("bytes {}-{last}/{}", blob.range.start, blob.size));
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let body = Body::from_stream(blob.body.map(|chunk| chunk.map_err(std::io::Error::other)));
    Ok((status, headers, body).into_response())
}

fn matches_etag(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == etag)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Requested {
    /// `bytes=a-b` or `bytes=a-` (inclusive end).
    From(u64, Option<u64>),
    /// `bytes=-n`: the last n bytes.
    Last(u64),
}

/// One byte range; anything else (several ranges, other units, nonsense) is ignored and the whole
/// file served, as RFC 9110 allows.
fn parse_range(value: &str) -> Option<Requested> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let digits =
        |s: &str| (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u64>().ok()).flatten();
    match (start.trim(), end.trim()) {
        ("", last) => digits(last).filter(|n| *n > 0).map(Requested::Last),
        (start, "") => digits(start).map(|s| Requested::From(s, None)),
        (start, end) => {
            let (s, e) = (digits(start)?, digits(end)?);
            (s <= e).then_some(Requested::From(s, Some(e)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-99"), Some(Requested::From(0, Some(99))));
        assert_eq!(parse_range("bytes=100-"), Some(Requested::From(100, None)));
        assert_eq!(parse_range("bytes=-500"), Some(Requested::Last(500)));
        for ignored in ["bytes=5-1", "bytes=0-1,5-9", "items=0-1", "bytes=-0", "bytes=x-", "bytes=-"] {
            assert_eq!(parse_range(ignored), None, "{ignored}");
        }
    }

    #[test]
    fn etags() {
        assert!(matches_etag("\"abc\"", "\"abc\""));
        assert!(matches_etag("\"x\", W/\"abc\"", "\"abc\""));
        assert!(matches_etag("*", "\"abc\""));
        assert!(!matches_etag("\"abd\"", "\"abc\""));
    }
}
