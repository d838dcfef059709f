//! Messages: sending, editing, deleting, reacting, pinning, and reading history.
//!
//! The path of a message: [`Messages::send`] → `Conversations::membership` (authorization from the
//! in-memory cache) → validation → a place in the conversation's line (`Timeline::enter`) →
//! `Store::queue_message` (the node's writer commits it with whatever else is queued, next seq
//! and version + row), stepping aside for the next message meanwhile → its turn →
//! `Hub::publish` of one `message.created` to every member's sessions → the caller acks.

mod body;
pub mod links;
mod mentions;
pub mod tones;

use std::collections::HashSet;
use std::sync::Arc;

use confab_proto::frames::Event;
use confab_proto::rest::{
    ConversationKind, EditMessageRequest, HistoryQuery, Message, MessageEdit, MessageEditList, MessageKind,
    MessagePage, PinList, Role, SendMessageRequest, SystemEvent,
};
use confab_proto::{ConversationId, ErrorCode, MessageId, StickerId, UploadId, UserId};

use crate::render::{self, Renderer};
pub use body::MAX_CLIENT_ID_LEN;

use crate::auth::Principal;
use crate::clock::{datetime, now_ms};
use crate::conversations::permissions::{self, GroupAction};
use crate::conversations::{Conversations, Membership};
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::ids::IdGenerator;
use crate::media::Media;
use crate::notifications::Notifications;
use crate::people::Blocks;
use crate::store::{
    AttachmentRow, ChangeOutcome, EditedText, HistoryRange, MessageRow, NewMessage, NewPreview, SendOutcome,
    StickerRow, Store,
};
use crate::tasks::Tasks;
use crate::timeline::Timeline;
use links::{PreviewJob, PreviewQueue};
use tones::Tones;

pub const MAX_PAGE: u32 = 100;
pub const DEFAULT_PAGE: u32 = 50;
/// Links of one message that get a preview.
pub const MAX_PREVIEWS: usize = 3;
/// Distinct emojis one message may carry.
pub const MAX_DISTINCT_REACTIONS: i64 = 50;

pub struct Messages {
    store: Store,
    ids: Arc<IdGenerator>,
    conversations: Arc<Conversations>,
    hub: Arc<Hub>,
    timeline: Arc<Timeline>,
    blocks: Arc<Blocks>,
    notifications: Arc<Notifications>,
    media: Arc<Media>,
    render: Renderer,
    tasks: Tasks,
    tones: Arc<Tones>,
    previews: Option<PreviewQueue>,
    max_chars: usize,
}

/// The services a [`Messages`] works with.
pub struct MessageDeps {
    pub store: Store,
    pub ids: Arc<IdGenerator>,
    pub conversations: Arc<Conversations>,
    pub hub: Arc<Hub>,
    pub timeline: Arc<Timeline>,
    pub blocks: Arc<Blocks>,
    pub notifications: Arc<Notifications>,
    pub media: Arc<Media>,
    pub render: Renderer,
    pub tasks: Tasks,
    pub tones: Arc<Tones>,
    /// Where messages with links go for their previews; `None` when previews are off.
    pub previews: Option<PreviewQueue>,
}

/// What a send produced.
pub struct Sent {
    pub message: Message,
    /// False when the `client_id` had been sent before and the first message is returned.
    pub created: bool,
}

impl Messages {
    pub fn new(deps: MessageDeps, max_chars: usize) -> Messages {
        let MessageDeps {
            store,
            ids,
            conversations,
            hub,
            timeline,
            blocks,
            notifications,
            media,
            render,
            tasks,
            tones,
            previews,
        } = deps;
        Messages {
            store,
            ids,
            conversations,
            hub,
            timeline,
            blocks,
            notifications,
            media,
            render,
            tasks,
            tones,
            previews,
            max_chars,
        }
    }

    /// The tone indicators this server knows.
    pub fn tones(&self) -> &Tones {
        &self.tones
    }

