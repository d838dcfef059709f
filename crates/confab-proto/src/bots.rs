//! Bots: accounts owned by a person, signed in only with their token (docs/bots.md).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::ids::UserId;
use crate::rest::User;

/// Prefix of every bot token (`cfb_<bot id>_<secret>`), so that secret scanners can spot a
/// leaked one.
pub const BOT_TOKEN_PREFIX: &str = "cfb_";

/// A bot account: a user that signs in only with its token, and that is a member only of the
/// conversations people add it to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Bot {
    /// Its user; `bot` is true wherever it appears.
    pub user: User,
    /// Who created it: the one who may change it, rotate or revoke its token.
    pub owner_id: UserId,
    /// Anyone may add it to a conversation; otherwise only its owner.
    pub public: bool,
    /// False once its token was revoked (until the owner issues a new one).
    pub active: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `POST /api/v1/bots`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBotRequest {
    /// As for people: 3–32 characters of `a-z`, `0-9`, `_`, `.`, `-` (case-insensitive).
    #[schema(min_length = 3, max_length = 32, pattern = "^[A-Za-z0-9_.-]{3,32}(?![\\s\\S])")]
    pub username: String,
    /// Defaults to the username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^(?![\\s\\S]*[\\u0000-\\u001f\\u007f-\\u009f\\u180e\\u200b\\u2028\\u2029\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\u3164\\ufeff\\uffa0])[\\s\\S]*\\S"
    )]
    pub display_name: Option<String>,
    /// Anyone may add it to a conversation (default: only its owner).
    #[serde(default)]
    pub public: bool,
}

/// `PATCH /api/v1/bots/{id}`: change what is given.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBotRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^(?![\\s\\S]*[\\u0000-\\u001f\\u007f-\\u009f\\u180e\\u200b\\u2028\\u2029\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\u3164\\ufeff\\uffa0])[\\s\\S]*\\S"
    )]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<bool>,
}

/// A bot with its token, shown only here: when it is created and when the token is rotated.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BotCredentials {
    pub bot: Bot,
    /// `cfb_<bot id>_<secret>`: the bearer token for REST and the WebSocket. The server keeps
    /// only its hash; a new one ends the old one and closes the bot's sockets.
    pub token: String,
}

/// `GET /api/v1/bots`: the caller's bots.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BotList {
    pub bots: Vec<Bot>,
}
