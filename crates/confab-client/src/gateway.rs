//! The WebSocket half of the SDK: an authenticated [`Connection`] that reads server events and
//! sends commands, optionally waiting for their `ack`.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use confab_proto::frames::{
    Ack, Command, ConversationRef, EditMessage, Event, MessageRef, ReactionRef, ReadUpTo, Ready, Resync, SendMessage,
    ServerFrame, SyncPosition, SyncRequest, SyncResult,
};
use confab_proto::rest::Message as ChatMessage;
use confab_proto::{ConversationId, MessageId};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::error::ClientError;
use crate::handshake::{self, ConnectOptions, Socket};

/// How long [`Connection::close`] waits for the server to answer the close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// How much of an undecodable frame [`ClientError::Decode`] keeps.
const DECODE_EXCERPT_CHARS: usize = 300;

/// A frame exactly as given, for tests that must send what a well-behaved client would not.
/// Any tungstenite [`Message`] converts into one.
#[derive(Debug, Clone)]
pub struct RawFrame(Message);

impl RawFrame {
    /// A final text frame whose payload need not be UTF-8 (tungstenite's `Message::Text` must be).
    pub fn text_bytes(bytes: Vec<u8>) -> RawFrame {
        RawFrame(Message::Frame(Frame::message(bytes, OpCode::Data(Data::Text), true)))
    }
}

impl From<Message> for RawFrame {
    fn from(message: Message) -> RawFrame {
        RawFrame(message)
    }
}

/// An open, authenticated WebSocket to Confab's gateway.
///
/// Reading drives the connection: tungstenite answers the server's pings only while some call
/// here is reading, so a connection nobody reads is eventually closed for idleness.
pub struct Connection {
    socket: Socket,
    ready: Ready,
    protocol: Option<String>,
    /// Frames read while [`Connection::request`] waited for its answer, in arrival order, so that
    /// [`Connection::next_event`] still sees every event exactly once.
    pending: VecDeque<ServerFrame>,
    command_ids: CommandIds,
    /// The close once seen: tungstenite reports it only once, but every later read must tell
    /// the same story instead of an anonymous 1006.
    closed: Option<(u16, String)>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("user", &self.ready.user.id)
            .field("session", &self.ready.session_id)
            .field("protocol", &self.protocol)
            .field("pending", &self.pending.len())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Opens `url` (`ws://host:port/api/v1/ws`) with `options` and waits for the `ready` frame.
    /// A refused handshake is [`ClientError::Handshake`] with the server's status and body.
    /// There is no timeout of its own: wrap the call in `tokio::time::timeout` where one matters.
    pub async fn open(url: &str, options: ConnectOptions) -> Result<Connection, ClientError> {
        let (mut socket, protocol) = handshake::open(url, &options).await?;
        let mut closed = None;
        let ready = match next_frame(&mut socket, &mut closed).await?.event {
            Event::Ready(ready) => ready,
            other => return Err(ClientError::Protocol(format!("expected ready as the first frame, got {other:?}"))),
        };
        Ok(Connection { socket, ready, protocol, pending: VecDeque::new(), command_ids: CommandIds::default(), closed })
    }

    /// The `ready` frame the server opened with: the user, the session, the limits.
    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    /// The subprotocol the server chose (`confab.v1`), if it chose one.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The next server frame: events, and answers not claimed by [`Connection::request`]. A close
    /// is [`ClientError::Closed`], again on every later call.
    pub async fn next_event(&mut self) -> Result<ServerFrame, ClientError> {
        match self.pending.pop_front() {
            Some(frame) => Ok(frame),
            None => self.read_frame().await,
        }
    }

    /// [`Connection::next_event`], giving up with [`ClientError::Timeout`] after `timeout`.
    /// Nothing is lost on timeout: a frame half-read stays buffered for the next call.
    pub async fn next_event_timeout(&mut self, timeout: Duration) -> Result<ServerFrame, ClientError> {
        tokio::time::timeout(timeout, self.next_event()).await.map_err(|_| ClientError::Timeout)?
    }

    /// Sends `command` with a fresh id and waits for its `ack`, or its `error` as
    /// [`ClientError::Command`]. Frames arriving meanwhile are kept, in order, for
    /// [`Connection::next_event`]. Ids are `c1`, `c2`, …: avoid those in [`Connection::send_command`].
    pub async fn request(&mut self, command: Command) -> Result<Ack, ClientError> {
        let id = self.command_ids.next_id();
        self.send_command(Some(&id), &command).await?;
        loop {
            let frame = self.read_frame().await?;
            if frame.id.as_deref() == Some(id.as_str()) {
                return answer(&id, frame.event);
            }
            self.pending.push_back(frame);
        }
    }

    /// Sends a message and returns it as stored, once the server has committed it.
    pub async fn send_message(&mut self, message: SendMessage) -> Result<ChatMessage, ClientError> {
        expect_message(self.request(Command::SendMessage(message)).await?)
    }

