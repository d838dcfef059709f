//! The timeline: messages and group events with the per-conversation gap-free `seq`, the
//! `version` every change bumps, edits, tombstones, reactions and pins.

use confab_proto::rest::MessageKind;
use confab_proto::{ConversationId, MessageId, StickerId, UploadId, UserId};
use sqlx::{Any, Transaction};
use tokio::sync::oneshot;

use super::column::Db;
use super::users::placeholders;
use super::{Store, StoreError, composed};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    #[sqlx(try_from = "Db<MessageId>")]
    pub id: MessageId,
    #[sqlx(try_from = "Db<ConversationId>")]
    pub conversation_id: ConversationId,
    pub seq: i64,
    #[sqlx(try_from = "Db<UserId>")]
    pub sender_id: UserId,
    #[sqlx(try_from = "Db<MessageKind>")]
    pub kind: MessageKind,
    pub body: String,
    pub client_id: Option<String>,
    #[sqlx(try_from = "Db<Option<MessageId>>")]
    pub reply_to: Option<MessageId>,
    /// JSON array of user ids.
    pub mentions: Option<String>,
    /// Tone indicator codes, space-separated.
    pub tones: Option<String>,
    #[sqlx(try_from = "Db<Option<StickerId>>")]
    pub sticker_id: Option<StickerId>,
    /// When the author removed the link previews (they are not fetched again).
    pub previews_removed: Option<i64>,
    /// JSON of the group event, for `kind = 'system'`.
    pub system: Option<String>,
    pub version: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
    pub pinned_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub sender_id: UserId,
    pub kind: MessageKind,
    pub body: &'a str,
    pub client_id: Option<&'a str>,
    pub reply_to: Option<MessageId>,
    pub mentions: Option<&'a str>,
    pub tones: Option<&'a str>,
    pub sticker_id: Option<StickerId>,
    pub system: Option<&'a str>,
    pub created_at: i64,
}

/// The new text of an edited message: its body and what was worked out from it.
#[derive(Debug, Clone, Copy)]
pub struct EditedText<'a> {
    pub body: &'a str,
    /// JSON array of user ids.
    pub mentions: Option<&'a str>,
    /// Tone codes, space-separated.
    pub tones: Option<&'a str>,
}

#[derive(Debug)]
pub enum SendOutcome {
    /// Stored now, with the next `seq`.
    Created(MessageRow),
    /// The sender had already sent this `client_id` here: the first message, unchanged.
    Duplicate(MessageRow),
}

