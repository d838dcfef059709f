//! WebSocket frames. Every frame is a JSON text frame `{"type": "...", "id"?: "...", "data": {...}}`.
//!
//! A client command may carry an `id` (1–64 characters); the server answers it with an `ack` or an
//! `error` frame with the same `id`. Events pushed by the server carry no `id`.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorCode};
use crate::ids::{ConversationId, MessageId, SessionId, StickerId, UploadId, UserId};
use crate::rest::{Contact, Conversation, Message, Notification, Presence, User};

/// Longest accepted command `id`.
pub const MAX_FRAME_ID_LEN: usize = 64;

/// A command sent by a client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Command {
    /// Send a message; acked with the stored [`Message`] once it is committed.
    #[serde(rename = "message.send")]
    SendMessage(SendMessage),
    /// Edit one's own message; acked with the updated [`Message`].
    #[serde(rename = "message.edit")]
    EditMessage(EditMessage),
    /// Delete a message for everyone (a tombstone remains); acked with the tombstone.
    #[serde(rename = "message.delete")]
    DeleteMessage(MessageRef),
    /// Add a reaction; acked with the updated [`Message`].
    #[serde(rename = "reaction.add")]
    AddReaction(ReactionRef),
    /// Remove one's reaction; acked with the updated [`Message`].
    #[serde(rename = "reaction.remove")]
    RemoveReaction(ReactionRef),
    /// "I am typing" in a conversation; repeat every few seconds while typing. Acked with `{}`.
    #[serde(rename = "typing")]
    Typing(ConversationRef),
    /// Mark a conversation read up to `seq`; acked with `{}`.
    #[serde(rename = "read")]
    Read(ReadUpTo),
    /// Invite the conversation (or one member) to an activity; acked with the invitation message.
    #[serde(rename = "invitation.send")]
    SendInvitation(SendInvitation),
    /// Accept an invitation; acked with the message (state `accepted`).
    #[serde(rename = "invitation.accept")]
    AcceptInvitation(MessageRef),
    #[serde(rename = "invitation.decline")]
    DeclineInvitation(MessageRef),
    /// Only the inviter may cancel.
    #[serde(rename = "invitation.cancel")]
    CancelInvitation(MessageRef),
    /// Fetch everything changed since the client's positions; acked with a [`SyncResult`].
    #[serde(rename = "sync")]
    Sync(SyncRequest),
    /// Application-level liveness check; acked with `{}`.
    #[serde(rename = "ping")]
    Ping,
}

/// Data of `message.send`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    pub conversation_id: ConversationId,
    #[serde(default)]
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<MessageId>,
    /// Complete uploads the message carries (see `SendMessageRequest::attachments`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<UploadId>,
    /// As `SendMessageRequest::tones`, `literal` and `sticker_id`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tones: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub literal: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticker_id: Option<StickerId>,
}

impl SendMessage {
    /// A plain text message: no client id, reply, attachments or chosen tones.
    pub fn text(conversation_id: ConversationId, body: impl Into<String>) -> SendMessage {
        SendMessage {
            conversation_id,
            body: body.into(),
            client_id: None,
            reply_to: None,
            attachments: Vec::new(),
            tones: Vec::new(),
            literal: false,
            sticker_id: None,
        }
    }
}

/// Data of `invitation.send`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendInvitation {
    pub conversation_id: ConversationId,
    pub activity: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitee: Option<UserId>,
}

/// Data of `message.edit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMessage {
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
    pub body: String,
    /// As for `PATCH …/messages/{id}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tones: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub literal: bool,
}

/// Data of `message.delete`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageRef {
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
}

/// Data of `reaction.add` and `reaction.remove`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReactionRef {
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
    pub emoji: String,
}

/// Data of `typing`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationRef {
    pub conversation_id: ConversationId,
}

/// Data of `read`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadUpTo {
    pub conversation_id: ConversationId,
    #[serde(deserialize_with = "crate::number::whole")]
    pub seq: i64,
}

