//! Invitation state, kept beside the invitation's message; every transition bumps the message's
//! version so that live updates and `sync` carry it.

use confab_proto::rest::InvitationState;
use confab_proto::{ConversationId, MessageId, UserId};

use super::column::Db;
use super::messages::{MessageRow, NewMessage, append, next_version};
use super::users::placeholders;
use super::{Store, StoreError, composed};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvitationRow {
    #[sqlx(try_from = "Db<MessageId>")]
    pub message_id: MessageId,
    #[sqlx(try_from = "Db<ConversationId>")]
    pub conversation_id: ConversationId,
    #[sqlx(try_from = "Db<UserId>")]
    pub inviter_id: UserId,
    #[sqlx(try_from = "Db<Option<UserId>>")]
    pub invitee_id: Option<UserId>,
    pub activity: String,
    pub label: String,
    #[sqlx(try_from = "Db<InvitationState>")]
    pub state: InvitationState,
    #[sqlx(try_from = "Db<Option<UserId>>")]
    pub responded_by: Option<UserId>,
    pub reason: Option<String>,
    pub result: Option<String>,
    pub expires_at: i64,
}

/// A state change: from one of `from` to `to`, only while unexpired when `before_expiry`.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    pub from: &'a [InvitationState],
    pub to: InvitationState,
    pub responded_by: Option<UserId>,
    pub reason: Option<&'a str>,
    pub result: Option<&'a str>,
    pub now: i64,
    pub before_expiry: bool,
}

const COLUMNS: &str = "message_id, conversation_id, inviter_id, invitee_id, activity, label, state, responded_by, reason, result, expires_at";

impl Store {
    /// Posts the invitation message and its pending state in one transaction.
    pub async fn insert_invitation(
        &self,
        message: &NewMessage<'_>,
        invitee: Option<UserId>,
        activity: (&str, &str),
        expires_at: i64,
    ) -> Result<MessageRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = append(&mut tx, message).await?;
        sqlx::query(
            "INSERT INTO invitations (message_id, conversation_id, inviter_id, invitee_id, activity, label, state, expires_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(Db(message.id))
        .bind(Db(message.conversation_id))
        .bind(Db(message.sender_id))
        .bind(Db(invitee))
        .bind(activity.0)
        .bind(activity.1)
        .bind(Db(InvitationState::Pending))
        .bind(expires_at)
        .bind(message.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn invitation(&self, message_id: MessageId) -> Result<Option<InvitationRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM invitations WHERE message_id = $1");
        Ok(sqlx::query_as(composed(sql)).bind(Db(message_id)).fetch_optional(&self.pool).await?)
    }

    pub async fn invitations_of(&self, message_ids: &[MessageId]) -> Result<Vec<InvitationRow>, StoreError> {
        if message_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql =
            format!("SELECT {COLUMNS} FROM invitations WHERE message_id IN ({})", placeholders(1, message_ids.len()));
        let mut query = sqlx::query_as(composed(sql));
        for id in message_ids {
            query = query.bind(Db(*id));
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    /// Applies `t` if the invitation is in one of `t.from`; returns its message with the new version.
    pub async fn transition_invitation(
        &self,
        message_id: MessageId,
        t: &Transition<'_>,
    ) -> Result<Option<MessageRow>, StoreError> {
        if t.from.is_empty() {
            return Ok(None);
        }
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE invitations SET state = $2, responded_by = COALESCE($3, responded_by), reason = $4, \
             result = COALESCE($5, result), updated_at = $6 \
             WHERE message_id = $1 AND state IN ({}) AND ($7 = 0 OR expires_at > $6) RETURNING conversation_id",
            placeholders(8, t.from.len())
        );
        let mut query = sqlx::query_as::<_, (Db<ConversationId>,)>(composed(sql))
            .bind(Db(message_id))
            .bind(Db(t.to))
            .bind(Db(t.responded_by))
            .bind(t.reason)
            .bind(t.result)
            .bind(t.now)
            .bind(i64::from(t.before_expiry));
        for state in t.from {
            query = query.bind(Db(*state));
        }
        let changed = query.fetch_optional(&mut *tx).await?;
        let Some((Db(conversation_id),)) = changed else { return Ok(None) };
        let version = next_version(&mut tx, conversation_id).await?;
        let sql =
            format!("UPDATE messages SET version = $2 WHERE id = $1 RETURNING {}", super::messages::MESSAGE_COLUMNS);
        let row: MessageRow =
            sqlx::query_as(composed(sql)).bind(Db(message_id)).bind(version).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(row))
    }

    /// Pending invitations whose time is up.
    pub async fn due_invitations(&self, now: i64, limit: i64) -> Result<Vec<MessageId>, StoreError> {
        let rows: Vec<(Db<MessageId>,)> = sqlx::query_as(
            "SELECT message_id FROM invitations WHERE state = $3 AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .bind(Db(InvitationState::Pending))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(Db(id),)| id).collect())
    }
}
