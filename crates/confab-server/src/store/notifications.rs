//! The notification feed and per-conversation notification levels.

use confab_proto::rest::{NotificationKind, NotificationLevel};
use confab_proto::{ConversationId, MessageId, UserId};

use super::column::Db;
use super::users::placeholders;
use super::{Store, StoreError, composed};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: i64,
    #[sqlx(try_from = "Db<UserId>")]
    pub user_id: UserId,
    #[sqlx(try_from = "Db<NotificationKind>")]
    pub kind: NotificationKind,
    #[sqlx(try_from = "Db<Option<ConversationId>>")]
    pub conversation_id: Option<ConversationId>,
    #[sqlx(try_from = "Db<Option<MessageId>>")]
    pub message_id: Option<MessageId>,
    #[sqlx(try_from = "Db<Option<UserId>>")]
    pub actor_id: Option<UserId>,
    pub excerpt: String,
    /// 0 or 1 (booleans are integers on SQLite and BOOLEAN on PostgreSQL; read as an integer).
    pub silent: i64,
    pub read_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewNotification<'a> {
    pub id: i64,
    pub user_id: UserId,
    pub kind: NotificationKind,
    pub conversation_id: Option<ConversationId>,
    pub message_id: Option<MessageId>,
    pub actor_id: Option<UserId>,
    pub excerpt: &'a str,
    pub silent: bool,
    pub created_at: i64,
}

const COLUMNS: &str = "id, user_id, kind, conversation_id, message_id, actor_id, excerpt, \
     CASE WHEN silent THEN 1 ELSE 0 END AS silent, read_at, created_at";

impl Store {
    pub async fn insert_notification(&self, n: &NewNotification<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO notifications (id, user_id, kind, conversation_id, message_id, actor_id, excerpt, silent, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(n.id)
        .bind(Db(n.user_id))
        .bind(Db(n.kind))
        .bind(Db(n.conversation_id))
        .bind(Db(n.message_id))
        .bind(Db(n.actor_id))
        .bind(n.excerpt)
        .bind(n.silent)
        .bind(n.created_at)
        .execute(&self.writes)
        .await?;
        Ok(())
    }

    /// The user's notifications with ids below `before`, newest first.
    pub async fn notifications_of(
        &self,
        user: UserId,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM notifications WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3");
        Ok(sqlx::query_as(composed(sql))
            .bind(Db(user))
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn unread_notifications(&self, user: UserId) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL")
            .bind(Db(user))
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    /// Marks the given notifications of `user` (all of them with `None`) read; returns the ids marked.
    pub async fn mark_notifications_read(
        &self,
        user: UserId,
        ids: Option<&[i64]>,
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let mut sql = "UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL".to_owned();
        if let Some(ids) = ids {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            sql.push_str(&format!(" AND id IN ({})", placeholders(3, ids.len())));
        }
        sql.push_str(" RETURNING id");
        let mut query = sqlx::query_as::<_, (i64,)>(composed(sql)).bind(Db(user)).bind(now);
        for id in ids.unwrap_or_default() {
            query = query.bind(*id);
        }
        Ok(query.fetch_all(&self.pool).await?.into_iter().map(|(id,)| id).collect())
    }

    pub async fn set_notify_level(
        &self,
        conversation_id: ConversationId,
        user: UserId,
        level: NotificationLevel,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE members SET notify_level = $3 WHERE conversation_id = $1 AND user_id = $2")
            .bind(Db(conversation_id))
            .bind(Db(user))
            .bind(Db(level))
            .execute(&self.writes)
            .await?;
        Ok(())
    }

    /// `(user, level)` of every member.
    pub async fn notify_levels(
        &self,
        conversation_id: ConversationId,
    ) -> Result<Vec<(UserId, NotificationLevel)>, StoreError> {
        let rows: Vec<(Db<UserId>, Db<NotificationLevel>)> =
            sqlx::query_as("SELECT user_id, notify_level FROM members WHERE conversation_id = $1")
                .bind(Db(conversation_id))
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(Db(user), Db(level))| (user, level)).collect())
    }

    /// The users among `users` who restricted `actor`.
    pub async fn restricting(&self, actor: UserId, users: &[UserId]) -> Result<Vec<UserId>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT user_id FROM restrictions WHERE restricted_id = $1 AND user_id IN ({})",
            placeholders(2, users.len())
        );
        let mut query = sqlx::query_as::<_, (Db<UserId>,)>(composed(sql)).bind(Db(actor));
        for id in users {
            query = query.bind(Db(*id));
        }
        Ok(query.fetch_all(&self.pool).await?.into_iter().map(|(Db(id),)| id).collect())
    }
}
