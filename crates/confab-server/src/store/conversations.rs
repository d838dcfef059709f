//! Conversations and their members.

use super::users::placeholders;
use super::{Store, StoreError, composed};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConversationRow {
    pub id: i64,
    pub kind: String,
    pub name: Option<String>,
    pub direct_key: Option<String>,
    pub last_seq: i64,
    pub created_by: i64,
    pub created_at: i64,
    pub last_activity_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub conversation_id: i64,
    pub user_id: i64,
    pub role: String,
    pub joined_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewConversation<'a> {
    pub id: i64,
    pub kind: &'a str,
    pub name: Option<&'a str>,
    /// Set for direct conversations; unique, so that a pair has one DM however many ask at once.
    pub direct_key: Option<&'a str>,
    pub created_by: i64,
    pub now: i64,
    /// `(user_id, role)`
    pub members: Vec<(i64, &'a str)>,
}

const CONVERSATION_COLUMNS: &str =
    "c.id, c.kind, c.name, c.direct_key, c.last_seq, c.created_by, c.created_at, c.last_activity_at";

impl Store {
    /// Inserts a conversation with its members in one transaction. A taken `direct_key` is a
    /// unique violation.
    pub async fn insert_conversation(&self, c: &NewConversation<'_>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO conversations (id, kind, name, direct_key, last_seq, created_by, created_at, last_activity_at) \
             VALUES ($1, $2, $3, $4, 0, $5, $6, $6)",
        )
        .bind(c.id)
        .bind(c.kind)
        .bind(c.name)
        .bind(c.direct_key)
        .bind(c.created_by)
        .bind(c.now)
        .execute(&mut *tx)
        .await?;
        for (user_id, role) in &c.members {
            sqlx::query("INSERT INTO members (conversation_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)")
                .bind(c.id)
                .bind(*user_id)
                .bind(*role)
                .bind(c.now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn conversation(&self, id: i64) -> Result<Option<ConversationRow>, StoreError> {
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = $1");
        Ok(sqlx::query_as(composed(sql)).bind(id).fetch_optional(&self.pool).await?)
    }

    pub async fn direct_conversation(&self, direct_key: &str) -> Result<Option<ConversationRow>, StoreError> {
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.direct_key = $1");
        Ok(sqlx::query_as(composed(sql)).bind(direct_key).fetch_optional(&self.pool).await?)
    }

    /// The conversations `user_id` belongs to, most recently active first; `before` pages on
    /// `(last_activity_at, id)`.
    pub async fn conversations_of(
        &self,
        user_id: i64,
        before: Option<(i64, i64)>,
        limit: i64,
    ) -> Result<Vec<ConversationRow>, StoreError> {
        let (activity, id) = before.unwrap_or((i64::MAX, i64::MAX));
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c JOIN members m ON m.conversation_id = c.id \
             WHERE m.user_id = $1 AND (c.last_activity_at < $2 OR (c.last_activity_at = $2 AND c.id < $3)) \
             ORDER BY c.last_activity_at DESC, c.id DESC LIMIT $4"
        );
        Ok(sqlx::query_as(composed(sql))
            .bind(user_id)
            .bind(activity)
            .bind(id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Members of the given conversations, ordered by conversation and join time.
    pub async fn members_of(&self, conversation_ids: &[i64]) -> Result<Vec<MemberRow>, StoreError> {
        if conversation_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT conversation_id, user_id, role, joined_at FROM members WHERE conversation_id IN ({}) \
             ORDER BY conversation_id, joined_at, user_id",
            placeholders(1, conversation_ids.len())
        );
        let mut query = sqlx::query_as(composed(sql));
        for id in conversation_ids {
            query = query.bind(*id);
        }
        Ok(query.fetch_all(&self.pool).await?)
    }
}
