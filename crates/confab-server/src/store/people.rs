//! Contacts, contact requests, blocks, restrictions, profiles, presence settings, user search.

use confab_proto::rest::{ChosenStatus, ConversationKind};
use confab_proto::{UploadId, UserId};
use sqlx::Row;

use super::column::Db;
use super::media::{self, FileId};
use super::users::{USER_COLUMNS, UserRow};
use super::{Store, StoreError, composed};

/// How two users relate, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Contacts,
    /// A request from the first user to the second.
    Requested,
    Nothing,
}

/// A row of the caller's contact list: the other user and since when.
#[derive(Debug, Clone)]
pub struct ContactRow {
    pub user: UserRow,
    pub since: i64,
}

/// A profile change; `Some(None)` clears a field.
#[derive(Debug, Clone, Default)]
pub struct ProfilePatch<'a> {
    pub display_name: Option<&'a str>,
    pub avatar_url: Option<Option<&'a str>>,
    /// With `avatar_url`: the avatar upload it was made from, taken in the same transaction.
    pub avatar_upload: Option<UploadId>,
    pub bio: Option<Option<&'a str>>,
}

fn user_columns(prefix: &str) -> String {
    USER_COLUMNS.split(", ").map(|c| format!("{prefix}.{c}")).collect::<Vec<_>>().join(", ")
}

impl Store {
    pub async fn relation(&self, a: UserId, b: UserId) -> Result<Relation, StoreError> {
        let contact = sqlx::query("SELECT 1 FROM contacts WHERE user_id = $1 AND contact_id = $2")
            .bind(Db(a))
            .bind(Db(b))
            .fetch_optional(&self.pool)
            .await?;
        if contact.is_some() {
            return Ok(Relation::Contacts);
        }
        let request = sqlx::query("SELECT 1 FROM contact_requests WHERE from_id = $1 AND to_id = $2")
            .bind(Db(a))
            .bind(Db(b))
            .fetch_optional(&self.pool)
            .await?;
        Ok(if request.is_some() { Relation::Requested } else { Relation::Nothing })
    }

