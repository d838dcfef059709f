//! Sticker packs: managed by the server's sticker admins, picked by everyone, sent as messages
//! of kind `sticker` (`Messages::send` takes a `sticker_id`).
//!
//! A sticker's image is an ordinary attachment upload of the admin, checked here against the
//! sticker limits; the sticker then holds the file. Removing a sticker or deleting its pack
//! releases the file but keeps the row, so that the messages that showed it still say what it
//! was (a tombstone, `Sticker.url` absent).

use std::sync::Arc;

use confab_proto::rest::{AddStickerRequest, CreateStickerPackRequest, Sticker, StickerPack, StickerPackList};
use confab_proto::{ErrorCode, StickerId, StickerPackId};

use crate::auth::Principal;
use crate::clock::{datetime, now_ms};
use crate::config::StickersConfig;
use crate::error::{Error, Result};
use crate::ids::IdGenerator;
use crate::media::Media;
use crate::render::Renderer;
use crate::store::{NewSticker, StickerPackRow, StickerRefusal, StickerRow, Store};
use crate::users::Users;

/// A sticker's image: small enough to show many at once in a picker.
pub const MAX_STICKER_BYTES: i64 = 512 * 1024;
pub const MAX_STICKER_SIDE: i64 = 512;
const MAX_NAME_CHARS: usize = 64;
const MAX_BODY_CHARS: usize = 100;
const MAX_SHORTCODE_LEN: usize = 32;

pub struct Stickers {
    store: Store,
    ids: Arc<IdGenerator>,
    users: Arc<Users>,
    media: Arc<Media>,
    render: Renderer,
    config: StickersConfig,
}

impl Stickers {
    pub fn new(
        store: Store,
        ids: Arc<IdGenerator>,
        users: Arc<Users>,
        media: Arc<Media>,
        render: Renderer,
        config: StickersConfig,
    ) -> Stickers {
        Stickers { store, ids, users, media, render, config }
    }

    /// Every pack with its stickers, for anyone signed in.
    pub async fn packs(&self, principal: Principal) -> Result<StickerPackList> {
        let packs = self.store.sticker_packs().await?;
        let ids: Vec<StickerPackId> = packs.iter().map(|p| p.id).collect();
        let stickers = self.store.stickers_in(&ids).await?;
        let packs = packs.iter().map(|pack| self.pack(pack, &stickers)).collect();
        Ok(StickerPackList { packs, can_manage: self.manages(principal).await? })
    }

