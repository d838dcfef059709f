//! REST request and response bodies under `/api/v1`. Times are RFC 3339 in JSON.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::ids::{ConversationId, MessageId, SessionId, StickerId, StickerPackId, UploadId, UserId};
use crate::media::Attachment;

/// `POST /api/v1/auth/register`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// 3–32 characters of `[a-z0-9_.-]`, unique case-insensitively (stored lowercased).
    #[schema(min_length = 3, max_length = 32, pattern = "^[A-Za-z0-9_.-]{3,32}(?![\\s\\S])")]
    pub username: String,
    /// At least 10 characters.
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
    /// Optional; defaults to the username. 1–64 characters, not blank, no control characters,
    /// bidirectional controls or invisible characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^(?![\\s\\S]*[\\u0000-\\u001f\\u007f-\\u009f\\u180e\\u200b\\u2028\\u2029\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\u3164\\ufeff\\uffa0])[\\s\\S]*\\S"
    )]
    pub display_name: Option<String>,
}

/// `POST /api/v1/auth/login`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// `POST /api/v1/auth/refresh`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// The body of `POST /api/v1/auth/refresh` (and logout) as it arrives: the refresh token, or
/// none to use the web client's `confab_refresh` cookie (which then requires
/// `X-Confab-Client: web`). The server turns it into a [`RefreshRequest`].
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    /// Omit it to use the `confab_refresh` cookie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// What the web client gets instead of [`AuthResponse`] when it sends `X-Confab-Client: web`:
/// the same, but the refresh token travels only in the `confab_refresh` cookie (`HttpOnly`), so
/// no script ever holds it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct WebSession {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub session_id: SessionId,
    pub user: User,
}

/// Answer to register, login and refresh: a short-lived access token and a one-use refresh token.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AuthResponse {
    /// JWT; send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Opaque; exchange once at `/auth/refresh` for a new pair. A second use revokes the session.
    pub refresh_token: String,
    /// Always `"Bearer"`.
    pub token_type: String,
    /// Lifetime of the access token in seconds.
    pub expires_in: u64,
    /// The signed-in session (device) these tokens belong to.
    pub session_id: SessionId,
    pub user: User,
}

/// A user as others see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    /// True for users provisioned from the host app's tokens rather than registered here.
    #[serde(default)]
    pub external: bool,
    /// True for a bot account (docs/bots.md): show a badge wherever its name appears.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bot: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    /// The user's profile page in the host app, when the server is configured with a template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_url: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `PATCH /api/v1/me`: change what is given. An empty `avatar_url` or `bio` removes it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    /// 1–64 characters, not blank, no control characters, bidirectional controls or invisible
    /// characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^(?![\\s\\S]*[\\u0000-\\u001f\\u007f-\\u009f\\u180e\\u200b\\u2028\\u2029\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\u3164\\ufeff\\uffa0])[\\s\\S]*\\S"
    )]
    pub display_name: Option<String>,
    /// An http or https URL without spaces, at most 2,048 bytes; empty removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(|[hH][tT][tT][pP][sS]?://[^\\s\\u0000-\\u001f\\u007f-\\u009f]*)(?![\\s\\S])")]
    pub avatar_url: Option<String>,
    /// At most 1,000 characters; line breaks and tabs are text, other control characters,
    /// bidirectional controls and invisible characters are refused. Empty removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        max_length = 1000,
        pattern = "^(?![\\s\\S]*[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\u180e\\u200b\\u2028\\u2029\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\u3164\\ufeff\\uffa0])"
    )]
    pub bio: Option<String>,
}

/// What others see of a user's presence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Online,
    Away,
    /// Do not disturb.
    Dnd,
    /// No session connected, or invisible.
    Offline,
}

/// The status a user chooses; `invisible` appears as `offline` to others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChosenStatus {
    Online,
    Away,
    Dnd,
    Invisible,
}

