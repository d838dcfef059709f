//! The notification feed: what a user should hear about — mentions, replies, invitations and
//! their outcome, contact requests and acceptances, direct messages that arrived while they were
//! away — filtered by the conversation's level, restrictions and blocks, marked silent in
//! do-not-disturb, synced across the user's sessions, and (optionally) posted to the host app
//! for users with no connected session (`offline`).

mod offline;

use std::collections::HashSet;
use std::sync::Arc;

use confab_proto::frames::{Event, NotificationsRead};
use confab_proto::rest::{
    ChosenStatus, ConversationKind, ConversationUnread, Message, MessageKind, Notification, NotificationKind,
    NotificationLevel, NotificationList, NotificationQuery, UnreadSummary,
};
use confab_proto::{ConversationId, ErrorCode, MessageId, UserId};

pub use offline::OfflineDelivery;

use crate::auth::Principal;
use crate::clock::{datetime, now_ms};
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::ids::IdGenerator;
use crate::people::Blocks;
use crate::presence::Presence;
use crate::store::{NewNotification, NotificationRow, Store};

const EXCERPT_CHARS: usize = 140;
const MAX_PAGE: u32 = 100;

pub struct Notifications {
    store: Store,
    ids: Arc<IdGenerator>,
    hub: Arc<Hub>,
    blocks: Arc<Blocks>,
    /// "Is this user away?" is presence's cluster-wide answer, not this node's sockets.
    presence: Arc<Presence>,
    offline: Option<OfflineDelivery>,
}

/// One notification to create.
pub struct Notice<'a> {
    pub user: UserId,
    pub kind: NotificationKind,
    pub conversation: Option<ConversationId>,
    pub message: Option<MessageId>,
    pub actor: Option<UserId>,
    pub excerpt: &'a str,
}

impl Notifications {
    pub fn new(
        store: Store,
        ids: Arc<IdGenerator>,
        hub: Arc<Hub>,
        blocks: Arc<Blocks>,
        presence: Arc<Presence>,
        offline: Option<OfflineDelivery>,
    ) -> Self {
        Notifications { store, ids, hub, blocks, presence, offline }
    }

    /// Works out who should hear about a new message and notifies them. Called off the message
    /// path (spawned), so it never delays delivery.
    /// Whether [`Notifications::on_message`] could notify anyone of `message`, decided without a
    /// query: most messages (no mention, no reply, everyone connected) notify nobody, and are
    /// spared the database reads and the task. Someone not online on this node may be online on
    /// another: `on_message` asks the cluster.
    pub fn may_notify(&self, kind: ConversationKind, members: &[UserId], message: &Message) -> bool {
        match message.kind {
            MessageKind::System => false,
            MessageKind::Invitation => true,
            MessageKind::Text | MessageKind::Sticker => {
                !message.mentions.is_empty()
                    || message.reply.as_ref().is_some_and(|quote| !quote.deleted)
                    || (kind == ConversationKind::Direct
                        && members.iter().any(|u| *u != message.sender_id && !self.presence.online_here(*u)))
            }
        }
    }

    pub async fn on_message(&self, kind: ConversationKind, message: &Message) -> Result<()> {
        if message.kind == MessageKind::System {
            return Ok(());
        }
        let sender = message.sender_id;
        let levels = self.store.notify_levels(message.conversation_id).await?;
        let recipients: Vec<UserId> = levels.iter().map(|(u, _)| *u).filter(|u| *u != sender).collect();
        let restricting: HashSet<UserId> = self.store.restricting(sender, &recipients).await?.into_iter().collect();
        let blocked_by = self.blocks.of(sender).await?.blocked_by.clone();
        let replied_to = match message.reply.as_ref() {
            Some(quote) if !quote.deleted => Some(quote.sender_id),
            _ => None,
        };
        let away = if kind == ConversationKind::Direct {
            let online = self.presence.online(&recipients).await;
            recipients.iter().copied().filter(|u| !online.contains(u)).collect()
        } else {
            HashSet::new()
        };
        for (user_id, level) in levels {
            if user_id == sender || restricting.contains(&user_id) || blocked_by.contains(&user_id) {
                continue;
            }
            let notice = if message.kind == MessageKind::Invitation {
                let invited = message.invitation.as_ref().is_some_and(|i| i.invitee.is_none_or(|u| u == user_id));
                invited.then_some(NotificationKind::Invitation)
            } else if message.mentions.contains(&user_id) {
                Some(NotificationKind::Mention)
            } else if replied_to == Some(user_id) {
                Some(NotificationKind::Reply)
            } else if away.contains(&user_id) {
                Some(NotificationKind::DirectMessage)
            } else {
                None
            };
            let Some(notice_kind) = notice else { continue };
            let allowed = match level {
                NotificationLevel::None => false,
                NotificationLevel::Mentions => notice_kind != NotificationKind::DirectMessage,
                NotificationLevel::All => true,
            };
            if allowed {
                let excerpt = match (&message.invitation, &message.sticker) {
                    (Some(invitation), _) => invitation.label.clone(),
                    // A sticker says what it shows: "[sticker] a waving cat".
                    (None, Some(sticker)) => {
                        format!("[sticker] {}", sticker.body).chars().take(EXCERPT_CHARS).collect()
                    }
                    (None, None) => message.body.chars().take(EXCERPT_CHARS).collect(),
                };
                self.notify(Notice {
                    user: user_id,
                    kind: notice_kind,
                    conversation: Some(message.conversation_id),
                    message: Some(message.id),
                    actor: Some(sender),
                    excerpt: &excerpt,
                })
                .await?;
            }
        }
        Ok(())
    }

