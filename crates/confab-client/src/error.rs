//! The one error type of the SDK. Refusals by the server keep their machine-readable
//! [`ErrorCode`] so that callers (and the server's own tests) match on codes, never on text.

use confab_proto::{ApiError, ErrorCode};

/// Everything that can go wrong talking to a Confab server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base URL or WebSocket URL cannot be used.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// A [`crate::ConnectOptions`] value (origin, subprotocols) cannot be sent as an HTTP header.
    #[error("invalid connect option: {0}")]
    InvalidOption(String),
    /// The request did not get an answer (connection refused, TLS, timeout, …).
    #[error("HTTP transport error: {0}")]
    Http(#[from] reqwest::Error),
    /// The server refused the request with a Confab error body.
    #[error("{status} {}: {}", error.code.as_str(), error.message)]
    Api {
        /// The HTTP status of the refusal.
        status: u16,
        /// The `error` object of the body.
        error: ApiError,
    },
    /// The server answered over HTTP with something the protocol does not promise: an error
    /// status without an error body, or a success body of the wrong shape.
    #[error("unexpected response ({status}): {body}")]
    UnexpectedResponse {
        /// The HTTP status.
        status: u16,
        /// The body as text (lossily decoded).
        body: String,
    },
    /// The WebSocket handshake was refused with an HTTP answer instead of `101 Switching Protocols`.
    #[error("WebSocket handshake refused ({status}): {body}")]
    Handshake {
        /// The HTTP status (401 for bad credentials, 403 for a foreign origin, …).
        status: u16,
        /// The body as text, usually a Confab error body.
        body: String,
    },
    /// The WebSocket failed below the protocol (I/O, framing, TLS not compiled in).
    #[error("WebSocket error: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// A text frame from the server is not a [`confab_proto::frames::ServerFrame`].
    #[error("cannot decode a server frame ({source}): {frame}")]
    Decode {
        /// The frame as received, cut to a few hundred characters.
        frame: String,
        /// What serde found wrong with it.
        source: serde_json::Error,
    },
    /// A command could not be written as JSON (not expected with the types of `confab-proto`).
    #[error("cannot encode a command: {0}")]
    Encode(serde_json::Error),
    /// The server broke the gateway protocol: a first frame other than `ready`, a binary frame,
    /// or an `ack` whose data does not fit the command.
    #[error("gateway protocol violation: {0}")]
    Protocol(String),
    /// A command was refused with an `error` frame.
    #[error("command refused: {} ({})", .0.code.as_str(), .0.message)]
    Command(ApiError),
    /// The WebSocket is closed: the server's close code and reason, 1005 when its close frame
    /// carried no code, or 1006 when the connection ended without a close frame.
    #[error("connection closed ({code}): {reason}")]
    Closed {
        /// The close code (see [`confab_proto::frames::close_code`] for Confab's own).
        code: u16,
        /// The reason the server gave, possibly empty.
        reason: String,
    },
    /// Nothing arrived within the time given.
    #[error("timed out")]
    Timeout,
}

impl ClientError {
    /// The Confab error code, for REST refusals and refused commands.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api { error, .. } | ClientError::Command(error) => Some(error.code),
            _ => None,
        }
    }

    /// The HTTP status, for REST refusals and refused WebSocket handshakes.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. }
            | ClientError::UnexpectedResponse { status, .. }
            | ClientError::Handshake { status, .. } => Some(*status),
            ClientError::Http(e) => e.status().map(|s| s.as_u16()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_expose_code_and_status() {
        let error = ApiError::new(ErrorCode::TokenExpired, "expired");
        let refused = ClientError::Api { status: 401, error: error.clone() };
        assert_eq!(refused.code(), Some(ErrorCode::TokenExpired));
        assert_eq!(refused.status(), Some(401));
        assert_eq!(refused.to_string(), "401 token_expired: expired");

        let command = ClientError::Command(error);
        assert_eq!(command.code(), Some(ErrorCode::TokenExpired));
        assert_eq!(command.status(), None);

        assert_eq!(ClientError::Closed { code: 4009, reason: "revoked".into() }.code(), None);
    }
}