/// A user's presence as the viewer may see it. Also the data of `presence.updated`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Presence {
    pub user_id: UserId,
    pub status: PresenceStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_text: Option<String>,
    /// When the user was last connected (absent while online, and for invisible users).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub last_seen_at: Option<OffsetDateTime>,
}

/// `PUT /api/v1/me/presence`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPresenceRequest {
    pub status: ChosenStatus,
    /// Up to 140 characters on one line, without bidirectional controls or invisible
    /// characters; empty or absent clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        max_length = 140,
        pattern = "^(?![\\s\\S]*[\\u0000-\\u001f\\u007f-\\u009f\\u180e\\u200b\\u2028\\u2029\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\u3164\\ufeff\\uffa0])"
    )]
    pub status_text: Option<String>,
}

/// The caller's own presence settings (`GET`/`PUT /api/v1/me/presence`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OwnPresence {
    pub status: ChosenStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_text: Option<String>,
    /// How others see it now.
    pub seen_as: PresenceStatus,
}

/// Where the caller stands with another user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactState {
    /// Contacts both ways.
    Contact,
    /// They asked; the caller may accept or decline.
    Incoming,
    /// The caller asked; they have not answered.
    Outgoing,
    /// Nothing (after decline, cancel, removal or a block).
    None,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    pub user: User,
    pub state: ContactState,
    /// Contacts only, and never when they blocked the caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<Presence>,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

/// `GET /api/v1/contacts`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ContactList {
    pub contacts: Vec<Contact>,
    pub incoming: Vec<Contact>,
    pub outgoing: Vec<Contact>,
}

/// `GET /api/v1/blocks`: only the caller sees their list.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockList {
    pub blocked: Vec<User>,
    pub restricted: Vec<User>,
}

/// Query of `GET /api/v1/users` (search).
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserSearchQuery {
    /// Prefix of a username or display name (1–64 characters; case-insensitive for ASCII).
    #[param(min_length = 1, max_length = 64, pattern = "^(?![\\s\\S]*[\\u0000-\\u001f\\u007f-\\u009f])[\\s\\S]*\\S")]
    pub q: String,
    /// 1–50, default 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(pattern = "^(?![\\s\\S]*[\\u0000-\\u001f\\u007f-\\u009f])")]
    pub cursor: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct UserSearchResult {
    pub users: Vec<User>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One signed-in device or tab of the current user.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Session {
    pub id: SessionId,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_used_at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// True for the session making this request.
    pub current: bool,
}

/// `GET /api/v1/me/sessions`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionList {
    pub sessions: Vec<Session>,
}

/// `POST /api/v1/ws-ticket`: a one-time credential for `GET /api/v1/ws?ticket=…`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct WsTicket {
    pub ticket: String,
    /// Seconds until the ticket expires unused.
    pub expires_in: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    /// Exactly two users; one per pair.
    Direct,
    /// Any number of users with roles.
    Group,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

/// `POST /api/v1/conversations`: open the direct conversation with someone, or create a group.
/// `kind` says which; each takes only its own fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CreateConversationRequest {
    /// Returns the existing conversation with that user if there is one.
    Direct {
        /// The other user (exactly one; not the caller).
        #[schema(min_items = 1, max_items = 1)]
        members: Vec<UserId>,
    },
    Group {
        /// 1–100 characters, not blank, no control characters, bidirectional controls or
        /// invisible characters.
        #[schema(
            min_length = 1,
            max_length = 100,
            pattern = "^(?![\\s\\S]*[\\u0000-\\u001f\\u007f-\\u009f\\u180e\\u200b\\u2028\\u2029\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\u3164\\ufeff\\uffa0])[\\s\\S]*\\S"
        )]
        name: String,
        /// The other members (the caller is always a member, as owner); at most
        /// `limits.max_group_members` in all.
        #[serde(default)]
        members: Vec<UserId>,
    },
}

impl CreateConversationRequest {
    pub fn direct(other: UserId) -> Self {
        CreateConversationRequest::Direct { members: vec![other] }
    }

