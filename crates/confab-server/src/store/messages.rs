//! Messages, with the per-conversation gap-free sequence and client-id idempotency.

use super::{Store, StoreError, composed};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub conversation_id: i64,
    pub seq: i64,
    pub sender_id: i64,
    pub body: String,
    pub client_id: Option<String>,
    pub reply_to: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub id: i64,
    pub conversation_id: i64,
    pub sender_id: i64,
    pub body: &'a str,
    pub client_id: Option<&'a str>,
    pub reply_to: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug)]
pub enum SendOutcome {
    /// Stored now, with the next `seq`.
    Created(MessageRow),
    /// The sender had already sent this `client_id` here: the first message, unchanged.
    Duplicate(MessageRow),
}

/// Which slice of history to read. `after` pages forward (oldest first); otherwise the newest
/// messages below `before` are read. Either way the rows come back in ascending `seq`.
#[derive(Debug, Clone, Copy)]
pub struct HistoryRange {
    pub before: Option<i64>,
    pub after: Option<i64>,
    /// Page size.
    pub limit: i64,
}

const MESSAGE_COLUMNS: &str = "id, conversation_id, seq, sender_id, body, client_id, reply_to, created_at";

impl Store {
    /// Stores a message with the conversation's next `seq`, in one transaction: the seq counter
    /// and the row commit together or not at all, so the sequence never has a gap.
    pub async fn insert_message(&self, m: &NewMessage<'_>) -> Result<SendOutcome, StoreError> {
        match self.try_insert_message(m).await {
            Ok(row) => Ok(SendOutcome::Created(row)),
            Err(e) if e.is_unique_violation() && m.client_id.is_some() => {
                let client_id = m.client_id.unwrap_or_default();
                match self.message_by_client_id(m.conversation_id, m.sender_id, client_id).await? {
                    Some(first) => Ok(SendOutcome::Duplicate(first)),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn try_insert_message(&self, m: &NewMessage<'_>) -> Result<MessageRow, StoreError> {
        let mut tx = self.pool.begin().await?;
        let (seq,): (i64,) = sqlx::query_as(
            "UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = $2 WHERE id = $1 RETURNING last_seq",
        )
        .bind(m.conversation_id)
        .bind(m.created_at)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO messages (id, conversation_id, seq, sender_id, body, client_id, reply_to, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(m.id)
        .bind(m.conversation_id)
        .bind(seq)
        .bind(m.sender_id)
        .bind(m.body)
        .bind(m.client_id)
        .bind(m.reply_to)
        .bind(m.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(MessageRow {
            id: m.id,
            conversation_id: m.conversation_id,
            seq,
            sender_id: m.sender_id,
            body: m.body.to_owned(),
            client_id: m.client_id.map(str::to_owned),
            reply_to: m.reply_to,
            created_at: m.created_at,
        })
    }

    pub async fn message_by_client_id(
        &self,
        conversation_id: i64,
        sender_id: i64,
        client_id: &str,
    ) -> Result<Option<MessageRow>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND sender_id = $2 AND client_id = $3"
        );
        Ok(sqlx::query_as(composed(sql))
            .bind(conversation_id)
            .bind(sender_id)
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn message_in(&self, conversation_id: i64, id: i64) -> Result<Option<MessageRow>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND id = $2");
        Ok(sqlx::query_as(composed(sql)).bind(conversation_id).bind(id).fetch_optional(&self.pool).await?)
    }

    /// A page of history, and whether more lies beyond it in the direction read.
    pub async fn history(
        &self,
        conversation_id: i64,
        range: HistoryRange,
    ) -> Result<(Vec<MessageRow>, bool), StoreError> {
        let lower = range.after.unwrap_or(0);
        let upper = range.before.unwrap_or(i64::MAX);
        let order = if range.after.is_some() && range.before.is_none() { "ASC" } else { "DESC" };
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND seq > $2 AND seq < $3 \
             ORDER BY seq {order} LIMIT $4"
        );
        let mut rows: Vec<MessageRow> = sqlx::query_as(composed(sql))
            .bind(conversation_id)
            .bind(lower)
            .bind(upper)
            .bind(range.limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let has_more = rows.len() as i64 > range.limit;
        rows.truncate(range.limit as usize); // drops the extra row, which lies beyond the page either way
        if order == "DESC" {
            rows.reverse();
        }
        Ok((rows, has_more))
    }
}
