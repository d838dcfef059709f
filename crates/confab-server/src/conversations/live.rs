//! Live state of a conversation: read positions (stored, shown as receipts and synced across the
//! user's sessions) and typing (throttled, expiring, never stored). Neither crosses a block, in
//! either direction (`Blocks::live_audience`): in a direct conversation with a block, typing is
//! refused like writing; in a group, the two simply do not see each other's.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use confab_proto::frames::{Event, ReadUpdated, Typing};
use confab_proto::rest::ConversationKind;
use confab_proto::{ConversationId, ErrorCode, UserId};

use super::Conversations;
use crate::auth::Principal;
use crate::error::{Error, Result};

/// Clients show a typing indicator this long unless it is repeated.
pub const TYPING_TTL: Duration = Duration::from_secs(6);
/// Typing notices from one user in one conversation are relayed at most this often.
const TYPING_INTERVAL: Duration = Duration::from_secs(2);

/// Drops typing notices that repeat faster than [`TYPING_INTERVAL`].
#[derive(Default)]
pub struct TypingThrottle {
    last: Mutex<HashMap<(UserId, ConversationId), Instant>>,
}

impl TypingThrottle {
    /// True when this notice should be relayed.
    fn admit(&self, user: UserId, conversation: ConversationId) -> bool {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.len() > 100_000 {
            last.retain(|_, at| now.duration_since(*at) < TYPING_INTERVAL);
        }
        match last.get(&(user, conversation)) {
            Some(at) if now.duration_since(*at) < TYPING_INTERVAL => false,
            _ => {
                last.insert((user, conversation), now);
                true
            }
        }
    }
}

impl Conversations {
    /// Relays "`user` is typing" to the other members (throttled; nothing is stored).
    pub async fn typing(&self, principal: Principal, id: ConversationId) -> Result<()> {
        let me = principal.user_id;
        let membership = self.membership(me, id).await?;
        if membership.kind == ConversationKind::Direct
            && let Some(other) = membership.members().iter().copied().find(|u| *u != me)
        {
            self.blocks.check(me, other).await?;
        }
        if self.typing.admit(me, id) {
            let audience = self.blocks.live_audience(me, membership.members()).await?;
            let others: Vec<UserId> = audience.into_iter().filter(|u| *u != me).collect();
            let event = Typing {
                conversation_id: id,
                user_id: principal.user_id,
                expires_in_ms: TYPING_TTL.as_millis() as u64,
            };
            self.hub.publish(&others, Event::Typing(event));
        }
        Ok(())
    }

    /// Moves the caller's read position forward to `seq`; the sessions of every member (the
    /// caller's own included) who may see it get `read.updated`. Moving backwards changes
    /// nothing and is not an error.
    pub async fn mark_read(&self, principal: Principal, id: ConversationId, seq: i64) -> Result<()> {
        let membership = self.membership(principal.user_id, id).await?;
        let row = self.store.conversation(id).await?.ok_or(Error::NotFound("conversation"))?;
        if seq < 1 || seq > row.last_seq {
            return Err(Error::invalid(
                ErrorCode::InvalidParameter,
                format!("seq must be between 1 and the conversation's last_seq ({})", row.last_seq),
            ));
        }
        if let Some(seq) = self.store.set_read(id, principal.user_id, seq).await? {
            let event = ReadUpdated { conversation_id: id, user_id: principal.user_id, seq };
            let audience = self.blocks.live_audience(principal.user_id, membership.members()).await?;
            self.hub.publish(&audience, Event::ReadUpdated(event));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_is_throttled_per_user_and_conversation() {
        let throttle = TypingThrottle::default();
        assert!(throttle.admit(UserId(1), ConversationId(1)));
        assert!(!throttle.admit(UserId(1), ConversationId(1)));
        assert!(throttle.admit(UserId(2), ConversationId(1)));
        assert!(throttle.admit(UserId(1), ConversationId(2)));
    }
}