    pub fn group(name: impl Into<String>, members: Vec<UserId>) -> Self {
        CreateConversationRequest::Group { name: name.into(), members }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Member {
    pub user: User,
    pub role: Role,
    /// Read receipt: the member has read the conversation up to this `seq`; 0 when a block
    /// stands between them and the viewer (either way).
    pub read_seq: i64,
    /// In REST answers (not in events): the member's presence as the caller may see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<Presence>,
}

/// A conversation. Each member's `read_seq` is their read receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Conversation {
    pub id: ConversationId,
    pub kind: ConversationKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    /// The colours members' clients use for it; none: their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<Theme>,
    /// Whether links sent here get previews (see `previews.enabled` for the whole server).
    pub link_previews: bool,
    /// All members, except in `GET /api/v1/conversations` where at most 20 are listed.
    pub members: Vec<Member>,
    pub member_count: usize,
    /// The `seq` of the newest timeline entry (0 when there is none).
    pub last_seq: i64,
    /// Changes so far (messages, edits, deletions, reactions, group changes): the position to
    /// pass to `sync`.
    pub version: i64,
    /// For the requesting user: messages from others after their `read_seq`, not counting
    /// deleted ones and group events. Present in REST answers and `sync`; absent in events,
    /// which are the same for every member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<Box<Message>>,
    /// The requesting user's notification level here (REST answers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_level: Option<NotificationLevel>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_activity_at: OffsetDateTime,
}

/// `PATCH /api/v1/conversations/{id}`: change what is given. An empty `topic` or `avatar_url`
/// removes it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct UpdateConversationRequest {
    /// Groups only: 1–100 characters, not blank, no control characters, bidirectional controls
    /// or invisible characters.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::optional::not_null")]
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 100,
        pattern = "^(?![\\s\\S]*[\\u0000-\\u001f\\u007f-\\u009f\\u180e\\u200b\\u2028\\u2029\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\u3164\\ufeff\\uffa0])[\\s\\S]*\\S"
    )]
    pub name: Option<String>,
    /// At most 500 characters; line breaks and tabs are text, other control characters,
    /// bidirectional controls and invisible characters are refused.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::optional::not_null")]
    #[schema(
        nullable = false,
        max_length = 500,
        pattern = "^(?![\\s\\S]*[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\u180e\\u200b\\u2028\\u2029\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\u3164\\ufeff\\uffa0])"
    )]
    pub topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::optional::not_null")]
    /// An http or https URL without spaces; empty removes it.
    #[schema(
        nullable = false,
        pattern = "^(|[hH][tT][tT][pP][sS]?://[^\\s\\u0000-\\u001f\\u007f-\\u009f]*)(?![\\s\\S])"
    )]
    pub avatar_url: Option<String>,
    /// Whether links sent here get previews.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::optional::not_null")]
    #[schema(nullable = false)]
    pub link_previews: Option<bool>,
}

/// Colours of one variant (light or dark) of a conversation theme, each `#rrggbb`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Palette {
    /// Links, buttons, focus rings: at least 3:1 against `background`.
    #[schema(pattern = "^#[0-9a-fA-F]{6}(?![\\s\\S])")]
    pub accent: String,
    #[schema(pattern = "^#[0-9a-fA-F]{6}(?![\\s\\S])")]
    pub background: String,
    /// Text on `background` (names, day labels, system entries): at least 4.5:1.
    #[schema(pattern = "^#[0-9a-fA-F]{6}(?![\\s\\S])")]
    pub text: String,
    /// Others' messages.
    #[schema(pattern = "^#[0-9a-fA-F]{6}(?![\\s\\S])")]
    pub bubble: String,
    #[schema(pattern = "^#[0-9a-fA-F]{6}(?![\\s\\S])")]
    pub bubble_text: String,
    /// The reader's own messages.
    #[schema(pattern = "^#[0-9a-fA-F]{6}(?![\\s\\S])")]
    pub own_bubble: String,
    #[schema(pattern = "^#[0-9a-fA-F]{6}(?![\\s\\S])")]
    pub own_bubble_text: String,
}