/// Whether a change took effect (adding a reaction twice changes nothing the second time).
#[derive(Debug)]
pub enum ChangeOutcome {
    Changed(MessageRow),
    Unchanged(MessageRow),
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

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReactionRow {
    #[sqlx(try_from = "Db<MessageId>")]
    pub message_id: MessageId,
    #[sqlx(try_from = "Db<UserId>")]
    pub user_id: UserId,
    pub emoji: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EditRow {
    pub previous_body: String,
    pub edited_at: i64,
}

/// An audit row written in the same transaction as the change it records.
#[derive(Debug, Clone)]
pub struct NewAudit<'a> {
    pub id: i64,
    pub conversation_id: ConversationId,
    pub actor_id: UserId,
    pub action: &'a str,
    pub detail: Option<&'a str>,
    pub created_at: i64,
}

pub(super) const MESSAGE_COLUMNS: &str = "id, conversation_id, seq, sender_id, kind, body, client_id, reply_to, \
     mentions, tones, sticker_id, previews_removed, system, version, edited_at, deleted_at, pinned_at, created_at";

/// Appends an entry inside `tx`: the conversation's next `seq` and `version`, and the row. The
/// counter update takes the conversation's row lock, so concurrent appends commit in seq order.
pub(super) async fn append(tx: &mut Transaction<'static, Any>, m: &NewMessage<'_>) -> Result<MessageRow, StoreError> {
    let (seq, version): (i64, i64) = sqlx::query_as(
        "UPDATE conversations SET last_seq = last_seq + 1, version = version + 1, last_activity_at = $2 \
         WHERE id = $1 RETURNING last_seq, version",
    )
    .bind(Db(m.conversation_id))
    .bind(m.created_at)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO messages (id, conversation_id, seq, sender_id, kind, body, client_id, reply_to, mentions, \
         tones, sticker_id, system, version, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(Db(m.id))
    .bind(Db(m.conversation_id))
    .bind(seq)
    .bind(Db(m.sender_id))
    .bind(Db(m.kind))
    .bind(m.body)
    .bind(m.client_id)
    .bind(Db(m.reply_to))
    .bind(m.mentions)
    .bind(m.tones)
    .bind(Db(m.sticker_id))
    .bind(m.system)
    .bind(version)
    .bind(m.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(MessageRow::stored(m, seq, version))
}

impl MessageRow {
    /// The row `m` becomes once stored with `seq` and `version`: never edited, deleted or pinned.
    pub(super) fn stored(m: &NewMessage<'_>, seq: i64, version: i64) -> MessageRow {
        MessageRow {
            id: m.id,
            conversation_id: m.conversation_id,
            seq,
            sender_id: m.sender_id,
            kind: m.kind,
            body: m.body.to_owned(),
            client_id: m.client_id.map(str::to_owned),
            reply_to: m.reply_to,
            mentions: m.mentions.map(str::to_owned),
            tones: m.tones.map(str::to_owned),
            sticker_id: m.sticker_id,
            previews_removed: None,
            system: m.system.map(str::to_owned),
            version,
            edited_at: None,
            deleted_at: None,
            pinned_at: None,
            created_at: m.created_at,
        }
    }
}

/// The conversation's next version, for a change to an existing entry.
pub(super) async fn next_version(
    tx: &mut Transaction<'static, Any>,
    conversation_id: ConversationId,
) -> Result<i64, StoreError> {
    let (version,): (i64,) =
        sqlx::query_as("UPDATE conversations SET version = version + 1 WHERE id = $1 RETURNING version")
            .bind(Db(conversation_id))
            .fetch_one(&mut **tx)
            .await?;
    Ok(version)
}

pub(super) async fn write_audit(tx: &mut Transaction<'static, Any>, a: &NewAudit<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (id, conversation_id, actor_id, action, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(a.id)
    .bind(Db(a.conversation_id))
    .bind(Db(a.actor_id))
    .bind(a.action)
    .bind(a.detail)
    .bind(a.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn row_in(
    tx: &mut Transaction<'static, Any>,
    conversation_id: ConversationId,
    id: MessageId,
) -> Result<Option<MessageRow>, StoreError> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND id = $2");
    Ok(sqlx::query_as(composed(sql)).bind(Db(conversation_id)).bind(Db(id)).fetch_optional(&mut **tx).await?)
}

/// A message waiting for its commit (or, on a store without a writer, already committed).
pub struct QueuedMessage(Queued);

enum Queued {
    Waiting(oneshot::Receiver<Result<SendOutcome, StoreError>>),
    Done(Box<Result<SendOutcome, StoreError>>),
}

impl QueuedMessage {
    pub async fn committed(self) -> Result<SendOutcome, StoreError> {
        match self.0 {
            Queued::Waiting(outcome) => outcome.await.map_err(|_| StoreError::WriterStopped)?,
            Queued::Done(outcome) => *outcome,
        }
    }
}

impl Store {
    /// Stores a message with the conversation's next `seq`. The counters and the row commit
    /// together or not at all, so the sequence never has a gap; concurrent sends share one
    /// transaction (group commit, `writer.rs`).
    pub async fn insert_message(&self, m: &NewMessage<'_>) -> Result<SendOutcome, StoreError> {
        self.queue_message(m).await?.committed().await
    }

    /// Queues a message for the group commit and returns once it is queued: messages queued
    /// one after another commit in that order, so their seqs follow it. Await
    /// [`QueuedMessage::committed`] for the outcome.
    pub async fn queue_message(&self, m: &NewMessage<'_>) -> Result<QueuedMessage, StoreError> {
        Ok(match &self.writer {
            Some(writer) => QueuedMessage(Queued::Waiting(writer.queue(m).await?)),
            None => QueuedMessage(Queued::Done(Box::new(self.insert_one(m).await))),
        })
    }

    /// Stores one message in its own transaction.
    pub(super) async fn insert_one(&self, m: &NewMessage<'_>) -> Result<SendOutcome, StoreError> {
        let attempt = async {
            let mut tx = self.begin_write().await?;
            let row = append(&mut tx, m).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(row)
        };
        match attempt.await {
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

    /// Replaces the body of a live text message by `editor`, keeping the previous body.
    /// `None` when there is no such message of theirs.
    pub async fn edit_message(
        &self,
        conversation_id: ConversationId,
        id: MessageId,
        editor: UserId,
        text: &EditedText<'_>,
        now: i64,
    ) -> Result<Option<MessageRow>, StoreError> {
        let EditedText { body, mentions, tones } = *text;
        let mut tx = self.begin_write().await?;
        let Some(old) = row_in(&mut tx, conversation_id, id).await? else { return Ok(None) };
        if old.sender_id != editor || old.kind != MessageKind::Text || old.deleted_at.is_some() {
            return Ok(None);
        }
        let version = next_version(&mut tx, conversation_id).await?;
        sqlx::query(
            "INSERT INTO message_edits (message_id, previous_body, edited_by, edited_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(Db(id))
        .bind(&old.body)
        .bind(Db(editor))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE messages SET body = $2, mentions = $3, tones = $4, edited_at = $5, version = $6 WHERE id = $1",
        )
        .bind(Db(id))
        .bind(body)
        .bind(mentions)
        .bind(tones)
        .bind(now)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let (mentions, tones) = (mentions.map(str::to_owned), tones.map(str::to_owned));
        Ok(Some(MessageRow { body: body.to_owned(), mentions, tones, edited_at: Some(now), version, ..old }))
    }

    /// Turns a text message into a tombstone: body, mentions, reactions, pin and edit history go.
    /// `None` when there is no such live message.
    pub async fn delete_message(
        &self,
        conversation_id: ConversationId,
        id: MessageId,
        by: UserId,
        now: i64,
    ) -> Result<Option<MessageRow>, StoreError> {
        let mut tx = self.begin_write().await?;
        let Some(old) = row_in(&mut tx, conversation_id, id).await? else { return Ok(None) };
        if !matches!(old.kind, MessageKind::Text | MessageKind::Sticker) || old.deleted_at.is_some() {
            return Ok(None);
        }
        let version = next_version(&mut tx, conversation_id).await?;
        sqlx::query(
            "UPDATE messages SET body = '', mentions = NULL, tones = NULL, sticker_id = NULL, deleted_at = $2, \
             deleted_by = $3, pinned_at = NULL, pinned_by = NULL, version = $4 WHERE id = $1",
        )
        .bind(Db(id))
        .bind(now)
        .bind(Db(by))
        .bind(version)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM reactions WHERE message_id = $1").bind(Db(id)).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM message_edits WHERE message_id = $1").bind(Db(id)).execute(&mut *tx).await?;
        super::media::drop_attachments(&mut tx, "message_id", id.0).await?;
        super::media::drop_previews(&mut tx, "message_id", id.0).await?;
        tx.commit().await?;
        let tombstone = MessageRow {
            body: String::new(),
            mentions: None,
            tones: None,
            sticker_id: None,
            deleted_at: Some(now),
            pinned_at: None,
            version,
            ..old
        };
        Ok(Some(tombstone))
    }

    /// Adds or removes `user`'s `emoji` on a live message. `None` when there is no such message.
    pub async fn set_reaction(
        &self,
        conversation_id: ConversationId,
        id: MessageId,
        user: UserId,
        emoji: &str,
        present: bool,
        now: i64,
    ) -> Result<Option<ChangeOutcome>, StoreError> {
        let mut tx = self.begin_write().await?;
        let Some(row) = row_in(&mut tx, conversation_id, id).await? else { return Ok(None) };
        if row.deleted_at.is_some() {
            return Ok(None);
        }
        let changed = if present {
            sqlx::query(
                "INSERT INTO reactions (message_id, user_id, emoji, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (message_id, user_id, emoji) DO NOTHING",
            )
            .bind(Db(id))
            .bind(Db(user))
            .bind(emoji)
            .bind(now)
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query("DELETE FROM reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3")
                .bind(Db(id))
                .bind(Db(user))
                .bind(emoji)
                .execute(&mut *tx)
                .await?
        };
        if changed.rows_affected() == 0 {
            return Ok(Some(ChangeOutcome::Unchanged(row)));
        }
        let version = next_version(&mut tx, conversation_id).await?;
        sqlx::query("UPDATE messages SET version = $2 WHERE id = $1")
            .bind(Db(id))
            .bind(version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(ChangeOutcome::Changed(MessageRow { version, ..row })))
    }

    /// Distinct emojis on a message, to cap their number.
    pub async fn distinct_reactions(&self, message_id: MessageId) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(DISTINCT emoji) FROM reactions WHERE message_id = $1")
            .bind(Db(message_id))
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    /// Pins or unpins a live text message and records it in the timeline as `system`.
    /// `None` when the message is missing, deleted, or already in that state.
    pub async fn set_pinned(
        &self,
        conversation_id: ConversationId,
        id: MessageId,
        by: UserId,
        pinned: bool,
        system: &NewMessage<'_>,
        audit: &NewAudit<'_>,
    ) -> Result<Option<(MessageRow, MessageRow)>, StoreError> {
        let mut tx = self.begin_write().await?;
        let Some(row) = row_in(&mut tx, conversation_id, id).await? else { return Ok(None) };
        if row.kind != MessageKind::Text || row.deleted_at.is_some() || row.pinned_at.is_some() == pinned {
            return Ok(None);
        }
        let version = next_version(&mut tx, conversation_id).await?;
        let pinned_at = pinned.then_some(system.created_at);
        sqlx::query("UPDATE messages SET pinned_at = $2, pinned_by = $3, version = $4 WHERE id = $1")
            .bind(Db(id))
            .bind(pinned_at)
            .bind(Db(pinned.then_some(by)))
            .bind(version)
            .execute(&mut *tx)
            .await?;
        let entry = append(&mut tx, system).await?;
        write_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some((MessageRow { pinned_at, version, ..row }, entry)))
    }

    pub async fn pinned_messages(&self, conversation_id: ConversationId) -> Result<Vec<MessageRow>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND pinned_at IS NOT NULL \
             ORDER BY pinned_at DESC, id DESC LIMIT 100"
        );
        Ok(sqlx::query_as(composed(sql)).bind(Db(conversation_id)).fetch_all(&self.pool).await?)
    }

    pub async fn message_by_client_id(
        &self,
        conversation_id: ConversationId,
        sender_id: UserId,
        client_id: &str,
    ) -> Result<Option<MessageRow>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND sender_id = $2 AND client_id = $3"
        );
        Ok(sqlx::query_as(composed(sql))
            .bind(Db(conversation_id))
            .bind(Db(sender_id))
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn message_in(
        &self,
        conversation_id: ConversationId,
        id: MessageId,
    ) -> Result<Option<MessageRow>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND id = $2");
        Ok(sqlx::query_as(composed(sql)).bind(Db(conversation_id)).bind(Db(id)).fetch_optional(&self.pool).await?)
    }

    pub async fn messages_by_ids(&self, ids: &[MessageId]) -> Result<Vec<MessageRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id IN ({})", placeholders(1, ids.len()));
        let mut query = sqlx::query_as(composed(sql));
        for id in ids {
            query = query.bind(Db(*id));
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    /// The newest entry of each conversation.
    pub async fn last_messages(&self, conversation_ids: &[ConversationId]) -> Result<Vec<MessageRow>, StoreError> {
        if conversation_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.conversation_id IN ({}) \
             AND m.seq = (SELECT c.last_seq FROM conversations c WHERE c.id = m.conversation_id)",
            placeholders(1, conversation_ids.len())
        );
        let mut query = sqlx::query_as(composed(sql));
        for id in conversation_ids {
            query = query.bind(Db(*id));
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    pub async fn reactions_of(&self, message_ids: &[MessageId]) -> Result<Vec<ReactionRow>, StoreError> {
        if message_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT message_id, user_id, emoji FROM reactions WHERE message_id IN ({}) ORDER BY created_at, user_id",
            placeholders(1, message_ids.len())
        );
        let mut query = sqlx::query_as(composed(sql));
        for id in message_ids {
            query = query.bind(Db(*id));
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    pub async fn edits_of(&self, message_id: MessageId) -> Result<Vec<EditRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT previous_body, edited_at FROM message_edits WHERE message_id = $1 ORDER BY edited_at, previous_body",
        )
        .bind(Db(message_id))
        .fetch_all(&self.pool)
        .await?)
    }

    /// A page of history, and whether more lies beyond it in the direction read.
    pub async fn history(
        &self,
        conversation_id: ConversationId,
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
            .bind(Db(conversation_id))
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

    /// Entries created or changed after `version`, in version order, and whether more remain.
    pub async fn changed_since(
        &self,
        conversation_id: ConversationId,
        version: i64,
        limit: i64,
    ) -> Result<(Vec<MessageRow>, bool), StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND version > $2 \
             ORDER BY version LIMIT $3"
        );
        let mut rows: Vec<MessageRow> = sqlx::query_as(composed(sql))
            .bind(Db(conversation_id))
            .bind(version)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        Ok((rows, has_more))
    }