    /// Records a request from `from` to `to`; false if one is already pending.
    pub async fn insert_contact_request(&self, from: UserId, to: UserId, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO contact_requests (from_id, to_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (from_id, to_id) DO NOTHING",
        )
        .bind(Db(from))
        .bind(Db(to))
        .bind(now)
        .execute(&self.writes)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Accepts the request from `from` to `to`: the pair become contacts. False if there was no request.
    pub async fn accept_contact_request(&self, from: UserId, to: UserId, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let removed = sqlx::query("DELETE FROM contact_requests WHERE from_id = $1 AND to_id = $2")
            .bind(Db(from))
            .bind(Db(to))
            .execute(&mut *tx)
            .await?;
        if removed.rows_affected() == 0 {
            return Ok(false);
        }
        // A crossing request the other way is answered too.
        sqlx::query("DELETE FROM contact_requests WHERE from_id = $1 AND to_id = $2")
            .bind(Db(to))
            .bind(Db(from))
            .execute(&mut *tx)
            .await?;
        for (a, b) in [(from, to), (to, from)] {
            sqlx::query(
                "INSERT INTO contacts (user_id, contact_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (user_id, contact_id) DO NOTHING",
            )
            .bind(Db(a))
            .bind(Db(b))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Removes whatever links the two users (contact rows, requests either way). False if nothing did.
    pub async fn unlink(&self, a: UserId, b: UserId) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut removed = 0;
        for sql in [
            "DELETE FROM contacts WHERE (user_id = $1 AND contact_id = $2) OR (user_id = $2 AND contact_id = $1)",
            "DELETE FROM contact_requests WHERE (from_id = $1 AND to_id = $2) OR (from_id = $2 AND to_id = $1)",
        ] {
            removed += sqlx::query(sql).bind(Db(a)).bind(Db(b)).execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(removed > 0)
    }

    pub async fn contacts_of(&self, user: UserId) -> Result<Vec<ContactRow>, StoreError> {
        let sql = format!(
            "SELECT {}, c.created_at AS since FROM contacts c JOIN users u ON u.id = c.contact_id \
             WHERE c.user_id = $1 ORDER BY u.username",
            user_columns("u")
        );
        self.contact_rows(&sql, user).await
    }

    pub async fn incoming_requests(&self, user: UserId) -> Result<Vec<ContactRow>, StoreError> {
        let sql = format!(
            "SELECT {}, r.created_at AS since FROM contact_requests r JOIN users u ON u.id = r.from_id \
             WHERE r.to_id = $1 ORDER BY r.created_at DESC",
            user_columns("u")
        );
        self.contact_rows(&sql, user).await
    }

    pub async fn outgoing_requests(&self, user: UserId) -> Result<Vec<ContactRow>, StoreError> {
        let sql = format!(
            "SELECT {}, r.created_at AS since FROM contact_requests r JOIN users u ON u.id = r.to_id \
             WHERE r.from_id = $1 ORDER BY r.created_at DESC",
            user_columns("u")
        );
        self.contact_rows(&sql, user).await
    }

    async fn contact_rows(&self, sql: &str, user: UserId) -> Result<Vec<ContactRow>, StoreError> {
        let rows = sqlx::query(composed(sql.to_owned())).bind(Db(user)).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(ContactRow { user: <UserRow as sqlx::FromRow<_>>::from_row(row)?, since: row.try_get("since")? })
            })
            .collect()
    }

    pub async fn contact_ids(&self, user: UserId) -> Result<Vec<UserId>, StoreError> {
        let rows: Vec<(Db<UserId>,)> = sqlx::query_as("SELECT contact_id FROM contacts WHERE user_id = $1")
            .bind(Db(user))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|(Db(id),)| id).collect())
    }

    /// Everyone who shares a direct conversation, or a group of at most `max_group` members,
    /// with `user`.
    pub async fn co_member_ids(&self, user: UserId, max_group: u32) -> Result<Vec<UserId>, StoreError> {
        let rows: Vec<(Db<UserId>,)> = sqlx::query_as(
            "SELECT DISTINCT m2.user_id FROM members m1 \
             JOIN conversations c ON c.id = m1.conversation_id \
             JOIN members m2 ON m2.conversation_id = m1.conversation_id \
             WHERE m1.user_id = $1 AND m2.user_id <> $1 \
             AND (c.kind = $3 \
                  OR (SELECT COUNT(*) FROM members m3 WHERE m3.conversation_id = c.id) <= $2)",
        )
        .bind(Db(user))
        .bind(i64::from(max_group))
        .bind(Db(ConversationKind::Direct))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(Db(id),)| id).collect())
    }

    /// Blocks `blocked` and drops whatever linked the two (contacts, requests). False if already blocked.
    pub async fn block(&self, blocker: UserId, blocked: UserId, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
        )
        .bind(Db(blocker))
        .bind(Db(blocked))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for sql in [
            "DELETE FROM contacts WHERE (user_id = $1 AND contact_id = $2) OR (user_id = $2 AND contact_id = $1)",
            "DELETE FROM contact_requests WHERE (from_id = $1 AND to_id = $2) OR (from_id = $2 AND to_id = $1)",
        ] {
            sqlx::query(sql).bind(Db(blocker)).bind(Db(blocked)).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(inserted.rows_affected() == 1)
    }

    pub async fn unblock(&self, blocker: UserId, blocked: UserId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
            .bind(Db(blocker))
            .bind(Db(blocked))
            .execute(&self.writes)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// `(blocked by user, blocking user)`: whom `user` blocks, and who blocks `user`.
    pub async fn blocks_of(&self, user: UserId) -> Result<(Vec<UserId>, Vec<UserId>), StoreError> {
        let blocked: Vec<(Db<UserId>,)> = sqlx::query_as("SELECT blocked_id FROM blocks WHERE blocker_id = $1")
            .bind(Db(user))
            .fetch_all(&self.pool)
            .await?;
        let blockers: Vec<(Db<UserId>,)> = sqlx::query_as("SELECT blocker_id FROM blocks WHERE blocked_id = $1")
            .bind(Db(user))
            .fetch_all(&self.pool)
            .await?;
        let ids = |rows: Vec<(Db<UserId>,)>| rows.into_iter().map(|(Db(id),)| id).collect();
        Ok((ids(blocked), ids(blockers)))
    }

    pub async fn set_restricted(
        &self,
        user: UserId,
        other: UserId,
        restricted: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        if restricted {
            sqlx::query(
                "INSERT INTO restrictions (user_id, restricted_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id, restricted_id) DO NOTHING",
            )
            .bind(Db(user))
            .bind(Db(other))
            .bind(now)
            .execute(&self.writes)
            .await?;
        } else {
            sqlx::query("DELETE FROM restrictions WHERE user_id = $1 AND restricted_id = $2")
                .bind(Db(user))
                .bind(Db(other))
                .execute(&self.writes)
                .await?;
        }
        Ok(())
    }

    pub async fn is_restricted(&self, user: UserId, other: UserId) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM restrictions WHERE user_id = $1 AND restricted_id = $2")
            .bind(Db(user))
            .bind(Db(other))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Users `user` blocked and restricted, by username.
    pub async fn block_list(&self, user: UserId) -> Result<(Vec<UserRow>, Vec<UserRow>), StoreError> {
        let blocked = format!(
            "SELECT {} FROM blocks b JOIN users u ON u.id = b.blocked_id WHERE b.blocker_id = $1 ORDER BY u.username",
            user_columns("u")
        );
        let restricted = format!(
            "SELECT {} FROM restrictions r JOIN users u ON u.id = r.restricted_id WHERE r.user_id = $1 ORDER BY u.username",
            user_columns("u")
        );
        let blocked = sqlx::query_as(composed(blocked)).bind(Db(user)).fetch_all(&self.pool).await?;
        let restricted = sqlx::query_as(composed(restricted)).bind(Db(user)).fetch_all(&self.pool).await?;
        Ok((blocked, restricted))
    }

    /// Applies the patch; false (and nothing changed) when its avatar upload is not one of the
    /// user's complete avatar uploads.
    pub async fn update_profile(&self, user: UserId, patch: &ProfilePatch<'_>) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some(name) = patch.display_name {
            sqlx::query("UPDATE users SET display_name = $2 WHERE id = $1")
                .bind(Db(user))
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(avatar) = patch.avatar_url {
            let file = match patch.avatar_upload {
                Some(upload) => match media::take_avatar_upload(&mut tx, upload, user).await? {
                    Some(file) => Some(file),
                    None => return Ok(false),
                },
                None => None,
            };
            let old: Option<(Option<FileId>,)> = sqlx::query_as("SELECT avatar_file_id FROM users WHERE id = $1")
                .bind(Db(user))
                .fetch_optional(&mut *tx)
                .await?;
            sqlx::query("UPDATE users SET avatar_url = $2, avatar_file_id = $3 WHERE id = $1")
                .bind(Db(user))
                .bind(avatar)
                .bind(file)
                .execute(&mut *tx)
                .await?;
            if let Some((Some(old),)) = old {
                media::release_files(&mut tx, &[old]).await?;
            }
        }
        if let Some(bio) = patch.bio {
            sqlx::query("UPDATE users SET bio = $2 WHERE id = $1").bind(Db(user)).bind(bio).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn set_status(
        &self,
        user: UserId,
        status: ChosenStatus,
        status_text: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET status = $2, status_text = $3 WHERE id = $1")
            .bind(Db(user))
            .bind(Db(status))
            .bind(status_text)
            .execute(&self.writes)
            .await?;
        Ok(())
    }

    pub async fn set_last_seen(&self, user: UserId, at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET last_seen_at = $2 WHERE id = $1")
            .bind(Db(user))
            .bind(at)
            .execute(&self.writes)
            .await?;
        Ok(())
    }

    /// Users whose username or (ASCII-lowercased) display name starts with `prefix`, by
    /// username after `after`, skipping the ids in `hidden`.
    pub async fn search_users(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: i64,
        exclude: &[UserId],
    ) -> Result<Vec<UserRow>, StoreError> {
        let pattern = format!("{}%", escape_like(&prefix.to_ascii_lowercase()));
        let mut sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE (username LIKE $1 ESCAPE '\\' OR LOWER(display_name) LIKE $1 ESCAPE '\\') \
             AND username > $2"
        );
        if !exclude.is_empty() {
            sql.push_str(&format!(" AND id NOT IN ({})", super::users::placeholders(4, exclude.len())));
        }
        sql.push_str(" ORDER BY username LIMIT $3");
        let mut query = sqlx::query_as(composed(sql)).bind(pattern).bind(after.unwrap_or("")).bind(limit);
        for id in exclude {
            query = query.bind(Db(*id));
        }
        Ok(query.fetch_all(&self.pool).await?)
    }
}

/// Escapes `%`, `_` and the escape character itself, so user input matches literally in `LIKE`.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(super::escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }
}