/// A conversation's theme: both variants, and the preset it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Theme {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    pub light: Palette,
    pub dark: Palette,
    /// A picture behind the timeline, served by this server. Clients draw it under the
    /// palette's `background` at 85% opacity, so the contrast the server checked still holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<ThemeBackground>,
}

/// A theme's background picture: an image upload of the member who set it, re-encoded by the
/// media pipeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ThemeBackground {
    pub url: String,
    pub width: u32,
    pub height: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blurhash: Option<String>,
}

/// `PUT /api/v1/conversations/{id}/theme`: a preset by id, or both palettes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged, deny_unknown_fields)]
#[allow(clippy::large_enum_variant)] // a request body, decoded once and dropped
pub enum SetThemeRequest {
    Preset {
        preset: String,
        /// A complete image upload of the caller's (purpose `attachment`) to put behind the
        /// timeline.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        background_upload_id: Option<UploadId>,
        /// Keep the picture the conversation's theme has now (without it, a theme given without
        /// `background_upload_id` has none). Not with `background_upload_id`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        keep_background: bool,
    },
    Custom {
        light: Palette,
        dark: Palette,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        background_upload_id: Option<UploadId>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        keep_background: bool,
    },
}

impl SetThemeRequest {
    /// A preset without a background picture.
    pub fn preset(id: &str) -> SetThemeRequest {
        SetThemeRequest::Preset { preset: id.into(), background_upload_id: None, keep_background: false }
    }

    pub fn keep_background(&self) -> bool {
        match self {
            SetThemeRequest::Preset { keep_background, .. } | SetThemeRequest::Custom { keep_background, .. } => {
                *keep_background
            }
        }
    }

    pub fn background_upload_id(&self) -> Option<UploadId> {
        match self {
            SetThemeRequest::Preset { background_upload_id, .. }
            | SetThemeRequest::Custom { background_upload_id, .. } => *background_upload_id,
        }
    }
}

/// A theme the server offers (`GET /api/v1/themes`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ThemePreset {
    pub id: String,
    pub name: String,
    pub light: Palette,
    pub dark: Palette,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ThemePresetList {
    pub presets: Vec<ThemePreset>,
}

/// `POST /api/v1/conversations/{id}/members`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMembersRequest {
    pub members: Vec<UserId>,
}

/// Answer to adding members: the conversation, and who was actually added (each once; users who
/// already were members are not repeated).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AddMembersResponse {
    pub conversation: Conversation,
    pub added: Vec<UserId>,
}

/// `PATCH /api/v1/conversations/{id}/members/{user_id}`. Giving `owner` transfers ownership.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberRequest {
    pub role: Role,
}

/// `PUT /api/v1/conversations/{id}/read`, and the data of the `read` command.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ReadRequest {
    /// Read up to this `seq` (inclusive). Read state only moves forward.
    #[serde(deserialize_with = "crate::number::whole")]
    pub seq: i64,
}

/// Query of `GET /api/v1/conversations`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationListQuery {
    /// 1–100, default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(pattern = "^-?[0-9]{1,18}\\.-?[0-9]{1,18}(?![\\s\\S])")]
    pub cursor: Option<String>,
}

