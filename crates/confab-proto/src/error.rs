//! Error codes: machine-readable, stable, snake_case. REST answers
//! `{"error": {"code", "message"}}` with the fitting HTTP status; the gateway answers an `error`
//! frame carrying the same `{"code", "message"}` and the id of the command it refuses.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every error code the server emits. Clients match on these, never on the message text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // Malformed requests (400 / 413 / 415)
    /// The body or frame is not valid JSON, or does not have the expected shape.
    InvalidJson,
    /// A query parameter or field has an invalid value (the message names it).
    InvalidParameter,
    /// The request body or WebSocket frame is larger than the server accepts.
    PayloadTooLarge,
    /// The request body is not sent as `Content-Type: application/json` (415).
    UnsupportedMediaType,
    /// The route exists but not with this HTTP method (405; `Allow` lists the methods).
    MethodNotAllowed,
    /// A WebSocket frame named a command the server does not know.
    UnknownCommand,
    /// Username outside 3–32 characters of `[a-z0-9_.-]`.
    InvalidUsername,
    /// Password shorter than 10 characters or longer than 1024 bytes.
    InvalidPassword,
    /// Message body empty or made only of whitespace.
    EmptyMessage,
    /// Message body longer than the configured maximum.
    MessageTooLong,
    /// Conversation members do not fit the conversation kind.
    InvalidMembers,
    /// A referenced user does not exist.
    UnknownUser,
    /// `reply_to` names a message that is not in this conversation.
    InvalidReply,
    /// A reaction must be 1–64 bytes without whitespace or control characters.
    InvalidEmoji,
    /// The activity is not one the server declares (see `GET /api/v1/activities`).
    UnknownActivity,
    /// An upload, or a `PATCH` to it, is larger than the server's per-file limit (413).
    FileTooLarge,
    /// The upload would take the user past their storage quota, or their number of unfinished
    /// uploads past the limit (413).
    QuotaExceeded,
    /// An image whose declared size or frame count is beyond the server's limits (413).
    ImageTooLarge,
    /// The file is not an image the server can read (PNG, JPEG, GIF, WebP), where one is needed.
    NotAnImage,
    /// The image could not be read: truncated or malformed.
    InvalidImage,
    /// `Upload-Offset` is not where the upload stands (409): `HEAD` it and resume from there.
    OffsetMismatch,
    /// The uploaded bytes do not have the SHA-256 declared at creation; the upload was dropped.
    ChecksumMismatch,
    /// A missing or unsupported `Tus-Resumable` header (412; the server speaks 1.0.0).
    UnsupportedTusVersion,
    /// An attachment names an upload that is not the caller's, not complete, not an attachment
    /// upload, or already used.
    InvalidAttachment,
    /// A tone indicator that the server does not know, or more than 5 on one message.
    InvalidTone,
    /// A conversation theme whose colours are below WCAG AA contrast (the message names the pair).
    LowContrast,
    /// A sticker that does not exist (or whose pack was deleted), or a sticker pack rule.
    InvalidSticker,

    // Authentication (401)
    /// No credentials were presented.
    MissingToken,
    /// The token is malformed or its signature does not verify.
    InvalidToken,
    /// The token's `exp` is in the past.
    TokenExpired,
    /// The token's `nbf` (or `iat`) is in the future.
    TokenNotYetValid,
    /// The token's issuer is not the configured one.
    InvalidIssuer,
    /// The token's audience does not include the configured one.
    InvalidAudience,
    /// The token's `kid` names no key the server knows, even after refetching the JWKS.
    UnknownKey,
    /// The token's `alg` is `none` or not accepted for this key.
    UnsupportedAlgorithm,
    /// The introspection endpoint says the token is not active.
    InactiveToken,
    /// The session this token belongs to was signed out or revoked.
    SessionRevoked,
    /// Wrong username or password.
    InvalidCredentials,
    /// The refresh token is unknown or expired.
    InvalidRefreshToken,
    /// A refresh token was used twice: the whole session was revoked as a precaution.
    RefreshTokenReused,
    /// The WebSocket ticket is unknown, expired or already used.
    InvalidTicket,

    // Refusals (403 / 404 / 409 / 429)
    /// The operation is not permitted to this user.
    Forbidden,
    /// A block between the two users prevents the action.
    Blocked,
    /// Registration of built-in accounts is turned off on this server.
    RegistrationClosed,
    /// The WebSocket handshake came from an origin that is not on the allowlist.
    OriginNotAllowed,
    /// The resource does not exist, or the caller may not know that it exists.
    NotFound,
    /// The username is already taken (case-insensitively).
    UsernameTaken,
    /// The change would leave the group without an owner: transfer ownership first.
    LastOwner,
    /// The invitation is no longer pending (accepted, declined, cancelled, expired or failed).
    InvitationClosed,
    /// Too many requests; retry after `retry_after` seconds (REST also sends `Retry-After`).
    RateLimited,

    // Server side (5xx)
    /// The external auth provider (JWKS or introspection endpoint) could not be reached.
    AuthProviderUnavailable,
    /// The server is shutting down or its database is unreachable; retry shortly.
    Unavailable,
    /// An unexpected failure; details are in the server log, not in the answer.
    Internal,
}

