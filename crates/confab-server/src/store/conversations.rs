//! Conversations and their members.

use confab_proto::rest::{ConversationKind, NotificationLevel, Role};
use confab_proto::{ConversationId, UploadId, UserId};
use sqlx::{Any, Transaction};

use super::column::Db;
use super::media::{self, FileId};
use super::messages::{MessageRow, NewAudit, NewMessage, append, write_audit};
use super::users::placeholders;
use super::{Store, StoreError, composed};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConversationRow {
    #[sqlx(try_from = "Db<ConversationId>")]
    pub id: ConversationId,
    #[sqlx(try_from = "Db<ConversationKind>")]
    pub kind: ConversationKind,
    pub name: Option<String>,
    pub topic: Option<String>,
    pub avatar_url: Option<String>,
    /// JSON of the conversation's theme.
    pub theme: Option<String>,
    /// 1 when links sent here get previews.
    pub link_previews: i64,
    pub direct_key: Option<String>,
    pub last_seq: i64,
    pub version: i64,
    #[sqlx(try_from = "Db<UserId>")]
    pub created_by: UserId,
    pub created_at: i64,
    pub last_activity_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    #[sqlx(try_from = "Db<ConversationId>")]
    pub conversation_id: ConversationId,
    #[sqlx(try_from = "Db<UserId>")]
    pub user_id: UserId,
    #[sqlx(try_from = "Db<Role>")]
    pub role: Role,
    pub joined_at: i64,
    pub read_seq: i64,
    #[sqlx(try_from = "Db<NotificationLevel>")]
    pub notify_level: NotificationLevel,
}

/// A group change as it is kept: an entry in the timeline and a row in the audit log, written in
/// the same transaction as the change.
#[derive(Debug, Clone)]
pub struct GroupEvent<'a> {
    pub message: NewMessage<'a>,
    pub audit: NewAudit<'a>,
}

/// What `PATCH` changes; `Some(None)` clears a field.
#[derive(Debug, Clone, Default)]
pub struct GroupPatch<'a> {
    pub name: Option<&'a str>,
    pub topic: Option<Option<&'a str>>,
    pub avatar_url: Option<Option<&'a str>>,
    /// With `avatar_url`: the avatar upload it was made from and its owner (the member making
    /// the change), taken in the same transaction.
    pub avatar_upload: Option<(UploadId, UserId)>,
    /// The theme's JSON; `Some(None)` removes it (and its background's file).
    pub theme: Option<Option<&'a str>>,
    /// With `theme`: the image upload of its background and its owner, taken in the same
    /// transaction; the conversation then holds the file.
    pub theme_upload: Option<(UploadId, UserId)>,
    /// With `theme`: the new theme keeps the background file the conversation holds.
    pub theme_keeps_file: bool,
    pub link_previews: Option<bool>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    #[sqlx(try_from = "Db<ConversationId>")]
    pub conversation_id: ConversationId,
    #[sqlx(try_from = "Db<UserId>")]
    pub actor_id: UserId,
    pub action: String,
    pub detail: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewConversation<'a> {
    pub id: ConversationId,
    pub kind: ConversationKind,
    pub name: Option<&'a str>,
    /// Set for direct conversations; unique, so that a pair has one DM however many ask at once.
    pub direct_key: Option<&'a str>,
    pub created_by: UserId,
    pub now: i64,
    pub members: Vec<(UserId, Role)>,
}

const CONVERSATION_COLUMNS: &str = "c.id, c.kind, c.name, c.topic, c.avatar_url, c.theme, c.link_previews, \
     c.direct_key, c.last_seq, c.version, \
     c.created_by, c.created_at, c.last_activity_at";

async fn record(tx: &mut Transaction<'static, Any>, events: &[GroupEvent<'_>]) -> Result<Vec<MessageRow>, StoreError> {
    let mut entries = Vec::with_capacity(events.len());
    for event in events {
        entries.push(append(tx, &event.message).await?);
        write_audit(tx, &event.audit).await?;
    }
    Ok(entries)
}