/// `GET /api/v1/conversations`: most recently active first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ConversationList {
    pub conversations: Vec<Conversation>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/conversations/{id}/messages`, and the data of the `message.send` command.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct SendMessageRequest {
    /// Not blank; at most `limits.max_message_chars` characters (4,000 by default); line breaks
    /// and tabs are text, other control characters are refused. May be empty (or left out) when
    /// the message carries attachments.
    #[serde(default)]
    #[schema(
        pattern = "^(?![\\s\\S])|^(?![\\s\\S]*[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f])[\\s\\S]*\\S"
    )]
    pub body: String,
    /// Client-generated id (1–64 printable ASCII characters). Retrying a send with the same
    /// `client_id` in the same conversation returns the first message instead of storing another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[!-~]{1,64}(?![\\s\\S])")]
    pub client_id: Option<String>,
    /// A message of the same conversation that this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<MessageId>,
    /// Complete uploads of the sender (purpose `attachment`, not used before) that the message
    /// carries, in this order; at most 10, no repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 10)]
    pub attachments: Vec<UploadId>,
    /// Tone indicators chosen for the message (codes or aliases, with or without the slash:
    /// `"j"`, `"/lh"`); those at the end of `body` are added unless `literal`. At most 5 in all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 5)]
    pub tones: Vec<String>,
    /// Keep `body` exactly as written: no trailing tone indicator is lifted out of it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub literal: bool,
    /// Send a sticker (`kind: "sticker"`) instead of text: `body` must then be empty and there
    /// are no attachments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticker_id: Option<StickerId>,
}

/// A tone indicator the server knows (`GET /api/v1/tones`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ToneInfo {
    /// Without the slash: `j`.
    pub code: String,
    /// What it means, in English: `joking`.
    pub meaning: String,
    /// Other spellings that stand for it (`sarc` for `s`).
    pub aliases: Vec<String>,
}

/// `GET /api/v1/tones`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ToneList {
    pub tones: Vec<ToneInfo>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Written by a member.
    Text,
    /// A group change kept in the timeline (see `system`).
    System,
    /// An invitation to an activity of the host app (see `invitation`).
    Invitation,
    /// A sticker (see `sticker`); `body` is empty.
    Sticker,
}

/// An activity of the host app that members can invite each other to (declared in the config).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Activity {
    pub id: String,
    pub label: String,
}

/// `GET /api/v1/activities`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ActivityList {
    pub activities: Vec<Activity>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    Pending,
    /// Accepted; the host app is being told. `result` arrives with a later update.
    Accepted,
    Declined,
    Cancelled,
    Expired,
    /// The host app could not be reached or refused; see `reason`.
    Failed,
}

/// The invitation carried by a message of kind `invitation`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Invitation {
    pub activity: String,
    pub label: String,
    /// The one member invited; absent when anyone in the conversation may accept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitee: Option<UserId>,
    pub state: InvitationState,
    /// Who accepted or declined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responded_by: Option<UserId>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The host app's answer to the acceptance (e.g. `{"join_url": "…"}`), relayed as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// `POST /api/v1/conversations/{id}/invitations`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendInvitationRequest {
    /// The id of an activity from `GET /api/v1/activities`.
    pub activity: String,
    /// Invite one member; leave out to invite anyone in the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitee: Option<UserId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// Someone mentioned you.
    Mention,
    /// Someone replied to your message.
    Reply,
    /// You were invited to an activity.
    Invitation,
    /// An invitation you sent or received was accepted, declined, expired or failed.
    InvitationUpdate,
    ContactRequest,
    ContactAccepted,
    /// A direct message arrived while you had no connected session.
    DirectMessage,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    pub id: String,
    pub kind: NotificationKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<ConversationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
    /// Who caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<UserId>,
    /// A short text to show (message excerpt, activity label, invitation state).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub excerpt: String,
    pub read: bool,
    /// Created while the user was in do-not-disturb: list it, do not pop it up.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub silent: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `GET /api/v1/notifications`, newest first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationList {
    pub notifications: Vec<Notification>,
    pub unread_count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Query of `GET /api/v1/notifications`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// 1–100, default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(pattern = "^-?[0-9]{1,18}(?![\\s\\S])")]
    pub cursor: Option<String>,
}

/// How much a conversation may notify the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationLevel {
    /// Mentions, replies, invitations, and direct messages while away.
    All,
    /// Only what names the user: mentions, replies, invitations to them.
    Mentions,
    /// Nothing.
    None,
}

/// `PUT /api/v1/conversations/{id}/notifications`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettings {
    pub level: NotificationLevel,
}

/// `POST /api/v1/notifications/read`: the ids to mark read, or none for all.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkNotificationsRead {
    /// Notification ids (decimal strings); none: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<crate::ids::UserId>>)]
    pub ids: Option<Vec<String>>,
}

/// `GET /api/v1/unread`: unread messages per conversation and in total, and unread notifications.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct UnreadSummary {
    pub total_messages: i64,
    pub conversations: Vec<ConversationUnread>,
    pub notifications: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ConversationUnread {
    pub conversation_id: ConversationId,
    pub count: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    /// Position in the conversation's timeline: 1, 2, 3, … with no gap.
    pub seq: i64,
    /// The author; for a system entry, who made the change.
    pub sender_id: UserId,
    pub kind: MessageKind,
    /// Empty for system entries, deleted messages and messages of attachments only.
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<MessageId>,
    /// A short quote of the message replied to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<ReplyQuote>,
    /// Members mentioned as `@username` in the body.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<UserId>,
    /// Tone indicators (codes of `GET /api/v1/tones`), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tones: Vec<String>,
    /// Reactions, one entry per emoji, in the order they first appeared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation: Option<Invitation>,
    /// The files the message carries, in the sender's order; empty once it is deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// Previews of the links in the body, built by the server after the send (they arrive
    /// with a `message.updated`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previews: Vec<LinkPreview>,
    /// For `kind: "sticker"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticker: Option<Sticker>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub edited_at: Option<OffsetDateTime>,
    /// Set on a tombstone: the message was deleted for everyone.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pinned: bool,
    /// The sender is blocked by the viewer: the body, mentions and reply excerpt are withheld.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub collapsed: bool,
    /// The conversation version of this message's last change.
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What a link in a message shows: plain text, never markup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LinkPreview {
    /// The link as it is in the body.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_name: Option<String>,
    /// The page's image, fetched and served by this server (never the linked site's URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<PreviewImage>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PreviewImage {
    pub url: String,
    pub width: u32,
    pub height: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blurhash: Option<String>,
}

