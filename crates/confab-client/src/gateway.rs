//! The WebSocket half of the SDK: open an authenticated connection, read events, and send
//! commands, optionally waiting for their `ack`.

use std::collections::VecDeque;
use std::time::Duration;

use confab_proto::frames::{
    Ack, Command, ConversationRef, EditMessage, Event, MessageRef, ReactionRef, ReadUpTo, Ready, SendMessage,
    ServerFrame, SyncRequest, SyncResult,
};
use confab_proto::rest::Message as ChatMessage;
use confab_proto::{ConversationId, MessageId};
use confab_proto::{WS_BEARER_PREFIX, WS_SUBPROTOCOL};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::ClientError;

/// How to open a connection. [`crate::Client::connect`] fills it in; tests use it directly to
/// present bad credentials, a foreign `Origin`, or unusual subprotocols.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// Sent as the subprotocol `bearer.<token>` next to `confab.v1`.
    pub bearer: Option<String>,
    /// Sent as `?ticket=`.
    pub ticket: Option<String>,
    /// An `Origin` header, as a browser would send.
    pub origin: Option<String>,
    /// Replaces the offered subprotocols entirely.
    pub subprotocols: Option<Vec<String>>,
}

/// A frame exactly as given, for tests that must send what a well-behaved client would not.
#[derive(Debug, Clone)]
pub struct RawFrame(Message);

impl RawFrame {
    /// A final text frame whose payload need not be UTF-8.
    pub fn text_bytes(bytes: Vec<u8>) -> RawFrame {
        RawFrame(Message::Frame(Frame::message(bytes, OpCode::Data(Data::Text), true)))
    }
}

/// An open, authenticated WebSocket to Confab.
pub struct Connection {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    ready: Ready,
    protocol: Option<String>,
    /// Frames read while waiting for an `ack`, kept in arrival order for `next_event`.
    pending: VecDeque<ServerFrame>,
    next_id: u64,
}

/// Buffers of a few KiB: the load generator opens tens of thousands of connections.
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(8 * 1024).write_buffer_size(4 * 1024).max_message_size(Some(16 << 20))
}

impl Connection {
    /// Opens `url` (`ws://host:port/api/v1/ws`) and waits for the `ready` frame.
    pub async fn open(url: &str, options: ConnectOptions) -> Result<Connection, ClientError> {
        let url = match &options.ticket {
            Some(ticket) => format!("{url}?ticket={}", crate::encode_component(ticket)),
            None => url.to_owned(),
        };
        let mut request = url.as_str().into_client_request()?;
        let offered = options.subprotocols.unwrap_or_else(|| {
            let mut protocols = vec![WS_SUBPROTOCOL.to_owned()];
            if let Some(token) = &options.bearer {
                protocols.push(format!("{WS_BEARER_PREFIX}{token}"));
            }
            protocols
        });
        let headers = request.headers_mut();
        if !offered.is_empty() {
            let value = HeaderValue::from_str(&offered.join(", "))
                .map_err(|_| ClientError::InvalidUrl("subprotocol list is not a valid header".into()))?;
            headers.insert("sec-websocket-protocol", value);
        }
        if let Some(origin) = &options.origin {
            let value = HeaderValue::from_str(origin)
                .map_err(|_| ClientError::InvalidUrl("origin is not a valid header".into()))?;
            headers.insert("origin", value);
        }

        let (socket, response) =
            match tokio_tungstenite::connect_async_with_config(request, Some(socket_config()), false).await {
                Ok(ok) => ok,
                Err(tungstenite::Error::Http(response)) => {
                    let status = response.status().as_u16();
                    let body = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default().into_owned();
                    return Err(ClientError::Handshake { status, body });
                }
                Err(e) => return Err(e.into()),
            };
        let protocol =
            response.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut socket = socket;
        let ready = match read_frame(&mut socket).await?.event {
            Event::Ready(ready) => ready,
            other => {
                return Err(ClientError::UnexpectedResponse {
                    status: 101,
                    body: format!("expected ready as first frame, got {other:?}"),
                });
            }
        };
        Ok(Connection { socket, ready, protocol, pending: VecDeque::new(), next_id: 0 })
    }

    /// The `ready` frame the server opened with: the user, the session, the limits.
    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    /// The subprotocol the server chose (`confab.v1`).
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The next server frame (events, and answers not claimed by [`Connection::request`]).
    pub async fn next_event(&mut self) -> Result<ServerFrame, ClientError> {
        match self.pending.pop_front() {
            Some(frame) => Ok(frame),
            None => self.read_frame().await,
        }
    }

    /// [`Connection::next_event`], giving up with [`ClientError::Timeout`] after `timeout`.
    pub async fn next_event_timeout(&mut self, timeout: Duration) -> Result<ServerFrame, ClientError> {
        tokio::time::timeout(timeout, self.next_event()).await.map_err(|_| ClientError::Timeout)?
    }