    pub async fn create_pack(&self, principal: Principal, req: CreateStickerPackRequest) -> Result<StickerPack> {
        self.require_admin(principal).await?;
        let name = req.name.trim();
        crate::users::shown_text::check("name", name)?;
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(Error::invalid(ErrorCode::InvalidSticker, "a pack's name has 1–64 characters"));
        }
        if self.store.sticker_packs().await?.len() >= self.config.max_packs as usize {
            return Err(Error::invalid(
                ErrorCode::InvalidSticker,
                format!("the server has its {} packs already; delete one first", self.config.max_packs),
            ));
        }
        let row = self.store.create_sticker_pack(self.ids.next(), name, principal.user_id, now_ms()).await?;
        Ok(self.pack(&row, &[]))
    }

    /// Deletes a pack. Messages that showed its stickers keep saying what they were.
    pub async fn delete_pack(&self, principal: Principal, id: StickerPackId) -> Result<()> {
        self.require_admin(principal).await?;
        if !self.store.delete_sticker_pack(id, now_ms()).await? {
            return Err(Error::NotFound("sticker pack"));
        }
        self.media.released();
        Ok(())
    }

    /// Adds a sticker at the end of a pack, its image taken from the caller's upload.
    pub async fn add(&self, principal: Principal, pack: StickerPackId, req: AddStickerRequest) -> Result<Sticker> {
        self.require_admin(principal).await?;
        check_shortcode(&req.shortcode)?;
        let body = req.body.trim();
        crate::users::shown_text::check("body", body)?;
        if body.is_empty() || body.chars().count() > MAX_BODY_CHARS {
            return Err(Error::invalid(
                ErrorCode::InvalidSticker,
                "a sticker's body (what it shows) has 1–100 characters",
            ));
        }
        let upload = self.media.attachable(principal.user_id, &[req.upload_id]).await?;
        let Some(file) = upload.first().map(|a| &a.file) else {
            return Err(Error::invalid(ErrorCode::InvalidAttachment, "the upload is not usable"));
        };
        check_image(file)?;
        let id: StickerId = self.ids.next();
        let new = NewSticker {
            id,
            pack_id: pack,
            shortcode: &req.shortcode,
            body,
            upload: req.upload_id,
            owner: principal.user_id,
            created_at: now_ms(),
        };
        match self.store.add_sticker(&new, i64::from(self.config.max_per_pack)).await? {
            Ok(()) => {}
            Err(StickerRefusal::NoPack) => return Err(Error::NotFound("sticker pack")),
            Err(StickerRefusal::ShortcodeTaken) => {
                return Err(Error::Conflict(
                    ErrorCode::InvalidSticker,
                    format!("the pack has a sticker :{}: already", req.shortcode),
                ));
            }
            Err(StickerRefusal::NoUpload) => {
                return Err(Error::invalid(
                    ErrorCode::InvalidAttachment,
                    "the upload is no longer a complete attachment upload of yours",
                ));
            }
            Err(StickerRefusal::Full) => {
                return Err(Error::invalid(
                    ErrorCode::InvalidSticker,
                    format!("a pack holds at most {} stickers", self.config.max_per_pack),
                ));
            }
        }
        let row = self.store.stickers_by_ids(&[id]).await?.pop().ok_or(Error::NotFound("sticker"))?;
        Ok(self.render.sticker(&row))
    }

    /// Takes a sticker out of its pack; messages that showed it keep saying what it was.
    pub async fn remove(&self, principal: Principal, pack: StickerPackId, id: StickerId) -> Result<()> {
        self.require_admin(principal).await?;
        if !self.store.remove_sticker(pack, id).await? {
            return Err(Error::NotFound("sticker"));
        }
        self.media.released();
        Ok(())
    }

    async fn manages(&self, principal: Principal) -> Result<bool> {
        if self.config.admins.is_empty() {
            return Ok(false);
        }
        let me = self.users.get(principal.user_id).await?;
        Ok(self.config.admins.iter().any(|admin| admin.eq_ignore_ascii_case(&me.username)))
    }

    async fn require_admin(&self, principal: Principal) -> Result<()> {
        if self.manages(principal).await? {
            Ok(())
        } else {
            Err(Error::Forbidden("only the server's sticker admins manage sticker packs".into()))
        }
    }

    fn pack(&self, row: &StickerPackRow, stickers: &[StickerRow]) -> StickerPack {
        StickerPack {
            id: row.id,
            name: row.name.clone(),
            stickers: stickers.iter().filter(|s| s.pack_id == row.id).map(|s| self.render.sticker(s)).collect(),
            created_at: datetime(row.created_at),
        }
    }
}

/// A sticker message's sticker: one that is in place in a pack.
pub async fn sendable(store: &Store, id: StickerId) -> Result<StickerRow> {
    match store.stickers_by_ids(&[id]).await?.pop() {
        Some(row) if row.file.is_some() => Ok(row),
        _ => Err(Error::invalid(ErrorCode::InvalidSticker, "no such sticker (or its pack was deleted)")),
    }
}

fn check_shortcode(shortcode: &str) -> Result<()> {
    let valid = !shortcode.is_empty()
        && shortcode.len() <= MAX_SHORTCODE_LEN
        && shortcode.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(ErrorCode::InvalidSticker, "a shortcode is 1–32 of a-z, 0-9, _ and -"))
    }
}

fn check_image(file: &crate::store::FileRow) -> Result<()> {
    let (Some(width), Some(height)) = (file.width, file.height) else {
        return Err(Error::invalid(ErrorCode::InvalidSticker, "a sticker is a PNG, JPEG, GIF or WebP image"));
    };
    if file.size > MAX_STICKER_BYTES {
        return Err(Error::invalid(ErrorCode::InvalidSticker, "a sticker's image has at most 512 KB"));
    }
    if width > MAX_STICKER_SIDE || height > MAX_STICKER_SIDE {
        return Err(Error::invalid(ErrorCode::InvalidSticker, "a sticker's image is at most 512 × 512 pixels"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcodes_are_lowercase_words() {
        for good in ["wave", "thumbs_up", "cat-2", "a"] {
            assert!(check_shortcode(good).is_ok(), "{good}");
        }
        for bad in ["", "Wave", "two words", ":wave:", "é", &"a".repeat(33)] {
            assert!(check_shortcode(bad).is_err(), "{bad}");
        }
    }
}