/// A sticker of a pack (`GET /api/v1/sticker-packs`), or the one a sticker message shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Sticker {
    pub id: StickerId,
    pub pack_id: StickerPackId,
    /// Unique in its pack: `[a-z0-9_-]{1,32}`.
    pub shortcode: String,
    /// What it shows, for screen readers and text-only clients.
    pub body: String,
    /// Absent once its pack is deleted: the message then says only what it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub width: u32,
    pub height: u32,
}

/// A sticker pack of the server (`GET /api/v1/sticker-packs`). Close to Matrix's MSC2545 image
/// packs: `name` is its `display_name`, each sticker's `shortcode` its key, `body` and the
/// image's size its `body` and `info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StickerPack {
    pub id: StickerPackId,
    pub name: String,
    /// In the order they were added.
    pub stickers: Vec<Sticker>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `GET /api/v1/sticker-packs`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct StickerPackList {
    pub packs: Vec<StickerPack>,
    /// Whether the caller manages the server's packs (one of its sticker admins).
    pub can_manage: bool,
}

/// `POST /api/v1/sticker-packs`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStickerPackRequest {
    /// 1–64 characters.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
}

/// `POST /api/v1/sticker-packs/{pack_id}/stickers`: a sticker whose image is a complete
/// attachment upload of the caller (PNG, JPEG, GIF or WebP; at most 512 KB and 512 × 512).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddStickerRequest {
    /// `[a-z0-9_-]{1,32}`, unique in the pack.
    #[schema(min_length = 1, max_length = 32, pattern = "^[a-z0-9_-]{1,32}$")]
    pub shortcode: String,
    /// What it shows, for screen readers and text-only clients: 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub body: String,
    pub upload_id: UploadId,
}

