//! `/api/v1/sticker-packs*`: the server's sticker packs. Sending one is `sticker_id` on a message.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use confab_proto::rest::{AddStickerRequest, CreateStickerPackRequest, Sticker, StickerPack, StickerPackList};
use confab_proto::{ErrorBody, StickerId, StickerPackId};

use super::extract::{Authenticated, Json, Path};
use crate::app::App;
use crate::error::Error;

/// Every sticker pack of the server with its stickers, and whether the caller manages them.
#[utoipa::path(get, path = "/api/v1/sticker-packs", tag = "stickers", security(("bearer" = [])),
    responses((status = 200, body = StickerPackList)))]
pub async fn packs(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
) -> Result<axum::Json<StickerPackList>, Error> {
    Ok(axum::Json(app.stickers.packs(me).await?))
}

/// Create a pack (sticker admins only).
#[utoipa::path(post, path = "/api/v1/sticker-packs", tag = "stickers", security(("bearer" = [])),
    request_body = CreateStickerPackRequest,
    responses(
        (status = 201, body = StickerPack),
        (status = 400, description = "invalid_sticker: a bad name, or the server has all the packs it may", body = ErrorBody),
        (status = 403, description = "forbidden: not a sticker admin", body = ErrorBody),
    ))]
pub async fn create_pack(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Json(req): Json<CreateStickerPackRequest>,
) -> Result<(StatusCode, axum::Json<StickerPack>), Error> {
    Ok((StatusCode::CREATED, axum::Json(app.stickers.create_pack(me, req).await?)))
}

/// Delete a pack (sticker admins only). Messages that showed its stickers keep what they were,
/// without the picture.
#[utoipa::path(delete, path = "/api/v1/sticker-packs/{pack_id}", tag = "stickers", security(("bearer" = [])),
    params(("pack_id" = String, Path)),
    responses(
        (status = 204, description = "deleted"),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn delete_pack(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(pack): Path<StickerPackId>,
) -> Result<StatusCode, Error> {
    app.stickers.delete_pack(me, pack).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a sticker to a pack from a complete attachment upload of the caller (sticker admins only).
#[utoipa::path(post, path = "/api/v1/sticker-packs/{pack_id}/stickers", tag = "stickers", security(("bearer" = [])),
    params(("pack_id" = String, Path)),
    request_body = AddStickerRequest,
    responses(
        (status = 201, body = Sticker),
        (status = 400, description = "invalid_sticker (shortcode, body, image type or size, a full pack), invalid_attachment", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "invalid_sticker: the shortcode is taken in this pack", body = ErrorBody),
    ))]
pub async fn add_sticker(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(pack): Path<StickerPackId>,
    Json(req): Json<AddStickerRequest>,
) -> Result<(StatusCode, axum::Json<Sticker>), Error> {
    Ok((StatusCode::CREATED, axum::Json(app.stickers.add(me, pack, req).await?)))
}

/// Take a sticker out of its pack (sticker admins only).
#[utoipa::path(delete, path = "/api/v1/sticker-packs/{pack_id}/stickers/{sticker_id}", tag = "stickers", security(("bearer" = [])),
    params(("pack_id" = String, Path), ("sticker_id" = String, Path)),
    responses(
        (status = 204, description = "removed"),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn remove_sticker(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path((pack, sticker)): Path<(StickerPackId, StickerId)>,
) -> Result<StatusCode, Error> {
    app.stickers.remove(me, pack, sticker).await?;
    Ok(StatusCode::NO_CONTENT)
}