/// Data of `sync`: the `version` the client has reached in each conversation it knows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    pub conversations: Vec<SyncPosition>,
    /// Most messages in one answer (1–1000, default 500).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::number::whole_opt")]
    #[schema(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncPosition {
    pub id: ConversationId,
    /// The highest `version` the client has applied (0 for nothing); never negative.
    #[schema(minimum = 0)]
    #[serde(deserialize_with = "crate::number::whole")]
    pub version: i64,
}

/// Ack data of `sync`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SyncResult {
    /// Conversations with changes, and conversations new to the client.
    pub conversations: Vec<SyncedConversation>,
    /// Conversations the client listed that the user can no longer see (left, removed, deleted).
    pub removed: Vec<ConversationId>,
    /// More changes remain: call `sync` again with the new positions.
    pub has_more: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SyncedConversation {
    /// The conversation as it is now.
    pub conversation: Conversation,
    /// Messages created or changed after the client's version, in version order, each once and
    /// in its current state (edited, deleted, reacted to).
    pub messages: Vec<Message>,
    /// The client's new position in this conversation.
    pub version: i64,
}

/// A client frame as it arrives, before the command inside it is decoded. Kept separate so that a
/// frame with a bad `data` can still be answered with an `error` carrying its `id`.
#[derive(Debug, Deserialize)]
pub struct IncomingFrame<'a> {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub id: Option<serde_json::Value>,
    #[serde(default, borrow)]
    pub data: Option<&'a RawValue>,
}

impl Command {
    /// Every command's `type`, in declaration order: a fixed set, so that per-type counters
    /// (the server's metrics) are bounded and can start at zero.
    pub const KINDS: [&'static str; 13] = [
        "message.send",
        "message.edit",
        "message.delete",
        "reaction.add",
        "reaction.remove",
        "typing",
        "read",
        "invitation.send",
        "invitation.accept",
        "invitation.decline",
        "invitation.cancel",
        "sync",
        "ping",
    ];

    /// The frame `type` this command travels as.
    pub fn kind(&self) -> &'static str {
        match self {
            Command::SendMessage(_) => "message.send",
            Command::EditMessage(_) => "message.edit",
            Command::DeleteMessage(_) => "message.delete",
            Command::AddReaction(_) => "reaction.add",
            Command::RemoveReaction(_) => "reaction.remove",
            Command::Typing(_) => "typing",
            Command::Read(_) => "read",
            Command::SendInvitation(_) => "invitation.send",
            Command::AcceptInvitation(_) => "invitation.accept",
            Command::DeclineInvitation(_) => "invitation.decline",
            Command::CancelInvitation(_) => "invitation.cancel",
            Command::Sync(_) => "sync",
            Command::Ping => "ping",
        }
    }

    /// Decodes the command named `kind` from its `data`.
    pub fn decode(kind: &str, data: Option<&RawValue>) -> Result<Command, ApiError> {
        match kind {
            "message.send" => decode_data(kind, data).map(Command::SendMessage),
            "message.edit" => decode_data(kind, data).map(Command::EditMessage),
            "message.delete" => decode_data(kind, data).map(Command::DeleteMessage),
            "reaction.add" => decode_data(kind, data).map(Command::AddReaction),
            "reaction.remove" => decode_data(kind, data).map(Command::RemoveReaction),
            "typing" => decode_data(kind, data).map(Command::Typing),
            "read" => decode_data(kind, data).map(Command::Read),
            "sync" => decode_data(kind, data).map(Command::Sync),
            "invitation.send" => decode_data(kind, data).map(Command::SendInvitation),
            "invitation.accept" => decode_data(kind, data).map(Command::AcceptInvitation),
            "invitation.decline" => decode_data(kind, data).map(Command::DeclineInvitation),
            "invitation.cancel" => decode_data(kind, data).map(Command::CancelInvitation),
            "ping" => Ok(Command::Ping),
            _ => {
                Err(ApiError::new(ErrorCode::UnknownCommand, format!("unknown command type {:?}", truncate(kind, 64))))
            }
        }
    }
}