/// Whether the server offers GIF search (`GET /api/v1/gifs/provider`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct GifProvider {
    pub enabled: bool,
    /// What the provider asks to be shown beside its results (`Powered by Tenor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<String>,
}

/// `GET /api/v1/gifs`
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GifQuery {
    /// What to look for (at most 100 characters); empty or absent: what is featured.
    #[serde(default)]
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// `next` of the previous page.
    #[serde(default)]
    #[param(max_length = 200)]
    pub pos: Option<String>,
}

/// A GIF found by the provider. `url` is a preview served by this server (the provider never
/// sees who looks at it); `POST /api/v1/gifs/{id}/upload` makes the GIF itself an upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Gif {
    pub id: String,
    pub title: String,
    pub url: String,
    pub width: u32,
    pub height: u32,
}

/// `GET /api/v1/gifs`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct GifPage {
    pub results: Vec<Gif>,
    /// Pass as `pos` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The quoted original of a reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReplyQuote {
    pub message_id: MessageId,
    pub sender_id: UserId,
    /// The first 140 characters of the original; empty when it was deleted.
    pub excerpt: String,
    pub deleted: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reaction {
    pub emoji: String,
    pub count: usize,
    pub users: Vec<UserId>,
}

/// A group change, as kept in the timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum SystemEvent {
    GroupCreated {
        name: String,
    },
    Renamed {
        from: String,
        to: String,
    },
    TopicChanged {
        topic: Option<String>,
    },
    AvatarChanged {
        avatar_url: Option<String>,
    },
    MembersAdded {
        users: Vec<UserId>,
    },
    MemberRemoved {
        user: UserId,
    },
    MemberLeft,
    RoleChanged {
        user: UserId,
        role: Role,
    },
    OwnershipTransferred {
        from: UserId,
        to: UserId,
    },
    MessagePinned {
        message_id: MessageId,
    },
    MessageUnpinned {
        message_id: MessageId,
    },
    /// `theme` is null when the theme was removed.
    ThemeChanged {
        theme: Option<Box<Theme>>,
    },
    LinkPreviewsChanged {
        enabled: bool,
    },
}

/// `PATCH /api/v1/conversations/{id}/messages/{message_id}`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMessageRequest {
    /// The same rules as a new message's body.
    #[schema(
        min_length = 1,
        pattern = "^(?![\\s\\S]*[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f])[\\s\\S]*\\S"
    )]
    pub body: String,
    /// As for a new message: chosen tone indicators, added to those lifted off the new text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 5)]
    pub tones: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub literal: bool,
}

/// One earlier version of an edited message.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MessageEdit {
    pub previous_body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub edited_at: OffsetDateTime,
}

/// `GET /api/v1/conversations/{id}/messages/{message_id}/edits`, oldest first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MessageEditList {
    pub edits: Vec<MessageEdit>,
}

/// One row of a group's audit log. Rows outlive the group.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub conversation_id: ConversationId,
    pub actor_id: UserId,
    /// The system event's `action` (`members_added`, `renamed`, …) or `group_deleted`.
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<SystemEvent>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `GET /api/v1/conversations/{id}/audit`, newest first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditLog {
    pub entries: Vec<AuditEntry>,
}

/// `GET /api/v1/conversations/{id}/pins`, most recently pinned first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PinList {
    pub messages: Vec<Message>,
}

/// Query of `GET /api/v1/conversations/{id}/messages`. With neither cursor, the newest messages.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// 1–100, default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Only messages with `seq` below this one (paging back in time); positive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1)]
    pub before: Option<i64>,
    /// Only messages with `seq` above this one (catching up after a gap or a reconnect); 0 or more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 0)]
    pub after: Option<i64>,
}

/// A page of history, always in ascending `seq` order.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MessagePage {
    pub messages: Vec<Message>,
    /// True when more messages exist beyond this page in the direction asked for.
    pub has_more: bool,
}

/// `GET /healthz`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
}
