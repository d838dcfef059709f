//! The order of a conversation's timeline. Every write that changes a timeline — a message, an
//! edit, a deletion, a reaction, a group change — takes the conversation's order lock from before
//! its commit until after its events are queued, so that every session sees the changes in the
//! order of their `seq` and `version` (guarantee 2), even when writers race.

use std::sync::Arc;

use confab_proto::rest::SystemEvent;
use confab_proto::{ConversationId, UserId};
use tokio::sync::{Mutex, MutexGuard};

use crate::clock::now_ms;
use crate::ids::IdGenerator;
use crate::store::{GroupEvent, NewAudit, NewMessage};

/// Conversations that hash to the same shard share a lock. Sends under different locks can share
/// one commit (`store/writer.rs`), so the count bounds how many sends a commit can batch.
const ORDER_SHARDS: usize = 4096;

pub struct Timeline {
    ids: Arc<IdGenerator>,
    order: Vec<Mutex<()>>,
}

/// A group change prepared for the store: the system entry's JSON and ids, owned so that the
/// borrowed [`GroupEvent`] can point into it.
pub struct PreparedEvent {
    message_id: i64,
    audit_id: i64,
    conversation: ConversationId,
    actor: UserId,
    action: String,
    json: String,
    now: i64,
}

impl Timeline {
    pub fn new(ids: Arc<IdGenerator>) -> Timeline {
        Timeline { ids, order: (0..ORDER_SHARDS).map(|_| Mutex::new(())).collect() }
    }

    /// Holds the conversation's place in line; drop the guard after publishing.
    pub async fn lock(&self, conversation: ConversationId) -> MutexGuard<'_, ()> {
        self.order[shard(conversation)].lock().await
    }

    pub fn prepare(&self, conversation: ConversationId, actor: UserId, event: &SystemEvent) -> PreparedEvent {
        let json = serde_json::to_value(event).unwrap_or_default();
        let action = json.get("action").and_then(|a| a.as_str()).unwrap_or("unknown").to_owned();
        PreparedEvent {
            message_id: self.ids.next(),
            audit_id: self.ids.next(),
            conversation,
            actor,
            action,
            json: json.to_string(),
            now: now_ms(),
        }
    }
}

impl PreparedEvent {
    pub fn message_id(&self) -> i64 {
        self.message_id
    }

    pub fn as_group_event(&self) -> GroupEvent<'_> {
        GroupEvent {
            message: NewMessage {
                id: self.message_id,
                conversation_id: self.conversation.0,
                sender_id: self.actor.0,
                kind: "system",
                body: "",
                client_id: None,
                reply_to: None,
                mentions: None,
                system: Some(&self.json),
                created_at: self.now,
            },
            audit: self.audit(),
        }
    }

    pub fn audit(&self) -> NewAudit<'_> {
        NewAudit {
            id: self.audit_id,
            conversation_id: self.conversation.0,
            actor_id: self.actor.0,
            action: &self.action,
            detail: Some(&self.json),
            created_at: self.now,
        }
    }
}

fn shard(conversation: ConversationId) -> usize {
    // Fibonacci hashing: ids are time-ordered, so their low bits are mostly zero.
    (conversation.0 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) as usize
        >> (usize::BITS - ORDER_SHARDS.trailing_zeros())
}