    /// Sends `command` with a fresh id and waits for its `ack` (or `error`, as
    /// [`ClientError::Command`]). Events arriving meanwhile are kept for `next_event`.
    pub async fn request(&mut self, command: Command) -> Result<Ack, ClientError> {
        self.next_id += 1;
        let id = format!("c{}", self.next_id);
        self.send_command(Some(&id), &command).await?;
        loop {
            let frame = self.read_frame().await?;
            if frame.id.as_deref() == Some(id.as_str()) {
                return match frame.event {
                    Event::Ack(ack) => Ok(ack),
                    Event::Error(error) => Err(ClientError::Command(error)),
                    other => Err(ClientError::UnexpectedResponse { status: 101, body: format!("{other:?}") }),
                };
            }
            self.pending.push_back(frame);
        }
    }

    /// Sends a message and returns it as stored, once the server has committed it.
    pub async fn send_message(&mut self, message: SendMessage) -> Result<ChatMessage, ClientError> {
        expect_message(self.request(Command::SendMessage(message)).await?)
    }

    pub async fn edit_message(
        &mut self,
        conversation_id: ConversationId,
        message_id: MessageId,
        body: &str,
    ) -> Result<ChatMessage, ClientError> {
        let edit = EditMessage { conversation_id, message_id, body: body.to_owned() };
        expect_message(self.request(Command::EditMessage(edit)).await?)
    }

    pub async fn delete_message(
        &mut self,
        conversation_id: ConversationId,
        message_id: MessageId,
    ) -> Result<ChatMessage, ClientError> {
        expect_message(self.request(Command::DeleteMessage(MessageRef { conversation_id, message_id })).await?)
    }

    /// Adds (`present`) or removes a reaction.
    pub async fn react(
        &mut self,
        conversation_id: ConversationId,
        message_id: MessageId,
        emoji: &str,
        present: bool,
    ) -> Result<ChatMessage, ClientError> {
        let reaction = ReactionRef { conversation_id, message_id, emoji: emoji.to_owned() };
        let command = if present { Command::AddReaction(reaction) } else { Command::RemoveReaction(reaction) };
        expect_message(self.request(command).await?)
    }

    pub async fn typing(&mut self, conversation_id: ConversationId) -> Result<(), ClientError> {
        self.request(Command::Typing(ConversationRef { conversation_id })).await.map(|_| ())
    }

    pub async fn mark_read(&mut self, conversation_id: ConversationId, seq: i64) -> Result<(), ClientError> {
        self.request(Command::Read(ReadUpTo { conversation_id, seq })).await.map(|_| ())
    }

    pub async fn sync(&mut self, request: SyncRequest) -> Result<SyncResult, ClientError> {
        match self.request(Command::Sync(request)).await? {
            Ack::Sync(result) => Ok(result),
            other => Err(ClientError::UnexpectedResponse { status: 101, body: format!("{other:?}") }),
        }
    }

    /// Sends a command without waiting for anything.
    pub async fn send_command(&mut self, id: Option<&str>, command: &Command) -> Result<(), ClientError> {
        let mut frame = serde_json::to_value(command)?;
        if let (Some(id), Some(object)) = (id, frame.as_object_mut()) {
            object.insert("id".into(), id.into());
        }
        self.send_text(frame.to_string()).await
    }

    pub async fn send_text(&mut self, text: String) -> Result<(), ClientError> {
        Ok(self.socket.send(Message::text(text)).await?)
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) -> Result<(), ClientError> {
        Ok(self.socket.send(Message::binary(bytes)).await?)
    }

    pub async fn send_raw_frame(&mut self, frame: RawFrame) -> Result<(), ClientError> {
        Ok(self.socket.send(frame.0).await?)
    }

    /// Reads until the server closes the connection, and returns its close code and reason.
    pub async fn expect_closed(&mut self, timeout: Duration) -> Result<(u16, String), ClientError> {
        let wait = async {
            loop {
                match self.read_frame().await {
                    Ok(_) => continue,
                    Err(ClientError::Closed { code, reason }) => return Ok((code, reason)),
                    Err(e) => return Err(e),
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.map_err(|_| ClientError::Timeout)?
    }

    /// Closes the connection normally.
    pub async fn close(mut self) -> Result<(), ClientError> {
        Ok(self.socket.close(None).await?)
    }

    async fn read_frame(&mut self) -> Result<ServerFrame, ClientError> {
        read_frame(&mut self.socket).await
    }
}

/// The next text frame, decoded; pings are answered by tungstenite while we read.
async fn read_frame(socket: &mut WebSocketStream<MaybeTlsStream<TcpStream>>) -> Result<ServerFrame, ClientError> {
    loop {
        let Some(message) = socket.next().await else {
            return Err(ClientError::Closed { code: 1006, reason: "connection ended without a close frame".into() });
        };
        match message? {
            Message::Text(text) => return Ok(serde_json::from_str(text.as_str())?),
            Message::Close(frame) => {
                let (code, reason) =
                    frame.map(|f| (u16::from(f.code), f.reason.as_str().to_owned())).unwrap_or((1005, String::new()));
                return Err(ClientError::Closed { code, reason });
            }
            Message::Ping(_) | Message::Pong(_) | Message::Binary(_) | Message::Frame(_) => continue,
        }
    }
}

fn expect_message(ack: Ack) -> Result<ChatMessage, ClientError> {
    match ack {
        Ack::Message(message) => Ok(*message),
        other => Err(ClientError::UnexpectedResponse { status: 101, body: format!("{other:?}") }),
    }
}