    /// Edits one's own message; returns it as updated.
    pub async fn edit_message(
        &mut self,
        conversation_id: ConversationId,
        message_id: MessageId,
        body: &str,
    ) -> Result<ChatMessage, ClientError> {
        let edit =
            EditMessage { conversation_id, message_id, body: body.to_owned(), tones: Vec::new(), literal: false };
        expect_message(self.request(Command::EditMessage(edit)).await?)
    }

    /// Deletes a message for everyone; returns the tombstone.
    pub async fn delete_message(
        &mut self,
        conversation_id: ConversationId,
        message_id: MessageId,
    ) -> Result<ChatMessage, ClientError> {
        expect_message(self.request(Command::DeleteMessage(MessageRef { conversation_id, message_id })).await?)
    }

    /// Adds (`present`) or removes one's reaction; returns the message with its reactions.
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

    /// Says "I am typing"; repeat every few seconds while the user types.
    pub async fn typing(&mut self, conversation_id: ConversationId) -> Result<(), ClientError> {
        self.request(Command::Typing(ConversationRef { conversation_id })).await.map(|_| ())
    }

    /// Marks the conversation read up to `seq` (read state only moves forward).
    pub async fn mark_read(&mut self, conversation_id: ConversationId, seq: i64) -> Result<(), ClientError> {
        self.request(Command::Read(ReadUpTo { conversation_id, seq })).await.map(|_| ())
    }

    /// Everything changed since the given positions: how a client catches up after a reconnect.
    pub async fn sync(&mut self, request: SyncRequest) -> Result<SyncResult, ClientError> {
        match self.request(Command::Sync(request)).await? {
            Ack::Sync(result) => Ok(result),
            other => Err(ClientError::Protocol(format!("sync was acked with {other:?}"))),
        }
    }

    /// Answers a `resync` event (events between the server's nodes were lost or could not be
    /// kept in order): lowers `positions` where it says, then syncs from them. Apply the result
    /// as after a reconnect, and keep the positions it reaches.
    pub async fn resync(&mut self, resync: &Resync, positions: &mut [SyncPosition]) -> Result<SyncResult, ClientError> {
        resync.rewind(positions);
        self.sync(SyncRequest { conversations: positions.to_vec(), limit: None }).await
    }

    /// Sends a command, with `id` when given, without waiting for anything.
    pub async fn send_command(&mut self, id: Option<&str>, command: &Command) -> Result<(), ClientError> {
        let frame = serde_json::to_string(&OutgoingFrame { id, command }).map_err(ClientError::Encode)?;
        self.send_text(frame).await
    }

    /// Sends a text frame as is, JSON or not.
    pub async fn send_text(&mut self, text: String) -> Result<(), ClientError> {
        Ok(self.socket.send(Message::text(text)).await?)
    }

    /// Sends a binary frame (the gateway speaks text only).
    pub async fn send_binary(&mut self, bytes: Vec<u8>) -> Result<(), ClientError> {
        Ok(self.socket.send(Message::binary(bytes)).await?)
    }

    /// Sends any frame, malformed ones included (see [`RawFrame`]).
    pub async fn send_raw_frame(&mut self, frame: impl Into<RawFrame>) -> Result<(), ClientError> {
        Ok(self.socket.send(frame.into().0).await?)
    }