    /// How messages are rendered, for services that return the messages they change.
    pub fn renderer(&self) -> &Renderer {
        &self.render
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
        self.check_direct(&membership, principal.user_id).await?;
        let sticker = match req.sticker_id {
            Some(id) => Some(self.sticker(&req, id).await?),
            None => {
                body::check_body(&req.body, self.max_chars, !req.attachments.is_empty())?;
                None
            }
        };
        let (text, tones) = self.tones.apply(&req.body, &req.tones, req.literal)?;
        let tones = tones::stored(&tones);
        let attachments = self.media.attachable(principal.user_id, &req.attachments).await?;
        if let Some(client_id) = &req.client_id {
            body::check_client_id(client_id)?;
        }
        let replied = match req.reply_to {
            Some(reply_to) => Some(self.store.message_in(conversation, reply_to).await?.ok_or_else(|| {
                Error::invalid(ErrorCode::InvalidReply, "reply_to is not a message of this conversation")
            })?),
            None => None,
        };
        let mentions = self.mentions(&membership, text).await?;

        let new = NewMessage {
            id: self.ids.next(),
            conversation_id: conversation,
            sender_id: principal.user_id,
            kind: if sticker.is_some() { MessageKind::Sticker } else { MessageKind::Text },
            body: text,
            client_id: req.client_id.as_deref(),
            reply_to: req.reply_to,
            mentions: mentions.as_deref(),
            tones: tones.as_deref(),
            sticker_id: req.sticker_id,
            system: None,
            created_at: now_ms(),
        };
        if !attachments.is_empty() {
            return self.send_with_attachments(principal, &membership, new, replied, attachments).await;
        }
        // A repeated client id is recognised by the store, in the same transaction that would
        // have stored it, so that two racing retries cannot both be stored.
        let mut place = self.timeline.enter(conversation).await;
        let queued = self.store.queue_message(&new).await?;
        place.step_aside(); // the writer's queue keeps the line's order from here
        match queued.committed().await? {
            SendOutcome::Created(row) => {
                self.hub.metrics().messages_stored(1);
                let message = match &sticker {
                    Some(sticker) => self.render.new_sticker_message(row, replied.as_ref(), sticker),
                    None => self.render.new_message(row, replied.as_ref(), &[]),
                };
                place.turn().await;
                self.publish(&membership, message.clone(), Event::MessageCreated).await?;
                drop(place);
                self.queue_previews(&message, false);
                self.notify_in_background(&membership, message.clone());
                Ok(Sent { message: self.for_caller(principal.user_id, message).await?, created: true })
            }
            SendOutcome::Duplicate(first) => {
                drop(place);
                let message = self.render.one(first).await?;
                Ok(Sent { message: self.for_caller(principal.user_id, message).await?, created: false })
            }
        }
    }

    /// The sticker a send names: one in place in a pack, and nothing else in the message.
    async fn sticker(&self, req: &SendMessageRequest, id: StickerId) -> Result<StickerRow> {
        if !req.body.is_empty() || !req.attachments.is_empty() || !req.tones.is_empty() {
            return Err(Error::invalid(
                ErrorCode::InvalidSticker,
                "a sticker message has no body, attachments or tone indicators",
            ));
        }
        crate::stickers::sendable(&self.store, id).await
    }

    /// A send that carries files: its own transaction, which also marks the uploads used (the
    /// writer's batches carry text only).
    async fn send_with_attachments(
        &self,
        principal: Principal,
        membership: &Membership,
        new: NewMessage<'_>,
        replied: Option<MessageRow>,
        attachments: Vec<AttachmentRow>,
    ) -> Result<Sent> {
        let uploads: Vec<UploadId> = attachments.iter().map(|a| a.upload.id).collect();
        let in_order = self.timeline.lock(new.conversation_id).await;
        let outcome = self.store.send_with_attachments(&new, &uploads).await?.ok_or_else(|| {
            Error::invalid(ErrorCode::InvalidAttachment, "an attachment is no longer a complete upload of yours")
        })?;
        match outcome {
            SendOutcome::Created(row) => {
                self.hub.metrics().messages_stored(1);
                let message = self.render.new_message(row, replied.as_ref(), &attachments);
                self.publish(membership, message.clone(), Event::MessageCreated).await?;
                drop(in_order);
                self.queue_previews(&message, false);
                self.notify_in_background(membership, message.clone());
                Ok(Sent { message: self.for_caller(principal.user_id, message).await?, created: true })
            }
            SendOutcome::Duplicate(first) => {
                drop(in_order);
                let message = self.render.one(first).await?;
                Ok(Sent { message: self.for_caller(principal.user_id, message).await?, created: false })
            }
        }
    }