impl ErrorCode {
    /// The wire spelling, e.g. `"token_expired"`.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidJson => "invalid_json",
            InvalidParameter => "invalid_parameter",
            PayloadTooLarge => "payload_too_large",
            UnsupportedMediaType => "unsupported_media_type",
            MethodNotAllowed => "method_not_allowed",
            UnknownCommand => "unknown_command",
            InvalidUsername => "invalid_username",
            InvalidPassword => "invalid_password",
            EmptyMessage => "empty_message",
            MessageTooLong => "message_too_long",
            InvalidMembers => "invalid_members",
            UnknownUser => "unknown_user",
            InvalidReply => "invalid_reply",
            InvalidEmoji => "invalid_emoji",
            UnknownActivity => "unknown_activity",
            FileTooLarge => "file_too_large",
            QuotaExceeded => "quota_exceeded",
            ImageTooLarge => "image_too_large",
            NotAnImage => "not_an_image",
            InvalidImage => "invalid_image",
            OffsetMismatch => "offset_mismatch",
            ChecksumMismatch => "checksum_mismatch",
            UnsupportedTusVersion => "unsupported_tus_version",
            InvalidAttachment => "invalid_attachment",
            InvalidTone => "invalid_tone",
            LowContrast => "low_contrast",
            InvalidSticker => "invalid_sticker",
            MissingToken => "missing_token",
            InvalidToken => "invalid_token",
            TokenExpired => "token_expired",
            TokenNotYetValid => "token_not_yet_valid",
            InvalidIssuer => "invalid_issuer",
            InvalidAudience => "invalid_audience",
            UnknownKey => "unknown_key",
            UnsupportedAlgorithm => "unsupported_algorithm",
            InactiveToken => "inactive_token",
            SessionRevoked => "session_revoked",
            InvalidCredentials => "invalid_credentials",
            InvalidRefreshToken => "invalid_refresh_token",
            RefreshTokenReused => "refresh_token_reused",
            InvalidTicket => "invalid_ticket",
            Forbidden => "forbidden",
            Blocked => "blocked",
            RegistrationClosed => "registration_closed",
            OriginNotAllowed => "origin_not_allowed",
            NotFound => "not_found",
            UsernameTaken => "username_taken",
            LastOwner => "last_owner",
            InvitationClosed => "invitation_closed",
            RateLimited => "rate_limited",
            AuthProviderUnavailable => "auth_provider_unavailable",
            Unavailable => "unavailable",
            Internal => "internal",
        }
    }
}

/// The `{"code", "message"}` pair carried by REST error bodies and `error` frames.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    pub code: ErrorCode,
    /// For humans; may change between versions.
    pub message: String,
    /// With `rate_limited` only: whole seconds to wait before trying again (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into(), retry_after: None }
    }
}

/// A REST error body: `{"error": {"code", "message"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ApiError,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde() {
        for code in [
            ErrorCode::InvalidJson,
            ErrorCode::RefreshTokenReused,
            ErrorCode::AuthProviderUnavailable,
            ErrorCode::UnsupportedTusVersion,
        ] {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::String(code.as_str().to_owned()));
        }
    }
}