fn decode_data<T: serde::de::DeserializeOwned>(kind: &str, data: Option<&RawValue>) -> Result<T, ApiError> {
    let Some(data) = data else {
        return Err(ApiError::new(ErrorCode::InvalidJson, format!("{kind}: missing \"data\"")));
    };
    serde_json::from_str(data.get()).map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("{kind}: {e}")))
}

fn truncate(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

/// A frame sent by the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerFrame {
    /// The id of the command this frame answers (`ack` and `error` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(flatten)]
    pub event: Event,
}

/// Everything the gateway sends, tagged by `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Event {
    /// First frame of every connection.
    #[serde(rename = "ready")]
    Ready(Ready),
    /// A command succeeded.
    #[serde(rename = "ack")]
    Ack(Ack),
    /// A command (or a frame that could not be read as one) was refused.
    #[serde(rename = "error")]
    Error(ApiError),
    /// A new message in a conversation of the user, including their own from any session.
    #[serde(rename = "message.created")]
    MessageCreated(Message),
    /// A message was edited, deleted, reacted to, or pinned: its current state.
    #[serde(rename = "message.updated")]
    MessageUpdated(Message),
    /// The user became a member of a conversation (created, or added to a group).
    #[serde(rename = "conversation.created")]
    ConversationCreated(Conversation),
    /// A conversation's name, topic, avatar, members or roles changed.
    #[serde(rename = "conversation.updated")]
    ConversationUpdated(Conversation),
    /// The user can no longer see a conversation.
    #[serde(rename = "conversation.removed")]
    ConversationRemoved(ConversationRemoved),
    /// A member is typing; hide the indicator after `expires_in_ms` unless it is repeated.
    #[serde(rename = "typing")]
    Typing(Typing),
    /// A member's read position moved (read receipts, and the user's own other sessions).
    #[serde(rename = "read.updated")]
    ReadUpdated(ReadUpdated),
    /// A contact, or a member of a shared conversation, changed presence (also the user's own).
    #[serde(rename = "presence.updated")]
    PresenceUpdated(Presence),
    /// A user changed their profile (display name, avatar, bio): sent to the same people as
    /// their presence (contacts, members of shared conversations) and to their own sessions.
    #[serde(rename = "user.updated")]
    UserUpdated(User),
    /// The relation with another user changed (request sent or received, accepted, declined,
    /// cancelled, removed): the caller's view of it.
    #[serde(rename = "contact.updated")]
    ContactUpdated(Contact),
    /// A new entry in the user's notification feed.
    #[serde(rename = "notification.created")]
    NotificationCreated(Notification),
    /// Notifications were marked read (on any of the user's sessions).
    #[serde(rename = "notifications.read")]
    NotificationsRead(NotificationsRead),
    /// Events may have been lost or could not be delivered in order (the cluster bus was
    /// interrupted, or a gap in a conversation did not fill in time). Lower the listed positions
    /// to at most the given versions (see [`Resync::rewind`]), then `sync`.
    #[serde(rename = "resync")]
    Resync(Resync),
}

/// Data of the `resync` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Resync {
    /// Conversations whose position may have moved past a lost event: the version the client
    /// is known to have received everything up to. Empty: `sync` from the positions as they are.
    pub conversations: Vec<SyncPosition>,
}