    /// Unread messages of `user` per conversation: from others, after their read position,
    /// neither deleted nor group events.
    pub async fn unread_counts(
        &self,
        user: UserId,
        conversation_ids: &[ConversationId],
    ) -> Result<Vec<(ConversationId, i64)>, StoreError> {
        if conversation_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT m.conversation_id, COUNT(*) FROM messages m \
             JOIN members mb ON mb.conversation_id = m.conversation_id AND mb.user_id = $1 \
             WHERE m.conversation_id IN ({}) AND m.seq > mb.read_seq AND m.sender_id <> $1 \
             AND m.kind = $2 AND m.deleted_at IS NULL GROUP BY m.conversation_id",
            placeholders(3, conversation_ids.len())
        );
        let mut query =
            sqlx::query_as::<_, (Db<ConversationId>, i64)>(composed(sql)).bind(Db(user)).bind(Db(MessageKind::Text));
        for id in conversation_ids {
            query = query.bind(Db(*id));
        }
        Ok(query.fetch_all(&self.pool).await?.into_iter().map(|(Db(id), n)| (id, n)).collect())
    }
}

impl Store {
    /// Stores a message that carries `uploads` (complete attachment uploads of its sender), in
    /// one transaction with their use: a message never shows a file its sender could not attach,
    /// and a file is never attached twice. `None` (nothing stored) when one of them is not
    /// usable. A repeated `client_id` returns the first message, as for any send.
    pub async fn send_with_attachments(
        &self,
        m: &NewMessage<'_>,
        uploads: &[UploadId],
    ) -> Result<Option<SendOutcome>, StoreError> {
        if let Some(client_id) = m.client_id
            && let Some(first) = self.message_by_client_id(m.conversation_id, m.sender_id, client_id).await?
        {
            return Ok(Some(SendOutcome::Duplicate(first)));
        }
        let attempt = async {
            let mut tx = self.begin_write().await?;
            let row = append(&mut tx, m).await?;
            if !super::media::use_uploads(&mut tx, uploads, m.sender_id, m.conversation_id, m.id).await? {
                return Ok(None); // dropped without commit: nothing of it stays
            }
            tx.commit().await?;
            Ok::<_, StoreError>(Some(row))
        };
        match attempt.await {
            Ok(row) => Ok(row.map(SendOutcome::Created)),
            // A retry racing the first send of the same client id lost on the unique index.
            Err(e) if e.is_unique_violation() && m.client_id.is_some() => {
                let client_id = m.client_id.unwrap_or_default();
                match self.message_by_client_id(m.conversation_id, m.sender_id, client_id).await? {
                    Some(first) => Ok(Some(SendOutcome::Duplicate(first))),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}
