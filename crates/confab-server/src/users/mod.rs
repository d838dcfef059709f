//! Users: creating built-in accounts, provisioning users from the host app's tokens exactly once,
//! and the public view of a user.

pub mod shown_text;
mod username;

use std::sync::Arc;

use std::collections::HashSet;

use confab_proto::rest::{ChosenStatus, UpdateProfileRequest, User, UserSearchQuery, UserSearchResult};
use confab_proto::{ErrorCode, UploadId, UserId};

pub use username::Username;

use crate::auth::external::ExternalIdentity;
use crate::clock::{datetime, now_ms};
use crate::error::{Error, Result};
use crate::ids::IdGenerator;
use crate::limits::RateLimiter;
use crate::store::{NewUser, ProfilePatch, Store, UserRow};

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;
/// Longest avatar URL taken from a host app's claims.
const MAX_AVATAR_URL_LEN: usize = 2048;

/// Longest bio, in characters.
pub const MAX_BIO_CHARS: usize = 1000;
/// Longest avatar URL.
pub const MAX_URL_LEN: usize = 2048;
const MAX_SEARCH_PAGE: u32 = 50;

pub struct Users {
    store: Store,
    ids: Arc<IdGenerator>,
    /// `https://game.example/users/{username}`: where a user's profile lives in the host app.
    profile_link: Option<String>,
    searches: RateLimiter,
}

impl Users {
    pub fn new(store: Store, ids: Arc<IdGenerator>, profile_link: Option<String>) -> Users {
        let searches = RateLimiter::new(30, std::time::Duration::from_secs(60));
        Users { store, ids, profile_link, searches }
    }

    /// In a cluster: count searches in Redis, across nodes.
    pub fn join_cluster(&self, conn: redis::aio::ConnectionManager, prefix: &str) {
        self.searches.share(conn, format!("{prefix}:limit:search"));
    }

    /// The public view of a user, with the link to their profile in the host app.
    pub fn to_wire(&self, row: &UserRow) -> User {
        User {
            id: row.id,
            username: row.username.clone(),
            display_name: row.display_name.clone(),
            avatar_url: row.avatar_url.clone(),
            external: row.external_id.is_some(),
            bot: row.is_bot(),
            bio: row.bio.clone(),
            profile_url: self.profile_link.as_deref().and_then(|template| profile_url(template, row)),
            created_at: datetime(row.created_at),
        }
    }

    /// Changes the caller's display name, avatar or bio.
    pub async fn update_profile(&self, user: UserId, req: UpdateProfileRequest) -> Result<User> {
        let display_name = req.display_name.as_deref().map(parse_display_name).transpose()?;
        let avatar_url = req.avatar_url.as_deref().map(parse_avatar_url).transpose()?;
        let bio = req.bio.as_deref().map(parse_bio).transpose()?;
        let patch = ProfilePatch {
            display_name: display_name.as_deref(),
            avatar_url: avatar_url.as_ref().map(|a| a.as_deref()),
            avatar_upload: None,
            bio: bio.as_ref().map(|b| b.as_deref()),
        };
        self.store.update_profile(user, &patch).await?;
        self.profile(user).await
    }

    /// Sets (or with `None`, removes) the caller's avatar made from an upload (`media/`): `url`
    /// is where the picture is served, `upload` the avatar upload it came from.
    pub async fn set_avatar(&self, user: UserId, avatar: Option<(String, UploadId)>) -> Result<User> {
        let patch = ProfilePatch {
            avatar_url: Some(avatar.as_ref().map(|(url, _)| url.as_str())),
            avatar_upload: avatar.as_ref().map(|(_, upload)| *upload),
            ..ProfilePatch::default()
        };
        if !self.store.update_profile(user, &patch).await? {
            return Err(Error::invalid(
                ErrorCode::InvalidAttachment,
                "upload_id is not a complete avatar upload of yours",
            ));
        }
        self.profile(user).await
    }