    /// Reads until the server closes the connection, and returns its close code and reason.
    /// Frames read meanwhile are dropped, undecodable ones included; a connection that ends
    /// without a close frame gives `1006`.
    pub async fn expect_closed(&mut self, timeout: Duration) -> Result<(u16, String), ClientError> {
        let wait = async {
            loop {
                match self.read_frame().await {
                    Ok(_) | Err(ClientError::Decode { .. } | ClientError::Protocol(_)) => continue,
                    Err(ClientError::Closed { code, reason }) => return Ok((code, reason)),
                    Err(e) => return Err(e),
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.map_err(|_| ClientError::Timeout)?
    }

    /// Closes the connection normally and waits briefly for the server's answering close, so
    /// that the server sees a clean close rather than a reset. Closing a connection the server
    /// already closed is not an error.
    pub async fn close(mut self) -> Result<(), ClientError> {
        if self.closed.is_some() {
            return Ok(());
        }
        match self.socket.close(None).await {
            Ok(()) => {}
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let drain = async { while let Some(Ok(_)) = self.socket.next().await {} };
        let _ = tokio::time::timeout(CLOSE_GRACE, drain).await;
        Ok(())
    }

    async fn read_frame(&mut self) -> Result<ServerFrame, ClientError> {
        next_frame(&mut self.socket, &mut self.closed).await
    }
}

/// The next text frame from `socket`, decoded; pings are answered by tungstenite while this
/// reads. A close is recorded in `closed` and reported from there on every later call.
async fn next_frame(socket: &mut Socket, closed: &mut Option<(u16, String)>) -> Result<ServerFrame, ClientError> {
    loop {
        if let Some((code, reason)) = closed {
            return Err(ClientError::Closed { code: *code, reason: reason.clone() });
        }
        match socket.next().await {
            Some(Ok(Message::Text(text))) => return decode_frame(text.as_str()),
            Some(Ok(Message::Close(frame))) => {
                *closed = Some(close_code_and_reason(frame));
                // tungstenite queues the answering close but sends it only with the next write;
                // without this the server waits for it until its own timeout. Failing to send it
                // changes nothing for us: the connection is over either way.
                let _ = socket.flush().await;
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            Some(Ok(Message::Binary(bytes))) => {
                return Err(ClientError::Protocol(format!("binary frame of {} bytes", bytes.len())));
            }
            Some(Err(e)) => return Err(e.into()),
            None => *closed = Some((1006, "connection ended without a close frame".into())),
        }
    }
}

/// The outcome of command `id`, from the `ack` or `error` frame that carries its id.
fn answer(id: &str, event: Event) -> Result<Ack, ClientError> {
    match event {
        Event::Ack(ack) => Ok(ack),
        Event::Error(error) => Err(ClientError::Command(error)),
        other => Err(ClientError::Protocol(format!("command {id} was answered with {other:?}"))),
    }
}

/// Ids for [`Connection::request`]: unique within a connection, which is all the server needs.
#[derive(Debug, Default)]
struct CommandIds {
    issued: u64,
}

impl CommandIds {
    fn next_id(&mut self) -> String {
        self.issued += 1;
        format!("c{}", self.issued)
    }
}

/// A client frame on the wire: `{"type", "data"}` of the command plus an optional `id`.
#[derive(Serialize)]
struct OutgoingFrame<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(flatten)]
    command: &'a Command,
}

fn decode_frame(text: &str) -> Result<ServerFrame, ClientError> {
    serde_json::from_str(text).map_err(|source| {
        let frame = match text.char_indices().nth(DECODE_EXCERPT_CHARS) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text.to_owned(),
        };
        ClientError::Decode { frame, source }
    })
}

/// A close frame without a code is reported as 1005 ("no status received"), as RFC 6455 says.
fn close_code_and_reason(frame: Option<CloseFrame>) -> (u16, String) {
    frame.map(|f| (u16::from(f.code), f.reason.as_str().to_owned())).unwrap_or((1005, String::new()))
}

fn expect_message(ack: Ack) -> Result<ChatMessage, ClientError> {
    match ack {
        Ack::Message(message) => Ok(*message),
        other => Err(ClientError::Protocol(format!("expected a message in the ack, got {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use confab_proto::{ApiError, ErrorCode};
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    use super::*;

    fn frame(json: serde_json::Value) -> ServerFrame {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn command_ids_are_fresh_per_request() {
        let mut ids = CommandIds::default();
        assert_eq!([ids.next_id(), ids.next_id(), ids.next_id()], ["c1", "c2", "c3"]);
    }

    #[test]
    fn commands_are_written_with_their_id() {
        let ping = serde_json::to_value(OutgoingFrame { id: Some("c7"), command: &Command::Ping }).unwrap();
        assert_eq!(ping, serde_json::json!({"id": "c7", "type": "ping"}));
        let typing = Command::Typing(ConversationRef { conversation_id: ConversationId(5) });
        let typing = serde_json::to_value(OutgoingFrame { id: None, command: &typing }).unwrap();
        assert_eq!(typing, serde_json::json!({"type": "typing", "data": {"conversation_id": "5"}}));
    }

    #[test]
    fn acks_settle_and_errors_refuse_a_request() {
        let ack = frame(serde_json::json!({"id": "c2", "type": "ack", "data": {}}));
        assert!(matches!(answer("c2", ack.event), Ok(Ack::Empty {})));

        let refused =
            frame(serde_json::json!({"id": "c2", "type": "error", "data": {"code": "forbidden", "message": ""}}));
        match answer("c2", refused.event) {
            Err(ClientError::Command(ApiError { code: ErrorCode::Forbidden, .. })) => {}
            other => panic!("an error frame must refuse the request: {other:?}"),
        }

        let event = frame(serde_json::json!({"type": "typing", "data": {
            "conversation_id": "1", "user_id": "2", "expires_in_ms": 5000}}));
        assert!(matches!(answer("c2", event.event), Err(ClientError::Protocol(_))));
    }

    #[test]
    fn undecodable_frames_are_reported_with_an_excerpt() {
        let long = format!("{{\"type\": \"{}\"}}", "x".repeat(1000));
        match decode_frame(&long) {
            Err(ClientError::Decode { frame, .. }) => assert_eq!(frame.chars().count(), DECODE_EXCERPT_CHARS + 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn close_frames_give_code_and_reason() {
        let frame = CloseFrame { code: CloseCode::from(4009), reason: "session revoked".into() };
        assert_eq!(close_code_and_reason(Some(frame)), (4009, "session revoked".to_owned()));
        assert_eq!(close_code_and_reason(None), (1005, String::new()));
    }
}
