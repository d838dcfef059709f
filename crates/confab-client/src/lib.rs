//! The Rust SDK for Confab: a REST [`Client`] and a WebSocket [`Connection`], speaking the wire
//! types of `confab-proto`. The server's own integration tests drive it, so it tracks the server.
//!
//! ```no_run
//! # async fn demo() -> Result<(), confab_client::ClientError> {
//! use confab_client::Client;
//! use confab_proto::frames::{Event, SendMessage};
//!
//! let server = "http://127.0.0.1:8080";
//! let (alice, _) = Client::sign_up(server, "alice", "correct horse battery").await?;
//! let (bob, bob_auth) = Client::sign_up(server, "bob", "staple battery horse").await?;
//!
//! // Bob listens; the connection is ready (signed in) once `connect` returns.
//! let mut bob_socket = bob.connect().await?;
//!
//! // Alice writes over her own socket and gets the stored message back in the ack.
//! let dm = alice.open_direct(bob_auth.user.id).await?;
//! let mut alice_socket = alice.connect().await?;
//! let message = SendMessage::text(dm.id, "hi Bob");
//! let sent = alice_socket.send_message(message).await?;
//!
//! loop {
//!     if let Event::MessageCreated(received) = bob_socket.next_event().await?.event {
//!         assert_eq!(received.id, sent.id);
//!         break;
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! A [`Connection`] reads events in order with [`Connection::next_event`]; a
//! [`Connection::request`] (and the typed helpers built on it) waits for its own `ack` and keeps
//! the events that arrive meanwhile for later, so nothing is lost by sending.
//!
//! Errors are one [`ClientError`]: refusals keep the server's [`confab_proto::ErrorCode`]
//! ([`ClientError::code`]), closes keep the close code ([`ClientError::Closed`]).
//!
//! Transport: REST works over `http://` and `https://` (reqwest with rustls and the ring
//! provider, installed on first use). The WebSocket supports `ws://` only for now; `wss://` needs
//! one of tokio-tungstenite's TLS features, which is not enabled yet. Behind a TLS-terminating
//! proxy, point the client at the proxy's plain side or add that feature.

#![warn(missing_docs)]

mod error;
mod gateway;
mod handshake;
mod response;
mod rest;
pub mod webhooks;

pub use error::ClientError;
pub use gateway::{Connection, RawFrame};
pub use handshake::ConnectOptions;
pub use response::{RawBody, RawResponse};
pub use rest::{Client, DEFAULT_CHUNK, NewUpload};

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
