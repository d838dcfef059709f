//! Messages: sending (authorize, validate, commit, then fan out) and reading history.
//!
//! The path of a message: [`Messages::send`] → `Conversations::membership` (authorization from the
//! in-memory cache) → validation → `Store::insert_message` (one transaction: next seq + row) →
//! `Hub::publish` of one `message.created` to every member's sessions → the caller acks.

mod body;

use std::sync::Arc;

use confab_proto::frames::Event;
use confab_proto::rest::{HistoryQuery, Message, MessagePage, SendMessageRequest};
use confab_proto::{ConversationId, ErrorCode, MessageId, UserId};
use tokio::sync::Mutex;

use crate::auth::Principal;
use crate::clock::{datetime, now_ms};
use crate::conversations::Conversations;
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::ids::IdGenerator;
use crate::store::{HistoryRange, MessageRow, NewMessage, SendOutcome, Store};

pub use body::MAX_CLIENT_ID_LEN;

pub const MAX_PAGE: u32 = 100;
pub const DEFAULT_PAGE: u32 = 50;
/// Sends to conversations that hash to the same shard are published in commit order.
const ORDER_SHARDS: usize = 64;

pub struct Messages {
    store: Store,
    ids: Arc<IdGenerator>,
    conversations: Arc<Conversations>,
    hub: Arc<Hub>,
    max_chars: usize,
    /// Held from the commit to the publish of a message, so that every session sees a
    /// conversation's messages in `seq` order (guarantee 2) even when senders race.
    order: Vec<Mutex<()>>,
}

/// What a send produced.
pub struct Sent {
    pub message: Message,
    /// False when the `client_id` had been sent before and the first message is returned.
    pub created: bool,
}

impl Messages {
    pub fn new(
        store: Store,
        ids: Arc<IdGenerator>,
        conversations: Arc<Conversations>,
        hub: Arc<Hub>,
        max_chars: usize,
    ) -> Messages {
        let order = (0..ORDER_SHARDS).map(|_| Mutex::new(())).collect();
        Messages { store, ids, conversations, hub, max_chars, order }
    }

    /// Sends a message. Returns only after it is committed; everyone's sessions (the sender's
    /// included) get `message.created`. A repeated `client_id` returns the first message.
    pub async fn send(
        &self,
        principal: Principal,
        conversation: ConversationId,
        req: SendMessageRequest,
    ) -> Result<Sent> {
        let membership = self.conversations.membership(principal.user_id, conversation).await?;
        body::check_body(&req.body, self.max_chars)?;
        if let Some(client_id) = &req.client_id {
            body::check_client_id(client_id)?;
            let earlier = self.store.message_by_client_id(conversation.0, principal.user_id.0, client_id).await?;
            if let Some(first) = earlier {
                return Ok(Sent { message: to_wire(first), created: false });
            }
        }
        if let Some(reply_to) = req.reply_to
            && self.store.message_in(conversation.0, reply_to.0).await?.is_none()
        {
            return Err(Error::invalid(ErrorCode::InvalidReply, "reply_to is not a message of this conversation"));
        }

        let new = NewMessage {
            id: self.ids.next(),
            conversation_id: conversation.0,
            sender_id: principal.user_id.0,
            body: &req.body,
            client_id: req.client_id.as_deref(),
            reply_to: req.reply_to.map(|id| id.0),
            created_at: now_ms(),
        };
        let _in_order = self.order[shard(conversation)].lock().await;
        match self.store.insert_message(&new).await? {
            SendOutcome::Created(row) => {
                let message = to_wire(row);
                self.hub.publish(membership.members(), Event::MessageCreated(message.clone()));
                Ok(Sent { message, created: true })
            }
            SendOutcome::Duplicate(first) => Ok(Sent { message: to_wire(first), created: false }),
        }
    }

    /// A page of history, ascending by `seq`. See [`HistoryQuery`] for the cursors.
    pub async fn history(
        &self,
        principal: Principal,
        conversation: ConversationId,
        q: HistoryQuery,
    ) -> Result<MessagePage> {
        self.conversations.membership(principal.user_id, conversation).await?;
        let limit = q.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Error::invalid(ErrorCode::InvalidParameter, format!("limit must be between 1 and {MAX_PAGE}")));
        }
        if q.before.is_some_and(|s| s < 1) || q.after.is_some_and(|s| s < 0) {
            return Err(Error::invalid(ErrorCode::InvalidParameter, "before must be positive and after not negative"));
        }
        let range = HistoryRange { before: q.before, after: q.after, limit: i64::from(limit) };
        let (rows, has_more) = self.store.history(conversation.0, range).await?;
        Ok(MessagePage { messages: rows.into_iter().map(to_wire).collect(), has_more })
    }
}

fn shard(conversation: ConversationId) -> usize {
    // Fibonacci hashing: ids are time-ordered, so their low bits are mostly zero.
    (conversation.0 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) as usize
        >> (usize::BITS - ORDER_SHARDS.trailing_zeros())
}

fn to_wire(row: MessageRow) -> Message {
    Message {
        id: MessageId(row.id),
        conversation_id: ConversationId(row.conversation_id),
        seq: row.seq,
        sender_id: UserId(row.sender_id),
        body: row.body,
        client_id: row.client_id,
        reply_to: row.reply_to.map(MessageId),
        created_at: datetime(row.created_at),
    }
}
