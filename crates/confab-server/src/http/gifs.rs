//! `/api/v1/gifs*`: GIF search through the server, so that the provider sees neither the users'
//! queries nor their addresses.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use confab_proto::ErrorBody;
use confab_proto::media::Upload;
use confab_proto::rest::{GifPage, GifProvider, GifQuery};

use super::extract::{Authenticated, Path, Query};
use crate::app::App;
use crate::error::Error;
use crate::gifs::Gifs;

fn gifs(app: &App) -> Result<&Gifs, Error> {
    app.gifs.as_ref().ok_or(Error::NotFound("GIF provider"))
}

/// Whether this server offers GIF search (clients hide their GIF picker when not).
#[utoipa::path(get, path = "/api/v1/gifs/provider", tag = "gifs", security(("bearer" = [])),
    responses((status = 200, body = GifProvider)))]
pub async fn provider(State(app): State<Arc<App>>, Authenticated(_me): Authenticated) -> axum::Json<GifProvider> {
    axum::Json(Gifs::provider(app.gifs.as_ref()))
}

/// Search the provider's GIFs (what is featured when `q` is empty).
#[utoipa::path(get, path = "/api/v1/gifs", tag = "gifs", security(("bearer" = [])),
    params(GifQuery),
    responses(
        (status = 200, body = GifPage),
        (status = 400, body = ErrorBody),
        (status = 404, description = "not_found: no GIF provider is configured", body = ErrorBody),
        (status = 503, description = "unavailable: the provider did not answer", body = ErrorBody),
    ))]
pub async fn search(
    State(app): State<Arc<App>>,
    Authenticated(_me): Authenticated,
    Query(query): Query<GifQuery>,
) -> Result<axum::Json<GifPage>, Error> {
    Ok(axum::Json(gifs(&app)?.search(query).await?))
}

/// The picture of a search result (its `url`): a capability URL signed by this server, fetched
/// from the provider by the server.
#[utoipa::path(get, path = "/api/v1/gifs/preview/{token}", tag = "gifs",
    params(("token" = String, Path)),
    responses(
        (status = 200, description = "the picture", content_type = "image/gif"),
        (status = 404, description = "not_found: a token this server did not sign", body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn preview(State(app): State<Arc<App>>, Path(token): Path<String>) -> Result<Response, Error> {
    let picture = gifs(&app)?.preview(&token).await?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(picture.content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'")),
    ];
    Ok((headers, picture.bytes).into_response())
}

/// Make a GIF (by its `id` in the results) a complete attachment upload of the caller, to send
/// in a message's `attachments` like any file.
#[utoipa::path(post, path = "/api/v1/gifs/{id}/upload", tag = "gifs", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 201, body = Upload),
        (status = 400, description = "quota_exceeded, image_too_large, …", body = ErrorBody),
        (status = 404, description = "not_found: no such GIF, or no provider", body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn upload(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<String>,
) -> Result<(StatusCode, axum::Json<Upload>), Error> {
    Ok((StatusCode::CREATED, axum::Json(gifs(&app)?.upload(me, &id).await?)))
}
