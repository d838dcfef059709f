//! Stickers and GIFs: the server's sticker packs (managed by its sticker admins) and GIF search
//! through the server's provider.

use confab_proto::media::Upload;
use confab_proto::rest::{
    AddStickerRequest, CreateStickerPackRequest, GifPage, GifProvider, GifQuery, Sticker, StickerPack, StickerPackList,
};
use confab_proto::{StickerId, StickerPackId};
use reqwest::Method;

use super::{Client, NO_BODY};
use crate::error::ClientError;

impl Client {
    /// `GET /api/v1/sticker-packs`: every pack with its stickers; send one with
    /// `SendMessageRequest::sticker_id`.
    pub async fn sticker_packs(&self) -> Result<StickerPackList, ClientError> {
        self.get("/api/v1/sticker-packs").await
    }

    /// `POST /api/v1/sticker-packs` (sticker admins).
    pub async fn create_sticker_pack(&self, name: &str) -> Result<StickerPack, ClientError> {
        let req = CreateStickerPackRequest { name: name.into() };
        self.call(Method::POST, "/api/v1/sticker-packs", Some(&req)).await
    }

    /// `DELETE /api/v1/sticker-packs/{pack}` (sticker admins).
    pub async fn delete_sticker_pack(&self, pack: StickerPackId) -> Result<(), ClientError> {
        self.call_no_content(Method::DELETE, &format!("/api/v1/sticker-packs/{pack}"), NO_BODY).await
    }

    /// `POST /api/v1/sticker-packs/{pack}/stickers`: the image is a finished upload of the caller's
    /// ([`Client::upload`]).
    pub async fn add_sticker(&self, pack: StickerPackId, req: &AddStickerRequest) -> Result<Sticker, ClientError> {
        self.call(Method::POST, &format!("/api/v1/sticker-packs/{pack}/stickers"), Some(req)).await
    }

    /// `DELETE /api/v1/sticker-packs/{pack}/stickers/{sticker}` (sticker admins).
    pub async fn remove_sticker(&self, pack: StickerPackId, sticker: StickerId) -> Result<(), ClientError> {
        self.call_no_content(Method::DELETE, &format!("/api/v1/sticker-packs/{pack}/stickers/{sticker}"), NO_BODY).await
    }

    /// `GET /api/v1/gifs/provider`: whether the server offers GIF search.
    pub async fn gif_provider(&self) -> Result<GifProvider, ClientError> {
        self.get("/api/v1/gifs/provider").await
    }

    /// `GET /api/v1/gifs`: a page of GIFs for `query.q` (featured ones when it is empty).
    pub async fn search_gifs(&self, query: &GifQuery) -> Result<GifPage, ClientError> {
        self.get_query("/api/v1/gifs", query).await
    }

    /// `POST /api/v1/gifs/{id}/upload`: the GIF as a finished upload of the caller's, to send in
    /// a message's `attachments`.
    pub async fn upload_gif(&self, id: &str) -> Result<Upload, ClientError> {
        // Provider ids are letters, digits, `_` and `-`; anything else is escaped, not a path.
        let id: String = id
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        self.call(Method::POST, &format!("/api/v1/gifs/{id}/upload"), NO_BODY).await
    }
}