    /// Edits the caller's own message; the previous text is kept in its edit history. Tone
    /// indicators are worked out again from the new text (and those chosen with the edit).
    pub async fn edit(
        &self,
        principal: Principal,
        conversation: ConversationId,
        id: MessageId,
        req: &EditMessageRequest,
    ) -> Result<Message> {
        let membership = self.conversations.membership(principal.user_id, conversation).await?;
        self.check_direct(&membership, principal.user_id).await?;
        let original = self.store.message_in(conversation, id).await?.ok_or(Error::NotFound("message"))?;
        if original.sender_id != principal.user_id {
            return Err(Error::Forbidden("only its author may edit a message".into()));
        }
        if original.kind != MessageKind::Text || original.deleted_at.is_some() {
            return Err(Error::Forbidden("this message cannot be edited".into()));
        }
        body::check_body(&req.body, self.max_chars, false)?;
        let (body, tones) = self.tones.apply(&req.body, &req.tones, req.literal)?;
        let tones = tones::stored(&tones);
        let mentions = self.mentions(&membership, body).await?;
        let _in_order = self.timeline.lock(conversation).await;
        let row = self
            .store
            .edit_message(
                conversation,
                id,
                principal.user_id,
                &EditedText { body, mentions: mentions.as_deref(), tones: tones.as_deref() },
                now_ms(),
            )
            .await?
            .ok_or(Error::NotFound("message"))?;
        let removed = row.previews_removed.is_some();
        let message = self.publish_update(&membership, row).await?;
        drop(_in_order);
        if !removed {
            self.queue_previews(&message, true);
        }
        self.for_caller(principal.user_id, message).await
    }

    /// Takes the link previews off the caller's own message; an edit does not bring them back.
    pub async fn remove_previews(
        &self,
        principal: Principal,
        conversation: ConversationId,
        id: MessageId,
    ) -> Result<Message> {
        let membership = self.conversations.membership(principal.user_id, conversation).await?;
        let original = self.store.message_in(conversation, id).await?.ok_or(Error::NotFound("message"))?;
        if original.sender_id != principal.user_id {
            return Err(Error::Forbidden("only its author may remove a message's previews".into()));
        }
        let _in_order = self.timeline.lock(conversation).await;
        let now = now_ms();
        let row = self
            .store
            .remove_previews(conversation, id, principal.user_id, now)
            .await?
            .ok_or(Error::NotFound("message"))?;
        let message = if row.previews_removed == Some(now) {
            self.media.released(); // the preview images may be unreferenced now
            self.publish_update(&membership, row).await?
        } else {
            self.render.one(row).await? // removed before
        };
        self.for_caller(principal.user_id, message).await
    }