    /// Users whose username or display name starts with `q`, by username; users in `hidden`
    /// (those who blocked the searcher) are never found.
    pub async fn search(
        &self,
        searcher: UserId,
        query: UserSearchQuery,
        hidden: &HashSet<UserId>,
    ) -> Result<UserSearchResult> {
        self.searches
            .check_shared(&searcher.to_string())
            .await
            .map_err(|wait| Error::RateLimited { retry_after_secs: wait.as_secs().max(1) })?;
        let q = query.q.trim();
        if q.is_empty() || q.chars().count() > 64 {
            return Err(Error::invalid(ErrorCode::InvalidParameter, "q must have 1 to 64 characters"));
        }
        crate::text::check_line("q", q)?;
        if let Some(cursor) = &query.cursor {
            crate::text::check_line("cursor", cursor)?;
        }
        let limit = query.limit.unwrap_or(20);
        if !(1..=MAX_SEARCH_PAGE).contains(&limit) {
            return Err(Error::invalid(
                ErrorCode::InvalidParameter,
                format!("limit must be between 1 and {MAX_SEARCH_PAGE}"),
            ));
        }
        let hidden: Vec<UserId> = hidden.iter().copied().collect();
        let mut rows = self.store.search_users(q, query.cursor.as_deref(), i64::from(limit) + 1, &hidden).await?;
        let next_cursor = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|r| r.username.clone())
        } else {
            None
        };
        Ok(UserSearchResult { users: rows.iter().map(|r| self.to_wire(r)).collect(), next_cursor })
    }

    /// Creates a built-in account. The password must already be hashed.
    pub async fn create_local(&self, username: &Username, display_name: &str, password_hash: &str) -> Result<UserRow> {
        let row = UserRow {
            password_hash: Some(password_hash.to_owned()),
            ..blank_user(self.ids.next(), username, display_name)
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
        // Claims are the host app's, but still text that reaches the store.
        if crate::text::check_line("iss and sub", &external_id).is_err() {
            return Err(Error::unauthenticated(
                ErrorCode::InvalidToken,
                "the token's iss or sub contains control characters",
            ));
        }
        if let Some(existing) = self.store.user_by_external_id(&external_id).await? {
            return Ok(existing);
        }
        let hint = identity.username.as_deref().or(identity.display_name.as_deref()).unwrap_or(&identity.subject);
        let base = Username::from_hint(hint);
        let display_name = clamp_chars(identity.display_name.as_deref().unwrap_or(hint), MAX_DISPLAY_NAME_CHARS);
        let avatar_url = identity.avatar_url.as_deref().filter(|url| {
            url.len() <= MAX_AVATAR_URL_LEN
                && (url.starts_with("https://") || url.starts_with("http://"))
                && crate::text::check_line("avatar_url", url).is_ok()
        });

        for attempt in 0..20u32 {
            let username = match attempt {
                0 => base.clone(),
                // alice-2, alice-3, then random suffixes so that many namesakes do not queue up.
                n if n < 3 => base.with_suffix(&(n + 1).to_string()),
                _ => base.with_suffix(&rand::random_range(1000..100_000u32).to_string()),
            };
            let row = UserRow {
                avatar_url: avatar_url.map(str::to_owned),
                external_id: Some(external_id.clone()),
                ..blank_user(self.ids.next(), &username, &display_name)
            };
            match self.store.insert_user(&new_user(&row)).await {
                Ok(()) => {
                    tracing::info!(user_id = %row.id, username = %row.username, "provisioned external user");
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

    /// The public view of one user (what `GET /users/{id}`, `/me` and the gateway's `ready` show).
    pub async fn profile(&self, id: UserId) -> Result<User> {
        Ok(self.to_wire(&self.get(id).await?))
    }

    pub async fn get(&self, id: UserId) -> Result<UserRow> {
        self.store.user_by_id(id).await?.ok_or(Error::NotFound("user"))
    }

    pub async fn by_username(&self, username: &Username) -> Result<Option<UserRow>> {
        Ok(self.store.user_by_username(username.as_str()).await?)
    }

    /// Checks that every id names a user; the error lists the ones that do not.
    pub async fn require_all(&self, ids: &[UserId]) -> Result<Vec<UserRow>> {
        let rows = self.store.users_by_ids(ids).await?;
        let missing: Vec<String> =
            ids.iter().filter(|id| !rows.iter().any(|r| r.id == **id)).map(|id| id.to_string()).collect();
        if !missing.is_empty() {
            return Err(Error::invalid(ErrorCode::UnknownUser, format!("unknown user ids: {}", missing.join(", "))));
        }
        Ok(rows)
    }

    /// As `require_all`, for users that `by` adds to a conversation: a bot among them must be
    /// public or `by`'s own.
    pub async fn require_addable(&self, by: UserId, ids: &[UserId]) -> Result<Vec<UserRow>> {
        let rows = self.require_all(ids).await?;
        let bot_ids: Vec<UserId> = rows.iter().filter(|u| u.is_bot()).map(|u| u.id).collect();
        let bots = self.store.bots_by_ids(&bot_ids).await?;
        for user in rows.iter().filter(|u| u.is_bot()) {
            let allowed = bots.iter().any(|b| b.user_id == user.id && (b.public != 0 || b.owner_id == by));
            if !allowed {
                return Err(Error::Forbidden(format!("{} is a private bot: only its owner may add it", user.username)));
            }
        }
        Ok(rows)
    }
}

/// Validates a display name chosen by the user: 1–64 characters, no control characters.
pub fn parse_display_name(raw: &str) -> Result<String> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len == 0 || len > MAX_DISPLAY_NAME_CHARS {
        return Err(Error::invalid(
            ErrorCode::InvalidParameter,
            format!("display_name must have 1 to {MAX_DISPLAY_NAME_CHARS} characters and no control characters"),
        ));
    }
    crate::text::check_line("display_name", trimmed)?;
    shown_text::check("display_name", trimmed)?;
    Ok(trimmed.to_owned())
}

/// An empty URL clears the avatar; otherwise only http(s) URLs are accepted.
pub fn parse_avatar_url(raw: &str) -> Result<Option<String>> {
    let url = raw.trim();
    if url.is_empty() {
        return Ok(None);
    }
    let lower = url.to_ascii_lowercase();
    let valid = (lower.starts_with("https://") || lower.starts_with("http://"))
        && url.len() <= MAX_URL_LEN
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(Error::invalid(
            ErrorCode::InvalidParameter,
            format!("avatar_url must be an http or https URL of at most {MAX_URL_LEN} bytes"),
        ));
    }
    Ok(Some(url.to_owned()))
}

/// An empty bio clears it.
fn parse_bio(raw: &str) -> Result<Option<String>> {
    let bio = raw.trim();
    if bio.chars().nth(MAX_BIO_CHARS).is_some() {
        return Err(Error::invalid(
            ErrorCode::InvalidParameter,
            format!("a bio has at most {MAX_BIO_CHARS} characters"),
        ));
    }
    crate::text::check_text("bio", bio)?;
    shown_text::check("bio", bio)?;
    Ok((!bio.is_empty()).then(|| bio.to_owned()))
}

/// Fills `{username}`, `{id}` and `{external_id}` (the host app's subject), URL-encoded. A
/// template naming `{external_id}` gives no link for users the host app does not know.
fn profile_url(template: &str, row: &UserRow) -> Option<String> {
    let subject = row.external_id.as_deref().and_then(|e| e.split_once('|')).map(|(_, sub)| sub);
    if template.contains("{external_id}") && subject.is_none() {
        return None;
    }
    Some(
        template
            .replace("{username}", &encode(&row.username))
            .replace("{id}", &row.id.to_string())
            .replace("{external_id}", &encode(subject.unwrap_or_default())),
    )
}

fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn blank_user(id: UserId, username: &Username, display_name: &str) -> UserRow {
    UserRow {
        id,
        username: username.as_str().to_owned(),
        display_name: display_name.to_owned(),
        avatar_url: None,
        password_hash: None,
        external_id: None,
        bio: None,
        status: ChosenStatus::Online,
        status_text: None,
        last_seen_at: None,
        created_at: now_ms(),
        bot: 0,
    }
}

fn clamp_chars(s: &str, max: usize) -> String {
    let cleaned: String = shown_text::strip(s).chars().filter(|c| !c.is_control()).take(max).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_links_fill_their_template() {
        let mut row = blank_user(UserId(7), &Username::parse("zed").unwrap(), "Zed");
        assert_eq!(profile_url("https://g.example/u/{username}", &row).unwrap(), "https://g.example/u/zed");
        assert_eq!(profile_url("https://g.example/u/{external_id}", &row), None, "not a host-app user");
        row.external_id = Some("https://g.example|a b/c".into());
        assert_eq!(profile_url("https://g.example/u/{external_id}", &row).unwrap(), "https://g.example/u/a%20b%2Fc");
    }

    #[test]
    fn avatar_urls() {
        assert_eq!(parse_avatar_url("").unwrap(), None);
        assert!(parse_avatar_url("javascript:alert(1)").is_err());
        assert!(parse_avatar_url("data:image/png;base64,AAAA").is_err());
        assert!(parse_avatar_url("https://x.example/a b.png").is_err());
        assert!(parse_avatar_url("https://x.example/a.png").is_ok());
    }

    #[test]
    fn bios() {
        assert_eq!(parse_bio("").unwrap(), None);
        assert!(parse_bio(&"b".repeat(1024 * 1024)).is_err());
        assert_eq!(parse_bio(" plays pong\n").unwrap().as_deref(), Some("plays pong"));
    }
}
