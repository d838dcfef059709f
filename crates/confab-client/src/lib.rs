//! The Rust SDK for Confab: a REST [`Client`] and a WebSocket [`Connection`], speaking the wire
//! types of `confab-proto`. The server's own integration tests drive it, so it tracks the server.
//!
//! ```no_run
//! # async fn demo() -> Result<(), confab_client::ClientError> {
//! use confab_client::Client;
//! use confab_proto::frames::{Event, SendMessage};
//!
//! let (alice, _) = Client::sign_up("http://127.0.0.1:8080", "alice", "correct horse battery").await?;
//! let bob = alice.user(alice.me().await?.id).await?; // any user id will do here
//! let dm = alice.open_direct(bob.id).await?;
//!
//! let mut socket = alice.connect().await?;
//! let sent = socket
//!     .send_message(SendMessage { conversation_id: dm.id, body: "hi".into(), client_id: None, reply_to: None })
//!     .await?;
//! while let Ok(frame) = socket.next_event().await {
//!     if let Event::MessageCreated(message) = frame.event {
//!         println!("{}: {}", message.sender_id, message.body);
//!     }
//! }
//! # let _ = sent; Ok(()) }
//! ```
//!
//! Only `ws://` and `http://` URLs are supported for the WebSocket for now; `https://` REST works
//! (rustls with the ring provider).

mod error;
mod gateway;
mod rest;
pub mod webhooks;

pub use error::ClientError;
pub use gateway::{ConnectOptions, Connection, RawFrame};
pub use rest::{Client, RawBody, RawResponse};

/// Percent-encodes a URL path segment or query value (tickets, emojis).
pub(crate) fn encode_component(value: &str) -> String {
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

#[cfg(test)]
mod tests {
    #[test]
    fn url_components_are_encoded() {
        assert_eq!(super::encode_component("abc-_~.9"), "abc-_~.9");
        assert_eq!(super::encode_component("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(super::encode_component("👍"), "%F0%9F%91%8D");
    }
}
