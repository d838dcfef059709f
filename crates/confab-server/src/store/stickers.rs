//! Sticker packs and their stickers (migration 0006). A sticker holds a reference on its image
//! (`files.refs`) until it or its pack is removed; its row stays, without the file, so that the
//! messages that showed it can still say what it was.

use confab_proto::{StickerId, StickerPackId, UploadId, UserId};

use super::column::Db;
use super::media::{FileRow, joined_file, joined_file_columns, release_files};
use super::users::placeholders;
use super::{Store, StoreError, composed};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StickerPackRow {
    #[sqlx(try_from = "Db<StickerPackId>")]
    pub id: StickerPackId,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct StickerRow {
    pub id: StickerId,
    pub pack_id: StickerPackId,
    pub shortcode: String,
    pub body: String,
    /// `None` once the sticker or its pack was removed.
    pub file: Option<FileRow>,
}

/// A sticker to add to a pack, its image taken from a complete attachment upload.
pub struct NewSticker<'a> {
    pub id: StickerId,
    pub pack_id: StickerPackId,
    pub shortcode: &'a str,
    pub body: &'a str,
    pub upload: UploadId,
    pub owner: UserId,
    pub created_at: i64,
}

/// Why a sticker was not added.
#[derive(Debug, PartialEq, Eq)]
pub enum StickerRefusal {
    NoPack,
    ShortcodeTaken,
    /// The upload is not a complete, unused attachment upload of the owner.
    NoUpload,
    Full,
}

impl Store {
    pub async fn create_sticker_pack(
        &self,
        id: StickerPackId,
        name: &str,
        by: UserId,
        now: i64,
    ) -> Result<StickerPackRow, StoreError> {
        sqlx::query("INSERT INTO sticker_packs (id, name, created_by, created_at) VALUES ($1, $2, $3, $4)")
            .bind(Db(id))
            .bind(name)
            .bind(Db(by))
            .bind(now)
            .execute(&self.writes)
            .await?;
        Ok(StickerPackRow { id, name: name.to_owned(), created_at: now })
    }

    /// Packs that are not deleted, oldest first.
    pub async fn sticker_packs(&self) -> Result<Vec<StickerPackRow>, StoreError> {
        Ok(sqlx::query_as("SELECT id, name, created_at FROM sticker_packs WHERE deleted_at IS NULL ORDER BY id")
            .fetch_all(&self.pool)
            .await?)
    }

    /// The stickers in place in these packs, each pack's in order.
    pub async fn stickers_in(&self, packs: &[StickerPackId]) -> Result<Vec<StickerRow>, StoreError> {
        self.stickers_where("s.pack_id", packs.iter().map(|p| p.0).collect(), true).await
    }

    /// Stickers by id, removed ones included (without their file).
    pub async fn stickers_by_ids(&self, ids: &[StickerId]) -> Result<Vec<StickerRow>, StoreError> {
        self.stickers_where("s.id", ids.iter().map(|p| p.0).collect(), false).await
    }

    async fn stickers_where(
        &self,
        column: &'static str,
        values: Vec<i64>,
        in_place: bool,
    ) -> Result<Vec<StickerRow>, StoreError> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT s.id, s.pack_id, s.shortcode, s.body, {} FROM stickers s \
             LEFT JOIN files f ON f.id = s.file_id WHERE {column} IN ({}) {} ORDER BY s.pack_id, s.position",
            joined_file_columns(),
            placeholders(1, values.len()),
            if in_place { "AND s.file_id IS NOT NULL" } else { "" }
        );
        let mut query = sqlx::query(composed(sql));
        for value in values {
            query = query.bind(value);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                use sqlx::Row;
                let Db(id): Db<StickerId> = row.try_get("id")?;
                let Db(pack_id): Db<StickerPackId> = row.try_get("pack_id")?;
                Ok(StickerRow {
                    id,
                    pack_id,
                    shortcode: row.try_get("shortcode")?,
                    body: row.try_get("body")?,
                    file: joined_file(row)?,
                })
            })
            .collect()
    }

    /// Adds a sticker at the end of its pack, holding at most `max` stickers. The upload row
    /// goes and its reference on the file passes to the sticker.
    pub async fn add_sticker(&self, s: &NewSticker<'_>, max: i64) -> Result<Result<(), StickerRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        // Locks the pack's row, so that two adds cannot both take the last place.
        let pack: Option<(i64,)> =
            sqlx::query_as("UPDATE sticker_packs SET name = name WHERE id = $1 AND deleted_at IS NULL RETURNING id")
                .bind(Db(s.pack_id))
                .fetch_optional(&mut *tx)
                .await?;
        if pack.is_none() {
            return Ok(Err(StickerRefusal::NoPack));
        }
        let (count, taken): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COUNT(CASE WHEN shortcode = $2 THEN 1 END) FROM stickers \
             WHERE pack_id = $1 AND file_id IS NOT NULL",
        )
        .bind(Db(s.pack_id))
        .bind(s.shortcode)
        .fetch_one(&mut *tx)
        .await?;
        if taken > 0 {
            return Ok(Err(StickerRefusal::ShortcodeTaken));
        }
        if count >= max {
            return Ok(Err(StickerRefusal::Full));
        }
        let file: Option<(Option<super::FileId>,)> = sqlx::query_as(
            "DELETE FROM uploads WHERE id = $1 AND owner_id = $2 AND state = 'complete' AND purpose = 'attachment' \
             RETURNING file_id",
        )
        .bind(Db(s.upload))
        .bind(Db(s.owner))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((Some(file),)) = file else { return Ok(Err(StickerRefusal::NoUpload)) };
        let (position,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(position), 0) + 1 FROM stickers WHERE pack_id = $1")
                .bind(Db(s.pack_id))
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO stickers (id, pack_id, shortcode, body, file_id, position, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Db(s.id))
        .bind(Db(s.pack_id))
        .bind(s.shortcode)
        .bind(s.body)
        .bind(file)
        .bind(position)
        .bind(s.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Takes a sticker out of its pack; false when it was not in it.
    pub async fn remove_sticker(&self, pack: StickerPackId, id: StickerId) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let file: Option<(Option<super::FileId>,)> =
            sqlx::query_as("SELECT file_id FROM stickers WHERE id = $1 AND pack_id = $2 AND file_id IS NOT NULL")
                .bind(Db(id))
                .bind(Db(pack))
                .fetch_optional(&mut *tx)
                .await?;
        let Some((Some(file),)) = file else { return Ok(false) };
        sqlx::query("UPDATE stickers SET file_id = NULL WHERE id = $1").bind(Db(id)).execute(&mut *tx).await?;
        release_files(&mut tx, &[file]).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes a pack: its stickers release their files. False when there was no such pack.
    pub async fn delete_sticker_pack(&self, id: StickerPackId, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE sticker_packs SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL")
            .bind(Db(id))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let files: Vec<(Option<super::FileId>,)> =
            sqlx::query_as("SELECT file_id FROM stickers WHERE pack_id = $1 AND file_id IS NOT NULL")
                .bind(Db(id))
                .fetch_all(&mut *tx)
                .await?;
        let files: Vec<super::FileId> = files.into_iter().filter_map(|(f,)| f).collect();
        release_files(&mut tx, &files).await?;
        sqlx::query("UPDATE stickers SET file_id = NULL WHERE pack_id = $1").bind(Db(id)).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }
}
