//! Bot accounts (migration 0008): the user row (`users.bot = 1`) and what only a bot has — its
//! owner, whether others may add it, and the hash of its current token.

use confab_proto::UserId;

use super::column::Db;
use super::users::{NewUser, placeholders};
use super::{Store, StoreError, composed};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BotRow {
    #[sqlx(try_from = "Db<UserId>")]
    pub user_id: UserId,
    #[sqlx(try_from = "Db<UserId>")]
    pub owner_id: UserId,
    pub public: i64,
    /// The current token's id: the bot's sockets carry it as their session.
    pub token_id: i64,
    /// Hex SHA-256 of the current token; `None` once revoked.
    pub token_hash: Option<String>,
    pub created_at: i64,
}

const BOT_COLUMNS: &str = "user_id, owner_id, public, token_id, token_hash, created_at";

impl Store {
    /// Creates the bot's user and its bot row in one transaction; a taken username is a unique
    /// violation.
    pub async fn insert_bot(&self, user: &NewUser<'_>, bot: &BotRow) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO users (id, username, display_name, avatar_url, password_hash, external_id, created_at, bot) \
             VALUES ($1, $2, $3, NULL, NULL, NULL, $4, 1)",
        )
        .bind(Db(user.id))
        .bind(user.username)
        .bind(user.display_name)
        .bind(user.created_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO bots (user_id, owner_id, public, token_id, token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Db(bot.user_id))
        .bind(Db(bot.owner_id))
        .bind(bot.public)
        .bind(bot.token_id)
        .bind(bot.token_hash.as_deref())
        .bind(bot.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn bot(&self, id: UserId) -> Result<Option<BotRow>, StoreError> {
        let sql = format!("SELECT {BOT_COLUMNS} FROM bots WHERE user_id = $1");
        Ok(sqlx::query_as(composed(sql)).bind(Db(id)).fetch_optional(&self.pool).await?)
    }

    /// The bots among `ids`, in no particular order.
    pub async fn bots_by_ids(&self, ids: &[UserId]) -> Result<Vec<BotRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {BOT_COLUMNS} FROM bots WHERE user_id IN ({})", placeholders(1, ids.len()));
        let mut query = sqlx::query_as(composed(sql));
        for id in ids {
            query = query.bind(Db(*id));
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    /// The bots `owner` created, oldest first.
    pub async fn bots_of(&self, owner: UserId) -> Result<Vec<BotRow>, StoreError> {
        let sql = format!("SELECT {BOT_COLUMNS} FROM bots WHERE owner_id = $1 ORDER BY created_at, user_id");
        Ok(sqlx::query_as(composed(sql)).bind(Db(owner)).fetch_all(&self.pool).await?)
    }

    /// Replaces the bot's token (`hash` `None`: revokes it). Returns the token id it replaced.
    pub async fn set_bot_token(
        &self,
        id: UserId,
        token_id: i64,
        hash: Option<&str>,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let old: Option<(i64,)> = sqlx::query_as("SELECT token_id FROM bots WHERE user_id = $1")
            .bind(Db(id))
            .fetch_optional(&mut *tx)
            .await?;
        if old.is_some() {
            sqlx::query("UPDATE bots SET token_id = $2, token_hash = $3 WHERE user_id = $1")
                .bind(Db(id))
                .bind(token_id)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(old.map(|(t,)| t))
    }

    pub async fn set_bot_public(&self, id: UserId, public: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE bots SET public = $2 WHERE user_id = $1")
            .bind(Db(id))
            .bind(i64::from(public))
            .execute(&self.writes)
            .await?;
        Ok(())
    }
}
