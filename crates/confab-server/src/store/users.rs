//! Users: built-in accounts and users provisioned from the host app's tokens.

use confab_proto::UserId;
use confab_proto::rest::ChosenStatus;

use super::column::Db;
use super::{Store, StoreError, composed};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    #[sqlx(try_from = "Db<UserId>")]
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
    pub password_hash: Option<String>,
    pub external_id: Option<String>,
    pub bio: Option<String>,
    /// Chosen presence status.
    #[sqlx(try_from = "Db<ChosenStatus>")]
    pub status: ChosenStatus,
    pub status_text: Option<String>,
    pub last_seen_at: Option<i64>,
    pub created_at: i64,
    /// 1 for a bot account (`bots` holds the rest).
    pub bot: i64,
}

impl UserRow {
    pub fn is_bot(&self) -> bool {
        self.bot != 0
    }
}

#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub id: UserId,
    pub username: &'a str,
    pub display_name: &'a str,
    pub avatar_url: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub created_at: i64,
}

pub(super) const USER_COLUMNS: &str = "id, username, display_name, avatar_url, password_hash, external_id, bio, status, status_text, last_seen_at, created_at, bot";

impl Store {
    /// Inserts a user; a taken username or external id is a unique violation.
    pub async fn insert_user(&self, user: &NewUser<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, username, display_name, avatar_url, password_hash, external_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Db(user.id))
        .bind(user.username)
        .bind(user.display_name)
        .bind(user.avatar_url)
        .bind(user.password_hash)
        .bind(user.external_id)
        .bind(user.created_at)
        .execute(&self.writes)
        .await?;
        Ok(())
    }

    pub async fn user_by_id(&self, id: UserId) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        Ok(sqlx::query_as(composed(sql)).bind(Db(id)).fetch_optional(&self.pool).await?)
    }

    /// `username` must already be lowercased.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        Ok(sqlx::query_as(composed(sql)).bind(username).fetch_optional(&self.pool).await?)
    }

    pub async fn user_by_external_id(&self, external_id: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE external_id = $1");
        Ok(sqlx::query_as(composed(sql)).bind(external_id).fetch_optional(&self.pool).await?)
    }

    /// The users among `ids` that exist, in no particular order.
    pub async fn users_by_ids(&self, ids: &[UserId]) -> Result<Vec<UserRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id IN ({})", placeholders(1, ids.len()));
        let mut query = sqlx::query_as(composed(sql));
        for id in ids {
            query = query.bind(Db(*id));
        }
        Ok(query.fetch_all(&self.pool).await?)
    }
}

/// `$first, $first+1, …` for an `IN (…)` list: sqlx's query builder emits `?`, which PostgreSQL
/// does not accept through the `Any` driver. Only numbers go into the text; values are bound.
pub(super) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered() {
        assert_eq!(super::placeholders(2, 3), "$2, $3, $4");
    }
}
