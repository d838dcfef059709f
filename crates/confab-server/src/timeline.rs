//! The order of a conversation's timeline. Every write that changes a timeline — a message, an
//! edit, a deletion, a reaction, a group change — takes a place in the conversation's line
//! before its commit and keeps it until its events are queued, so that every session sees the
//! changes in the order of their `seq` and `version` (guarantee 2), even when writers race.
//!
//! A message does not hold up the line while its commit is pending: it enters, queues itself for
//! the group commit (which commits in queue order, `store/writer.rs`), steps aside so that the
//! next message can queue behind it, and publishes when its turn comes — after every write that
//! entered before it has published. One conversation can then take as many messages per second
//! as the writer commits, not one per commit. Writes that commit on their own (edits, group
//! changes) keep the entry until they are done: nothing may commit past them.

use std::sync::Arc;

use confab_proto::rest::{MessageKind, SystemEvent};
use confab_proto::{ConversationId, MessageId, UserId};
use tokio::sync::{Mutex, MutexGuard, oneshot};

use crate::clock::now_ms;
use crate::ids::IdGenerator;
use crate::store::{GroupEvent, NewAudit, NewMessage};

/// Conversations that hash to the same shard share a line: a send there publishes after the
/// earlier writes of other conversations of its shard too, and an edit or group change holds up
/// the whole shard until it has published.
const ORDER_SHARDS: usize = 4096;

pub struct Timeline {
    ids: Arc<IdGenerator>,
    lines: Vec<Line>,
}

/// One shard's line: the entry, held while a write takes its place (and, for a message, queues
/// its commit), and the signal the last place in line gives when it is done.
#[derive(Default)]
struct Line {
    entry: Mutex<()>,
    last: std::sync::Mutex<Option<oneshot::Receiver<()>>>,
}

/// A write's place in its conversation's line. Dropping it lets the next place take its turn.
pub struct Place<'a> {
    entry: Option<MutexGuard<'a, ()>>,
    /// Resolves when the place before this one is done.
    before: Option<oneshot::Receiver<()>>,
    done: Option<oneshot::Sender<()>>,
}

/// A group change prepared for the store: the system entry's JSON and ids, owned so that the
/// borrowed [`GroupEvent`] can point into it.
pub struct PreparedEvent {
    message_id: MessageId,
    audit_id: i64,
    conversation: ConversationId,
    actor: UserId,
    action: String,
    json: String,
    now: i64,
}

impl Timeline {
    pub fn new(ids: Arc<IdGenerator>) -> Timeline {
        Timeline { ids, lines: (0..ORDER_SHARDS).map(|_| Line::default()).collect() }
    }

    /// Takes a place in the conversation's line, holding the entry: no later write can take one
    /// until [`Place::step_aside`] or the place is dropped. Wait for [`Place::turn`] before
    /// publishing.
    pub async fn enter(&self, conversation: ConversationId) -> Place<'_> {
        let line = &self.lines[shard(conversation)];
        let entry = line.entry.lock().await;
        let (done, next) = oneshot::channel();
        let before = line.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).replace(next);
        Place { entry: Some(entry), before, done: Some(done) }
    }

    /// Takes a place and waits for its turn, keeping the entry: for a write that commits on its
    /// own, after every earlier write has published and before any later one can commit. Drop
    /// the place after publishing.
    pub async fn lock(&self, conversation: ConversationId) -> Place<'_> {
        let mut place = self.enter(conversation).await;
        place.turn().await;
        place
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

impl Place<'_> {
    /// Lets later writes take their places behind this one. For a message once it is queued
    /// for the group commit, whose queue keeps the order of the line.
    pub fn step_aside(&mut self) {
        self.entry = None;
    }

    /// Waits until every write that took its place before this one is done.
    pub async fn turn(&mut self) {
        if let Some(before) = self.before.take() {
            let _ = before.await; // a dropped sender is done too
        }
    }
}

impl Drop for Place<'_> {
    /// A place left before its turn (its write failed or was cancelled) passes the signal on
    /// only when the place before it is done, so that the next write still waits for that one.
    fn drop(&mut self) {
        if let (Some(before), Some(done)) = (self.before.take(), self.done.take())
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = before.await;
                drop(done);
            });
        }
    }
}

impl PreparedEvent {
    pub fn message_id(&self) -> MessageId {
        self.message_id
    }

    pub fn as_group_event(&self) -> GroupEvent<'_> {
        GroupEvent {
            message: NewMessage {
                id: self.message_id,
                conversation_id: self.conversation,
                sender_id: self.actor,
                kind: MessageKind::System,
                body: "",
                client_id: None,
                reply_to: None,
                mentions: None,
                tones: None,
                sticker_id: None,
                system: Some(&self.json),
                created_at: self.now,
            },
            audit: self.audit(),
        }
    }

    pub fn audit(&self) -> NewAudit<'_> {
        NewAudit {
            id: self.audit_id,
            conversation_id: self.conversation,
            actor_id: self.actor,
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::mpsc;

    use super::*;

    fn timeline() -> Timeline {
        Timeline::new(Arc::new(IdGenerator::new(1)))
    }

    const CONVERSATION: ConversationId = ConversationId(42);

    /// Writes that step aside and finish their "commits" in reverse order still take their
    /// turns in the order they entered.
    #[tokio::test]
    async fn places_take_their_turns_in_the_order_they_entered() {
        let timeline = timeline();
        let (published, mut order) = mpsc::unbounded_channel();
        let mut writes = Vec::new();
        for i in 0..5u64 {
            let mut place = timeline.enter(CONVERSATION).await;
            place.step_aside();
            let published = published.clone();
            writes.push(async move {
                tokio::time::sleep(Duration::from_millis(50 - 10 * i)).await; // later commits finish first
                place.turn().await;
                published.send(i).unwrap();
            });
        }
        futures_util::future::join_all(writes).await;
        drop(published);
        let mut seen = Vec::new();
        while let Some(i) = order.recv().await {
            seen.push(i);
        }
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
    }

    /// A place given up before its turn does not let the one behind it overtake the one before.
    #[tokio::test]
    async fn a_place_given_up_still_waits_for_the_one_before_it() {
        let timeline = timeline();
        let mut first = timeline.enter(CONVERSATION).await;
        first.step_aside();
        let mut second = timeline.enter(CONVERSATION).await;
        second.step_aside();
        let mut third = timeline.enter(CONVERSATION).await;
        third.step_aside();
        drop(second); // its write failed
        let overtook = tokio::time::timeout(Duration::from_millis(100), third.turn()).await;
        assert!(overtook.is_err(), "the third took its turn while the first was still writing");
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), third.turn()).await.expect("the third's turn");
    }

    /// A write that commits on its own keeps the entry: nothing enters behind it until it is done.
    #[tokio::test]
    async fn lock_keeps_the_entry_until_dropped() {
        let timeline = timeline();
        let held = timeline.lock(CONVERSATION).await;
        let entered = tokio::time::timeout(Duration::from_millis(100), timeline.enter(CONVERSATION)).await;
        assert!(entered.is_err(), "a write entered behind a held lock");
        drop(held);
        let mut next = tokio::time::timeout(Duration::from_secs(5), timeline.enter(CONVERSATION)).await.expect("entry");
        tokio::time::timeout(Duration::from_secs(5), next.turn()).await.expect("turn");
    }
}
