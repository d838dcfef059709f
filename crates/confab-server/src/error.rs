//! The domain error: what the services (auth, conversations, messages, …) refuse, and why.
//! REST maps it to a status and `{"error": {...}}` in `http::error`; the gateway maps it to an
//! `error` frame. Both use [`Error::code`] and [`Error::public_message`], so they always agree.

use confab_proto::{ApiError, ErrorCode};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that fails validation; nothing was changed.
    #[error("{1}")]
    Invalid(ErrorCode, String),
    /// Credentials missing, malformed, expired or refused.
    #[error("{1}")]
    Unauthenticated(ErrorCode, String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A block between the two users prevents the action.
    #[error("{0}")]
    Blocked(String),
    /// The thing does not exist, or the caller may not learn that it does.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("this username is already taken")]
    UsernameTaken,
    /// The request conflicts with the current state (e.g. it would leave a group without owner).
    #[error("{1}")]
    Conflict(ErrorCode, String),
    #[error("registration is closed on this server")]
    RegistrationClosed,
    #[error("this origin may not open a WebSocket here")]
    OriginNotAllowed,
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// The host app's JWKS or introspection endpoint failed or timed out.
    #[error("the external auth provider could not be reached: {0}")]
    AuthProviderUnavailable(String),
    /// The server could not finish in time (e.g. a WebSocket command past its deadline); retry.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug or an environment failure; details go to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<crate::principal::BotRefused> for Error {
    fn from(_: crate::principal::BotRefused) -> Error {
        Error::Forbidden("bots are members of the conversations they are added to, and may not do this".into())
    }
}

impl Error {
    pub fn invalid(code: ErrorCode, message: impl Into<String>) -> Error {
        Error::Invalid(code, message.into())
    }

    pub fn unauthenticated(code: ErrorCode, message: impl Into<String>) -> Error {
        Error::Unauthenticated(code, message.into())
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Invalid(code, _) | Error::Unauthenticated(code, _) | Error::Conflict(code, _) => *code,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::Blocked(_) => ErrorCode::Blocked,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::UsernameTaken => ErrorCode::UsernameTaken,
            Error::RegistrationClosed => ErrorCode::RegistrationClosed,
            Error::OriginNotAllowed => ErrorCode::OriginNotAllowed,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::AuthProviderUnavailable(_) => ErrorCode::AuthProviderUnavailable,
            Error::Unavailable(_) => ErrorCode::Unavailable,
            Error::Store(e) if e.is_unavailable() => ErrorCode::Unavailable,
            Error::Store(_) | Error::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The message shown to the client. Internal details (SQL errors, upstream answers) stay in
    /// the log.
    pub fn public_message(&self) -> String {
        match self {
            Error::Store(e) if e.is_unavailable() => "the database is unavailable; retry shortly".to_owned(),
            Error::Store(_) | Error::Internal(_) => "internal error".to_owned(),
            Error::AuthProviderUnavailable(_) => "the external auth provider could not be reached".to_owned(),
            other => other.to_string(),
        }
    }

    /// True for failures of the server rather than of the request; those are logged.
    pub fn is_server_fault(&self) -> bool {
        matches!(self, Error::Store(_) | Error::Internal(_) | Error::AuthProviderUnavailable(_) | Error::Unavailable(_))
    }

    pub fn to_api(&self) -> ApiError {
        let retry_after = match self {
            Error::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        ApiError { code: self.code(), message: self.public_message(), retry_after }
    }
}
