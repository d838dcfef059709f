//! Users: creating built-in accounts, provisioning users from the host app's tokens exactly once,
//! and the public view of a user.

mod username;

use std::sync::Arc;

use confab_proto::{ErrorCode, UserId, rest::User};

pub use username::Username;

use crate::auth::external::ExternalIdentity;
use crate::clock::{datetime, now_ms};
use crate::error::{Error, Result};
use crate::ids::IdGenerator;
use crate::store::{NewUser, Store, UserRow};

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;
/// Longest avatar URL taken from a host app's claims.
const MAX_AVATAR_URL_LEN: usize = 2048;

pub struct Users {
    store: Store,
    ids: Arc<IdGenerator>,
}

impl Users {
    pub fn new(store: Store, ids: Arc<IdGenerator>) -> Users {
        Users { store, ids }
    }

    /// Creates a built-in account. The password must already be hashed.
    pub async fn create_local(&self, username: &Username, display_name: &str, password_hash: &str) -> Result<UserRow> {
        let row = UserRow {
            id: self.ids.next(),
            username: username.as_str().to_owned(),
            display_name: display_name.to_owned(),
            avatar_url: None,
            password_hash: Some(password_hash.to_owned()),
            external_id: None,
            created_at: now_ms(),
        };
        match self.store.insert_user(&new_user(&row)).await {
            Ok(()) => Ok(row),
            Err(e) if e.is_unique_violation() => Err(Error::UsernameTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// The user the host app's token speaks of, created on first sight. Concurrent first requests
    /// race on the unique `external_id`; the losers read the winner's row, so the user exists once.
    pub async fn provision_external(&self, identity: &ExternalIdentity) -> Result<UserRow> {
        let external_id = format!("{}|{}", identity.issuer, identity.subject);
        if let Some(existing) = self.store.user_by_external_id(&external_id).await? {
            return Ok(existing);
        }
        let hint = identity.username.as_deref().or(identity.display_name.as_deref()).unwrap_or(&identity.subject);
        let base = Username::from_hint(hint);
        let display_name = clamp_chars(identity.display_name.as_deref().unwrap_or(hint), MAX_DISPLAY_NAME_CHARS);
        let avatar_url = identity.avatar_url.as_deref().filter(|url| {
            url.len() <= MAX_AVATAR_URL_LEN && (url.starts_with("https://") || url.starts_with("http://"))
        });

        for attempt in 0..20u32 {
            let username = match attempt {
                0 => base.clone(),
                // alice-2, alice-3, then random suffixes so that many namesakes do not queue up.
                n if n < 3 => base.with_suffix(&(n + 1).to_string()),
                _ => base.with_suffix(&rand::random_range(1000..100_000u32).to_string()),
            };
            let row = UserRow {
                id: self.ids.next(),
                username: username.as_str().to_owned(),
                display_name: display_name.clone(),
                avatar_url: avatar_url.map(str::to_owned),
                password_hash: None,
                external_id: Some(external_id.clone()),
                created_at: now_ms(),
            };
            match self.store.insert_user(&new_user(&row)).await {
                Ok(()) => {
                    tracing::info!(user_id = row.id, username = %row.username, "provisioned external user");
                    return Ok(row);
                }
                Err(e) if e.is_unique_violation() => {
                    // Either another request created this very user, or the username is taken.
                    if let Some(existing) = self.store.user_by_external_id(&external_id).await? {
                        return Ok(existing);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Internal(format!("no free username for external user {external_id}")))
    }

    pub async fn get(&self, id: UserId) -> Result<UserRow> {
        self.store.user_by_id(id.0).await?.ok_or(Error::NotFound("user"))
    }

    pub async fn by_username(&self, username: &Username) -> Result<Option<UserRow>> {
        Ok(self.store.user_by_username(username.as_str()).await?)
    }

    /// Checks that every id names a user; the error lists the ones that do not.
    pub async fn require_all(&self, ids: &[UserId]) -> Result<Vec<UserRow>> {
        let raw: Vec<i64> = ids.iter().map(|id| id.0).collect();
        let rows = self.store.users_by_ids(&raw).await?;
        let missing: Vec<String> =
            ids.iter().filter(|id| !rows.iter().any(|r| r.id == id.0)).map(|id| id.to_string()).collect();
        if !missing.is_empty() {
            return Err(Error::invalid(ErrorCode::UnknownUser, format!("unknown user ids: {}", missing.join(", "))));
        }
        Ok(rows)
    }
}

/// Validates a display name chosen by the user: 1–64 characters, no control characters.
pub fn parse_display_name(raw: &str) -> Result<String> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len == 0 || len > MAX_DISPLAY_NAME_CHARS || trimmed.chars().any(char::is_control) {
        return Err(Error::invalid(
            ErrorCode::InvalidParameter,
            format!("display_name must have 1 to {MAX_DISPLAY_NAME_CHARS} characters and no control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

fn clamp_chars(s: &str, max: usize) -> String {
    let cleaned: String = s.chars().filter(|c| !c.is_control()).take(max).collect();
    if cleaned.trim().is_empty() { "user".to_owned() } else { cleaned }
}

fn new_user(row: &UserRow) -> NewUser<'_> {
    NewUser {
        id: row.id,
        username: &row.username,
        display_name: &row.display_name,
        avatar_url: row.avatar_url.as_deref(),
        password_hash: row.password_hash.as_deref(),
        external_id: row.external_id.as_deref(),
        created_at: row.created_at,
    }
}

/// The public view of a user.
pub fn to_wire(row: &UserRow) -> User {
    User {
        id: UserId(row.id),
        username: row.username.clone(),
        display_name: row.display_name.clone(),
        avatar_url: row.avatar_url.clone(),
        external: row.external_id.is_some(),
        created_at: datetime(row.created_at),
    }
}