async fn role_of(
    tx: &mut Transaction<'static, Any>,
    conversation_id: ConversationId,
    user: UserId,
) -> Result<Option<Role>, StoreError> {
    let row: Option<(Db<Role>,)> =
        sqlx::query_as("SELECT role FROM members WHERE conversation_id = $1 AND user_id = $2")
            .bind(Db(conversation_id))
            .bind(Db(user))
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.map(|(Db(role),)| role))
}

impl Store {
    /// Inserts a conversation with its members (and, for groups, its first timeline entry) in
    /// one transaction. A taken `direct_key` is a unique violation.
    pub async fn insert_conversation(
        &self,
        c: &NewConversation<'_>,
        events: &[GroupEvent<'_>],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO conversations (id, kind, name, direct_key, last_seq, created_by, created_at, last_activity_at) \
             VALUES ($1, $2, $3, $4, 0, $5, $6, $6)",
        )
        .bind(Db(c.id))
        .bind(Db(c.kind))
        .bind(c.name)
        .bind(c.direct_key)
        .bind(Db(c.created_by))
        .bind(c.now)
        .execute(&mut *tx)
        .await?;
        for (user_id, role) in &c.members {
            sqlx::query("INSERT INTO members (conversation_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)")
                .bind(Db(c.id))
                .bind(Db(*user_id))
                .bind(Db(*role))
                .bind(c.now)
                .execute(&mut *tx)
                .await?;
        }
        record(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds members (role `member`). Returns false, changing nothing, if any of them already is
    /// one: a concurrent request got there first and the caller should look again.
    pub async fn add_members(
        &self,
        conversation_id: ConversationId,
        users: &[UserId],
        now: i64,
        events: &[GroupEvent<'_>],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        for user in users {
            let inserted = sqlx::query(
                "INSERT INTO members (conversation_id, user_id, role, joined_at) VALUES ($1, $2, $4, $3) \
                 ON CONFLICT (conversation_id, user_id) DO NOTHING",
            )
            .bind(Db(conversation_id))
            .bind(Db(*user))
            .bind(now)
            .bind(Db(Role::Member))
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 0 {
                return Ok(false);
            }
        }
        record(&mut tx, events).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes a member (who left or was removed). False when they were not a member.
    pub async fn remove_member(
        &self,
        conversation_id: ConversationId,
        user: UserId,
        events: &[GroupEvent<'_>],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let removed = sqlx::query("DELETE FROM members WHERE conversation_id = $1 AND user_id = $2 AND role <> $3")
            .bind(Db(conversation_id))
            .bind(Db(user))
            .bind(Db(Role::Owner))
            .execute(&mut *tx)
            .await?;
        if removed.rows_affected() == 0 {
            return Ok(false);
        }
        record(&mut tx, events).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Sets a non-owner member's role to `admin` or `member` (ownership moves with
    /// [`Store::transfer_ownership`]). False when `user` is not such a member, or has that role.
    pub async fn set_role(
        &self,
        conversation_id: ConversationId,
        user: UserId,
        role: Role,
        events: &[GroupEvent<'_>],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE members SET role = $3 WHERE conversation_id = $1 AND user_id = $2 AND role <> $4 AND role <> $3",
        )
        .bind(Db(conversation_id))
        .bind(Db(user))
        .bind(Db(role))
        .bind(Db(Role::Owner))
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() == 0 {
            return Ok(false);
        }
        record(&mut tx, events).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Makes `to` the owner and `from` (the owner) an admin. False when the roles are not as expected.
    pub async fn transfer_ownership(
        &self,
        conversation_id: ConversationId,
        from: UserId,
        to: UserId,
        events: &[GroupEvent<'_>],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let from_role = role_of(&mut tx, conversation_id, from).await?;
        let to_role = role_of(&mut tx, conversation_id, to).await?;
        if from_role != Some(Role::Owner) || to_role.is_none() || from == to {
            return Ok(false);
        }
        for (user, role) in [(from, Role::Admin), (to, Role::Owner)] {
            sqlx::query("UPDATE members SET role = $3 WHERE conversation_id = $1 AND user_id = $2")
                .bind(Db(conversation_id))
                .bind(Db(user))
                .bind(Db(role))
                .execute(&mut *tx)
                .await?;
        }
        record(&mut tx, events).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Applies a `PATCH` to a conversation's name, topic, avatar, theme and preview switch.
    pub async fn update_group(
        &self,
        conversation_id: ConversationId,
        patch: &GroupPatch<'_>,
        events: &[GroupEvent<'_>],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some(name) = patch.name {
            sqlx::query("UPDATE conversations SET name = $2 WHERE id = $1")
                .bind(Db(conversation_id))
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(topic) = patch.topic {
            sqlx::query("UPDATE conversations SET topic = $2 WHERE id = $1")
                .bind(Db(conversation_id))
                .bind(topic)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(theme) = patch.theme
            && patch.theme_keeps_file
        {
            sqlx::query("UPDATE conversations SET theme = $2 WHERE id = $1")
                .bind(Db(conversation_id))
                .bind(theme)
                .execute(&mut *tx)
                .await?;
        } else if let Some(theme) = patch.theme {
            let file = match patch.theme_upload {
                Some((upload, owner)) => match media::take_image_upload(&mut tx, upload, owner).await? {
                    Some(file) => Some(file),
                    None => return Ok(false),
                },
                None => None,
            };
            set_with_file(&mut tx, conversation_id, "theme", "theme_file_id", theme, file).await?;
        }
        if let Some(on) = patch.link_previews {
            sqlx::query("UPDATE conversations SET link_previews = $2 WHERE id = $1")
                .bind(Db(conversation_id))
                .bind(i64::from(on))
                .execute(&mut *tx)
                .await?;
        }
        if let Some(avatar) = patch.avatar_url {
            let file = match patch.avatar_upload {
                Some((upload, owner)) => match media::take_avatar_upload(&mut tx, upload, owner).await? {
                    Some(file) => Some(file),
                    None => return Ok(false),
                },
                None => None,
            };
            set_with_file(&mut tx, conversation_id, "avatar_url", "avatar_file_id", avatar, file).await?;
        }
        record(&mut tx, events).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes a conversation with its timeline and members; the audit row stays.
    pub async fn delete_conversation(
        &self,
        conversation_id: ConversationId,
        audit: &NewAudit<'_>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        media::drop_attachments(&mut tx, "conversation_id", conversation_id.0).await?;
        media::drop_previews(&mut tx, "conversation_id", conversation_id.0).await?;
        let held: Option<(Option<FileId>, Option<FileId>)> =
            sqlx::query_as("SELECT avatar_file_id, theme_file_id FROM conversations WHERE id = $1")
                .bind(Db(conversation_id))
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((avatar, theme)) = held {
            let files: Vec<FileId> = avatar.into_iter().chain(theme).collect();
            media::release_files(&mut tx, &files).await?;
        }
        // Children first: SQLite enforces the cascades only with foreign_keys on, PostgreSQL always.
        for sql in [
            "DELETE FROM reactions WHERE message_id IN (SELECT id FROM messages WHERE conversation_id = $1)",
            "DELETE FROM message_edits WHERE message_id IN (SELECT id FROM messages WHERE conversation_id = $1)",
            "DELETE FROM messages WHERE conversation_id = $1",
            "DELETE FROM members WHERE conversation_id = $1",
        ] {
            sqlx::query(sql).bind(Db(conversation_id)).execute(&mut *tx).await?;
        }
        let deleted =
            sqlx::query("DELETE FROM conversations WHERE id = $1").bind(Db(conversation_id)).execute(&mut *tx).await?;
        if deleted.rows_affected() == 0 {
            return Ok(false);
        }
        write_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Moves `user`'s read position forward to `seq`. `None` when it was already there or beyond.
    pub async fn set_read(
        &self,
        conversation_id: ConversationId,
        user: UserId,
        seq: i64,
    ) -> Result<Option<i64>, StoreError> {
        let moved = sqlx::query(
            "UPDATE members SET read_seq = $3 WHERE conversation_id = $1 AND user_id = $2 AND read_seq < $3",
        )
        .bind(Db(conversation_id))
        .bind(Db(user))
        .bind(seq)
        .execute(&self.writes)
        .await?;
        Ok((moved.rows_affected() == 1).then_some(seq))
    }

    /// Every conversation `user` belongs to.
    pub async fn conversation_ids_of(&self, user: UserId) -> Result<Vec<ConversationId>, StoreError> {
        let rows: Vec<(Db<ConversationId>,)> =
            sqlx::query_as("SELECT conversation_id FROM members WHERE user_id = $1 ORDER BY conversation_id")
                .bind(Db(user))
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(Db(id),)| id).collect())
    }

    pub async fn conversations_by_ids(&self, ids: &[ConversationId]) -> Result<Vec<ConversationRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.id IN ({})",
            placeholders(1, ids.len())
        );
        let mut query = sqlx::query_as(composed(sql));
        for id in ids {
            query = query.bind(Db(*id));
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    /// A group's audit log, newest first.
    pub async fn audit_log(&self, conversation_id: ConversationId, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, conversation_id, actor_id, action, detail, created_at FROM audit_log \
             WHERE conversation_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(Db(conversation_id))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn conversation(&self, id: ConversationId) -> Result<Option<ConversationRow>, StoreError> {
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = $1");
        Ok(sqlx::query_as(composed(sql)).bind(Db(id)).fetch_optional(&self.pool).await?)
    }

    pub async fn direct_conversation(&self, direct_key: &str) -> Result<Option<ConversationRow>, StoreError> {
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.direct_key = $1");
        Ok(sqlx::query_as(composed(sql)).bind(direct_key).fetch_optional(&self.pool).await?)
    }

    /// The conversations `user_id` belongs to, most recently active first; `before` pages on
    /// `(last_activity_at, id)`.
    pub async fn conversations_of(
        &self,
        user_id: UserId,
        before: Option<(i64, ConversationId)>,
        limit: i64,
    ) -> Result<Vec<ConversationRow>, StoreError> {
        let (activity, id) = before.unwrap_or((i64::MAX, ConversationId(i64::MAX)));
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c JOIN members m ON m.conversation_id = c.id \
             WHERE m.user_id = $1 AND (c.last_activity_at < $2 OR (c.last_activity_at = $2 AND c.id < $3)) \
             ORDER BY c.last_activity_at DESC, c.id DESC LIMIT $4"
        );
        Ok(sqlx::query_as(composed(sql))
            .bind(Db(user_id))
            .bind(activity)
            .bind(Db(id))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Members of the given conversations, ordered by conversation and join time.
    pub async fn members_of(&self, conversation_ids: &[ConversationId]) -> Result<Vec<MemberRow>, StoreError> {
        if conversation_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT conversation_id, user_id, role, joined_at, read_seq, notify_level FROM members WHERE conversation_id IN ({}) \
             ORDER BY conversation_id, joined_at, user_id",
            placeholders(1, conversation_ids.len())
        );
        let mut query = sqlx::query_as(composed(sql));
        for id in conversation_ids {
            query = query.bind(Db(*id));
        }
        Ok(query.fetch_all(&self.pool).await?)
    }
}

/// Sets a conversation's `column` to `value` and `file_column` to `file` (a picture the
/// conversation holds: its avatar, its theme's background), releasing the file held before.
/// Both names are constants of the caller's.
async fn set_with_file(
    tx: &mut Transaction<'static, Any>,
    conversation_id: ConversationId,
    column: &'static str,
    file_column: &'static str,
    value: Option<&str>,
    file: Option<FileId>,
) -> Result<(), StoreError> {
    let sql = format!("SELECT {file_column} FROM conversations WHERE id = $1");
    let old: Option<(Option<FileId>,)> =
        sqlx::query_as(composed(sql)).bind(Db(conversation_id)).fetch_optional(&mut **tx).await?;
    let sql = format!("UPDATE conversations SET {column} = $2, {file_column} = $3 WHERE id = $1");
    sqlx::query(composed(sql)).bind(Db(conversation_id)).bind(value).bind(file).execute(&mut **tx).await?;
    if let Some((Some(old),)) = old {
        media::release_files(tx, &[old]).await?;
    }
    Ok(())
}
