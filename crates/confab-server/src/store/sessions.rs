//! Sessions (signed-in devices) and their rotating refresh tokens.

use confab_proto::{SessionId, UserId};

use super::column::Db;
use super::{Store, StoreError, composed};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    #[sqlx(try_from = "Db<SessionId>")]
    pub id: SessionId,
    #[sqlx(try_from = "Db<UserId>")]
    pub user_id: UserId,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

impl SessionRow {
    pub fn is_active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub id: SessionId,
    pub user_id: UserId,
    pub now: i64,
    pub expires_at: i64,
    pub user_agent: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub refresh_hash: &'a [u8],
}

/// What presenting a refresh token did.
#[derive(Debug)]
pub enum RefreshOutcome {
    /// The token was current: it is now used, and the new one is stored.
    Rotated(SessionRow),
    /// The token had been used before: the session is now revoked.
    Reused { session_id: SessionId, user_id: UserId },
    /// No such token, or its session is revoked or expired.
    Invalid,
}

const SESSION_COLUMNS: &str = "id, user_id, created_at, last_used_at, expires_at, revoked_at, user_agent, ip";

impl Store {
    pub async fn create_session(&self, s: &NewSession<'_>) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ip) \
             VALUES ($1, $2, $3, $3, $4, $5, $6)",
        )
        .bind(Db(s.id))
        .bind(Db(s.user_id))
        .bind(s.now)
        .bind(s.expires_at)
        .bind(s.user_agent)
        .bind(s.ip)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)")
            .bind(s.refresh_hash)
            .bind(Db(s.id))
            .bind(s.now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn session(&self, id: SessionId) -> Result<Option<SessionRow>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1");
        Ok(sqlx::query_as(composed(sql)).bind(Db(id)).fetch_optional(&self.pool).await?)
    }

    /// The user's sessions that are neither revoked nor expired, newest first.
    pub async fn active_sessions(&self, user_id: UserId, now: i64) -> Result<Vec<SessionRow>, StoreError> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions \
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC, id DESC"
        );
        Ok(sqlx::query_as(composed(sql)).bind(Db(user_id)).bind(now).fetch_all(&self.pool).await?)
    }

    /// Revokes one of the user's sessions and forgets its refresh tokens. False when the user has
    /// no such active session.
    pub async fn revoke_session(&self, user_id: UserId, session_id: SessionId, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE sessions SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL")
                .bind(Db(session_id))
                .bind(Db(user_id))
                .bind(now)
                .execute(&mut *tx)
                .await?;
        sqlx::query("DELETE FROM refresh_tokens WHERE session_id = $1").bind(Db(session_id)).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Exchanges the refresh token hashed as `old_hash` for `new_hash`, extending the session to
    /// `new_expires_at`. A token presented twice revokes its whole session: one of the two holders
    /// is a thief, and the server cannot tell which.
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &[u8],
        new_hash: &[u8],
        now: i64,
        new_expires_at: i64,
    ) -> Result<RefreshOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let claimed: Option<(Db<SessionId>,)> = sqlx::query_as(
            "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL RETURNING session_id",
        )
        .bind(old_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;

        let Some((Db(session_id),)) = claimed else {
            let earlier: Option<(Db<SessionId>, Db<UserId>)> = sqlx::query_as(
                "SELECT s.id, s.user_id FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id \
                 WHERE t.token_hash = $1",
            )
            .bind(old_hash)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((Db(session_id), Db(user_id))) = earlier else {
                return Ok(RefreshOutcome::Invalid);
            };
            sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(Db(session_id))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM refresh_tokens WHERE session_id = $1")
                .bind(Db(session_id))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(RefreshOutcome::Reused { session_id, user_id });
        };

        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1");
        let session: SessionRow = sqlx::query_as(composed(sql)).bind(Db(session_id)).fetch_one(&mut *tx).await?;
        if !session.is_active(now) {
            return Ok(RefreshOutcome::Invalid); // dropping `tx` rolls back
        }
        sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)")
            .bind(new_hash)
            .bind(Db(session_id))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sessions SET last_used_at = $2, expires_at = $3 WHERE id = $1")
            .bind(Db(session_id))
            .bind(now)
            .bind(new_expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(RefreshOutcome::Rotated(SessionRow { last_used_at: now, expires_at: new_expires_at, ..session }))
    }
}
