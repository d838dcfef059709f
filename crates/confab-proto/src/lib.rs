//! Confab's wire contract: every JSON body the REST API takes or returns, every WebSocket frame,
//! every error code and close code. Serde only, no I/O: the server, the Rust SDK, the load
//! generator and the tests all speak through these types, so the contract lives in one place.

pub mod bots;
pub mod error;
pub mod frames;
pub mod ids;
pub mod media;
pub mod number;
pub mod optional;
pub mod rest;

pub use error::{ApiError, ErrorBody, ErrorCode};
pub use ids::{AttachmentId, ConversationId, MessageId, SessionId, StickerId, StickerPackId, UploadId, UserId};

/// The WebSocket subprotocol spoken by this version of the gateway.
pub const WS_SUBPROTOCOL: &str = "confab.v1";
/// Prefix of the second subprotocol entry that carries the access token.
pub const WS_BEARER_PREFIX: &str = "bearer.";