    /// Stores the previews built for a message and tells its members, if the message is still
    /// the text they were built for (`job.edited_at`).
    pub async fn apply_previews(&self, job: &PreviewJob, previews: &[NewPreview<'_>]) -> Result<()> {
        let Ok(membership) = self.conversations.membership(job.sender_id, job.conversation_id).await else {
            return Ok(()); // the sender left, or the conversation is gone
        };
        let _in_order = self.timeline.lock(job.conversation_id).await;
        let Some(row) = self.store.set_previews(job.conversation_id, job.message_id, job.edited_at, previews).await?
        else {
            return Ok(()); // edited, deleted or its previews removed meanwhile
        };
        self.publish_update(&membership, row).await?;
        Ok(())
    }

    /// Hands a message's links to the preview builder (an edit's too: they may differ now, or
    /// be gone). A full queue costs the message its previews, never its delivery.
    fn queue_previews(&self, message: &Message, edited: bool) {
        let Some(queue) = &self.previews else { return };
        let links = links::links(&message.body, MAX_PREVIEWS);
        if links.is_empty() && !edited {
            return;
        }
        let job = PreviewJob {
            conversation_id: message.conversation_id,
            message_id: message.id,
            sender_id: message.sender_id,
            edited_at: message.edited_at.map(crate::clock::unix_ms),
            links,
        };
        if queue.try_send(job).is_err() {
            tracing::warn!(message = %message.id, "the link preview queue is full; this message gets none");
        }
    }

    /// Deletes a message for everyone, leaving a tombstone. Authors may delete their messages;
    /// owners and admins may delete anyone's in a group.
    pub async fn delete(&self, principal: Principal, conversation: ConversationId, id: MessageId) -> Result<Message> {
        let membership = self.conversations.membership(principal.user_id, conversation).await?;
        let original = self.store.message_in(conversation, id).await?.ok_or(Error::NotFound("message"))?;
        if original.sender_id != principal.user_id && !moderates(&membership, principal.user_id) {
            return Err(Error::Forbidden("only its author or a group admin may delete a message".into()));
        }
        if original.kind != MessageKind::Text || original.deleted_at.is_some() {
            return Err(Error::NotFound("message"));
        }
        let _in_order = self.timeline.lock(conversation).await;
        let row = self
            .store
            .delete_message(conversation, id, principal.user_id, now_ms())
            .await?
            .ok_or(Error::NotFound("message"))?;
        self.media.released(); // its attachments' files may be unreferenced now
        let message = self.publish_update(&membership, row).await?;
        self.for_caller(principal.user_id, message).await
    }

    /// Adds (`present`) or removes the caller's reaction. Repeating either is harmless.
    pub async fn react(
        &self,
        principal: Principal,
        conversation: ConversationId,
        id: MessageId,
        emoji: &str,
        present: bool,
    ) -> Result<Message> {
        let membership = self.conversations.membership(principal.user_id, conversation).await?;
        self.check_direct(&membership, principal.user_id).await?;
        body::check_emoji(emoji)?;
        if present && self.store.distinct_reactions(id).await? >= MAX_DISTINCT_REACTIONS {
            return Err(Error::invalid(
                ErrorCode::InvalidEmoji,
                format!("a message carries at most {MAX_DISTINCT_REACTIONS} different reactions"),
            ));
        }
        let _in_order = self.timeline.lock(conversation).await;
        let outcome = self
            .store
            .set_reaction(conversation, id, principal.user_id, emoji, present, now_ms())
            .await?
            .ok_or(Error::NotFound("message"))?;
        let message = match outcome {
            ChangeOutcome::Changed(row) => self.publish_update(&membership, row).await?,
            ChangeOutcome::Unchanged(row) => self.render.one(row).await?,
        };
        self.for_caller(principal.user_id, message).await
    }

    /// Pins or unpins a message: anyone in a direct conversation, owners and admins in a group.
    pub async fn pin(
        &self,
        principal: Principal,
        conversation: ConversationId,
        id: MessageId,
        pinned: bool,
    ) -> Result<Message> {
        let me = principal.user_id;
        let membership = self.conversations.membership(me, conversation).await?;
        if membership.kind == ConversationKind::Group
            && !permissions::allowed(membership.role_of(me).unwrap_or(Role::Member), GroupAction::Pin)
        {
            return Err(Error::Forbidden("only owners and admins pin messages in a group".into()));
        }
        let system = if pinned {
            SystemEvent::MessagePinned { message_id: id }
        } else {
            SystemEvent::MessageUnpinned { message_id: id }
        };
        let _in_order = self.timeline.lock(conversation).await;
        let event = self.timeline.prepare(conversation, me, &system);
        let group_event = event.as_group_event();
        let Some((row, entry)) =
            self.store.set_pinned(conversation, id, me, pinned, &group_event.message, &group_event.audit).await?
        else {
            let current = self.store.message_in(conversation, id).await?.ok_or(Error::NotFound("message"))?;
            let current = self.render.one(current).await?; // already in that state
            return self.for_caller(me, current).await;
        };
        let message = self.publish_update(&membership, row).await?;
        let entry = self.render.one(entry).await?;
        self.hub.publish(membership.members(), Event::MessageCreated(entry));
        self.for_caller(me, message).await
    }

    pub async fn pins(&self, principal: Principal, conversation: ConversationId) -> Result<PinList> {
        self.conversations.membership(principal.user_id, conversation).await?;
        let rows = self.store.pinned_messages(conversation).await?;
        let hidden = &self.blocks.of(principal.user_id).await?.blocked;
        Ok(PinList { messages: self.render.for_viewer(rows, hidden).await? })
    }

    /// The earlier versions of an edited message, oldest first.
    pub async fn edits(
        &self,
        principal: Principal,
        conversation: ConversationId,
        id: MessageId,
    ) -> Result<MessageEditList> {
        self.conversations.membership(principal.user_id, conversation).await?;
        self.store.message_in(conversation, id).await?.ok_or(Error::NotFound("message"))?;
        let edits = self.store.edits_of(id).await?;
        let edits = edits
            .into_iter()
            .map(|e| MessageEdit { previous_body: e.previous_body, edited_at: datetime(e.edited_at) })
            .collect();
        Ok(MessageEditList { edits })
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
        let (rows, has_more) = self.store.history(conversation, range).await?;
        let hidden = &self.blocks.of(principal.user_id).await?.blocked;
        Ok(MessagePage { messages: self.render.for_viewer(rows, hidden).await?, has_more })
    }

    /// Members named as `@username` in `body`, as the JSON stored with the message.
    async fn mentions(&self, membership: &Membership, body: &str) -> Result<Option<String>> {
        let names = mentions::mentioned_usernames(body);
        if names.is_empty() {
            return Ok(None);
        }
        let members = self.store.users_by_ids(membership.members()).await?;
        let mentioned: Vec<UserId> = members.iter().filter(|u| names.contains(&u.username)).map(|u| u.id).collect();
        Ok((!mentioned.is_empty()).then(|| serde_json::to_string(&mentioned).unwrap_or_default()))
    }

    /// Renders and publishes a new timeline entry written by another service (an invitation).
    pub async fn announce_created(&self, membership: &Membership, row: MessageRow) -> Result<Message> {
        let message = self.render.one(row).await?;
        self.publish(membership, message.clone(), Event::MessageCreated).await?;
        Ok(message)
    }

    /// Renders and publishes a changed entry written by another service (an invitation's state).
    pub async fn announce_updated(&self, membership: &Membership, row: MessageRow) -> Result<Message> {
        self.publish_update(membership, row).await
    }

    /// Hands a new message to the notification rules without holding up its delivery.
    pub fn notify_in_background(&self, membership: &Membership, message: Message) {
        let kind = membership.kind;
        if !self.notifications.may_notify(kind, membership.members(), &message) {
            return;
        }
        let notifications = self.notifications.clone();
        self.tasks.spawn_job("notifications of a message", async move {
            if let Err(e) = notifications.on_message(kind, &message).await {
                tracing::warn!(error = %e, "notifications for a message failed");
            }
        });
    }

    async fn publish_update(&self, membership: &Membership, row: MessageRow) -> Result<Message> {
        let message = self.render.one(row).await?;
        self.publish(membership, message.clone(), Event::MessageUpdated).await?;
        Ok(message)
    }

    /// Publishes to every member, each getting it as [`render::seen_by`] shows it to them — the
    /// same function history and sync end in, so live and stored views agree. Members are
    /// grouped by which of the message's authors (its sender, the sender it quotes) they blocked:
    /// usually one serialization, at most four.
    async fn publish(&self, membership: &Membership, message: Message, event: fn(Message) -> Event) -> Result<()> {
        let mut authors = Vec::new();
        for author in render::hideable_authors(&message) {
            authors.push((author, self.blocks.of(author).await?));
        }
        let mut audiences: Vec<(HashSet<UserId>, Vec<UserId>)> = Vec::new();
        for member in membership.members().iter().copied() {
            let hidden: HashSet<UserId> =
                authors.iter().filter(|(_, sets)| sets.blocked_by.contains(&member)).map(|(a, _)| *a).collect();
            match audiences.iter_mut().find(|(h, _)| *h == hidden) {
                Some((_, recipients)) => recipients.push(member),
                None => audiences.push((hidden, vec![member])),
            }
        }
        // One unit for the bus, so that every node delivers all the variants of this version.
        let events: Vec<Event> =
            audiences.iter().map(|(hidden, _)| event(render::seen_by(message.clone(), hidden))).collect();
        self.hub
            .publish_all(audiences.iter().zip(events).map(|((_, recipients), e)| (recipients.as_slice(), e)).collect());
        Ok(())
    }

    /// A message as the caller sees it, for the answer to their own command.
    async fn for_caller(&self, me: UserId, message: Message) -> Result<Message> {
        Ok(render::seen_by(message, &self.blocks.of(me).await?.blocked))
    }

    /// In a direct conversation, a block either way stops writing, editing and reacting.
    async fn check_direct(&self, membership: &Membership, me: UserId) -> Result<()> {
        if membership.kind == ConversationKind::Direct
            && let Some(other) = membership.members().iter().copied().find(|u| *u != me)
        {
            self.blocks.check(me, other).await?;
        }
        Ok(())
    }
}

fn moderates(membership: &Membership, user: UserId) -> bool {
    membership.kind == ConversationKind::Group
        && permissions::allowed(membership.role_of(user).unwrap_or(Role::Member), GroupAction::ModerateMessages)
}