    /// Creates one notification (unless the user restricted its actor), tells the user's
    /// sessions, and hands it to offline delivery when they have none.
    pub async fn notify(&self, notice: Notice<'_>) -> Result<()> {
        if let Some(actor) = notice.actor
            && !self.store.restricting(actor, &[notice.user]).await?.is_empty()
        {
            return Ok(());
        }
        let user = self.store.user_by_id(notice.user).await?.ok_or(Error::NotFound("user"))?;
        let silent = user.status == ChosenStatus::Dnd;
        let row = NotificationRow {
            id: self.ids.next(),
            user_id: notice.user,
            kind: notice.kind,
            conversation_id: notice.conversation,
            message_id: notice.message,
            actor_id: notice.actor,
            excerpt: notice.excerpt.chars().take(EXCERPT_CHARS).collect(),
            silent: i64::from(silent),
            read_at: None,
            created_at: now_ms(),
        };
        self.store
            .insert_notification(&NewNotification {
                id: row.id,
                user_id: row.user_id,
                kind: row.kind,
                conversation_id: row.conversation_id,
                message_id: row.message_id,
                actor_id: row.actor_id,
                excerpt: &row.excerpt,
                silent,
                created_at: row.created_at,
            })
            .await?;
        let notification = to_wire(row);
        self.hub.publish(&[notice.user], Event::NotificationCreated(notification.clone()));
        if let Some(offline) = &self.offline
            && !silent
            && !self.presence.online(&[notice.user]).await.contains(&notice.user)
        {
            offline.enqueue(notice.user, notification);
        }
        Ok(())
    }

    pub async fn list(&self, principal: Principal, query: NotificationQuery) -> Result<NotificationList> {
        let limit = query.limit.unwrap_or(50);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Error::invalid(ErrorCode::InvalidParameter, format!("limit must be between 1 and {MAX_PAGE}")));
        }
        let before = match query.cursor.as_deref() {
            Some(c) => Some(c.parse::<i64>().map_err(|_| Error::invalid(ErrorCode::InvalidParameter, "bad cursor"))?),
            None => None,
        };
        let me = principal.user_id;
        let mut rows = self.store.notifications_of(me, before, i64::from(limit) + 1).await?;
        let next_cursor = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|r| r.id.to_string())
        } else {
            None
        };
        Ok(NotificationList {
            notifications: rows.into_iter().map(to_wire).collect(),
            unread_count: self.store.unread_notifications(me).await?,
            next_cursor,
        })
    }

    /// Marks some (or, with `None`, all) of the caller's notifications read, on all sessions.
    pub async fn mark_read(&self, principal: Principal, ids: Option<Vec<String>>) -> Result<NotificationsRead> {
        let me = principal.user_id;
        let parsed: Option<Vec<i64>> = match &ids {
            Some(ids) => Some(
                ids.iter()
                    .map(|id| {
                        id.parse()
                            .map_err(|_| Error::invalid(ErrorCode::InvalidParameter, "ids must be notification ids"))
                    })
                    .collect::<Result<_>>()?,
            ),
            None => None,
        };
        let marked = self.store.mark_notifications_read(me, parsed.as_deref(), now_ms()).await?;
        let event = NotificationsRead {
            ids: if ids.is_some() { marked.iter().map(|id| id.to_string()).collect() } else { Vec::new() },
            all: ids.is_none(),
            unread_count: self.store.unread_notifications(me).await?,
        };
        self.hub.publish(&[me], Event::NotificationsRead(event.clone()));
        Ok(event)
    }

    /// Unread messages per conversation and in total, and unread notifications.
    pub async fn unread(&self, principal: Principal) -> Result<UnreadSummary> {
        let me = principal.user_id;
        let conversations = self.store.conversation_ids_of(me).await?;
        let counts = self.store.unread_counts(me, &conversations).await?;
        Ok(UnreadSummary {
            total_messages: counts.iter().map(|(_, n)| n).sum(),
            conversations: counts
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(conversation_id, count)| ConversationUnread { conversation_id, count })
                .collect(),
            notifications: self.store.unread_notifications(me).await?,
        })
    }
}

fn to_wire(row: NotificationRow) -> Notification {
    Notification {
        id: row.id.to_string(),
        kind: row.kind,
        conversation_id: row.conversation_id,
        message_id: row.message_id,
        actor_id: row.actor_id,
        excerpt: row.excerpt,
        read: row.read_at.is_some(),
        silent: row.silent != 0,
        created_at: datetime(row.created_at),
    }
}
