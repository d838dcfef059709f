use confab_proto::ApiError;

/// Everything that can go wrong talking to a Confab server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base URL cannot be used.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The request did not get an answer (connection refused, TLS, timeout, …).
    #[error("HTTP transport error: {0}")]
    Http(#[from] reqwest::Error),
    /// The server refused the request with a Confab error body.
    #[error("{status} {}: {}", error.code.as_str(), error.message)]
    Api { status: u16, error: ApiError },
    /// The server answered something that is not what the protocol promises.
    #[error("unexpected response ({status}): {body}")]
    UnexpectedResponse { status: u16, body: String },
    /// The WebSocket handshake was refused with an HTTP answer (body included, usually an error body).
    #[error("WebSocket handshake refused ({status}): {body}")]
    Handshake { status: u16, body: String },
    /// The WebSocket failed below the protocol (I/O, framing).
    #[error("WebSocket error: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// A frame from the server could not be decoded.
    #[error("cannot decode a server frame: {0}")]
    Decode(#[from] serde_json::Error),
    /// A command was refused with an `error` frame.
    #[error("command refused: {} ({})", .0.code.as_str(), .0.message)]
    Command(ApiError),
    /// The server closed the WebSocket.
    #[error("connection closed ({code}): {reason}")]
    Closed { code: u16, reason: String },
    /// Nothing arrived within the time given.
    #[error("timed out")]
    Timeout,
}

impl ClientError {
    /// The Confab error code, for API refusals and refused commands.
    pub fn code(&self) -> Option<confab_proto::ErrorCode> {
        match self {
            ClientError::Api { error, .. } | ClientError::Command(error) => Some(error.code),
            _ => None,
        }
    }
}