impl Resync {
    /// Lowers `positions` to the versions this resync names (never raises one).
    pub fn rewind(&self, positions: &mut [SyncPosition]) {
        for position in positions.iter_mut() {
            if let Some(safe) = self.conversations.iter().find(|c| c.id == position.id) {
                position.version = position.version.min(safe.version);
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotificationsRead {
    /// The notifications marked read; empty when all were.
    pub ids: Vec<String>,
    pub all: bool,
    pub unread_count: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversationRemoved {
    pub conversation_id: ConversationId,
    pub reason: RemovalReason,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RemovalReason {
    /// The user left.
    Left,
    /// An admin removed the user.
    Removed,
    /// The owner deleted the group.
    Deleted,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Typing {
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub expires_in_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReadUpdated {
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub seq: i64,
}

/// Data of `ready`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Ready {
    pub user: User,
    /// The signed-in session, when authenticated with a built-in account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<SessionId>,
    /// The server pings this often; a connection silent for `idle_timeout_ms` is closed.
    pub heartbeat_ms: u64,
    pub idle_timeout_ms: u64,
    /// Largest frame the server reads; larger ones close the connection with 1009.
    pub max_frame_bytes: usize,
}

/// Data of `ack`: the result of the command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Ack {
    Message(Box<Message>),
    Sync(SyncResult),
    Empty {},
}

/// WebSocket close codes used by the server, beyond the standard ones (1000 normal, 1001 going
/// away on shutdown, 1007 invalid UTF-8, 1008 policy, 1009 frame too big, 1011 internal).
pub mod close_code {
    /// The session was not read for `idle_timeout_ms` (no frame, no pong).
    pub const IDLE_TIMEOUT: u16 = 4000;
    /// Too many bad frames in a short time.
    pub const ABUSE: u16 = 4002;
    /// The client did not read its events fast enough and its outbound queue overflowed. Reconnect
    /// and fetch what was missed from history.
    pub const SLOW_CONSUMER: u16 = 4008;
    /// The session was signed out or revoked; the client must sign in again.
    pub const SESSION_REVOKED: u16 = 4009;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_through_decode() {
        let cmd = Command::SendMessage(SendMessage {
            conversation_id: ConversationId(7),
            client_id: Some("c1".into()),
            ..SendMessage::text(ConversationId(7), "hi")
        });
        let json = serde_json::to_string(&cmd).unwrap();
        let frame: IncomingFrame = serde_json::from_str(&json).unwrap();
        assert_eq!(Command::decode(&frame.kind, frame.data).unwrap(), cmd);

        let ping = serde_json::to_string(&Command::Ping).unwrap();
        let frame: IncomingFrame = serde_json::from_str(&ping).unwrap();
        assert_eq!(Command::decode(&frame.kind, frame.data).unwrap(), Command::Ping);
    }

    #[test]
    fn kind_names_the_serialized_type() {
        let ping = serde_json::to_value(Command::Ping).unwrap();
        assert_eq!(ping["type"], Command::Ping.kind());
        let read = Command::Read(ReadUpTo { conversation_id: ConversationId(1), seq: 3 });
        assert_eq!(serde_json::to_value(&read).unwrap()["type"], read.kind());
        for kind in Command::KINDS {
            let err = Command::decode(kind, None).err();
            assert!(err.is_none_or(|e| e.code != ErrorCode::UnknownCommand), "{kind} is a known command");
        }
    }

    #[test]
    fn bad_commands_are_named_errors() {
        let err = Command::decode("message.explode", None).unwrap_err();
        assert_eq!(err.code, ErrorCode::UnknownCommand);
        let raw = RawValue::from_string(r#"{"conversation_id": 5, "body": 12}"#.into()).unwrap();
        let err = Command::decode("message.send", Some(&raw)).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidJson);
        assert!(err.message.contains("message.send"));
    }

    #[test]
    fn server_frames_have_type_id_and_data() {
        let frame =
            ServerFrame { id: Some("42".into()), event: Event::Error(ApiError::new(ErrorCode::NotFound, "nope")) };
        let value = serde_json::to_value(&frame).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"id": "42", "type": "error", "data": {"code": "not_found", "message": "nope"}})
        );
        let back: ServerFrame = serde_json::from_value(value).unwrap();
        assert_eq!(back, frame);

        let ack = ServerFrame { id: Some("1".into()), event: Event::Ack(Ack::Empty {}) };
        let value = serde_json::to_value(&ack).unwrap();
        assert_eq!(value, serde_json::json!({"id": "1", "type": "ack", "data": {}}));
    }
}
