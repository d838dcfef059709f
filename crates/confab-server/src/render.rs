//! Rows to wire messages: every path that returns messages (send, edit, history, sync, the
//! conversation list) renders them here, with their reactions, reply quotes and attachments
//! loaded in batch. What a viewer who blocked someone sees of a message is [`seen_by`]: the
//! stored paths (`for_viewer`) and the live one (`Messages::publish`) both end there, so they
//! cannot differ. Conversations, messages, invitations and sync all call this module; it calls
//! none of them, so the wire shape of a message (and of what it carries) has one home.

use std::collections::{HashMap, HashSet};

use confab_proto::media::{Attachment, FileInfo};
use confab_proto::rest::{
    Invitation, LinkPreview, Message, MessageKind, PreviewImage, Reaction, ReplyQuote, Sticker, SystemEvent,
};
use confab_proto::{AttachmentId, MessageId, StickerId, UserId};

use crate::clock::datetime;
use crate::error::Result;
use crate::store::{AttachmentRow, FileRow, InvitationRow, MessagePreviewRow, MessageRow, StickerRow, Store};

/// Characters of the original kept in a reply's quote.
const QUOTE_CHARS: usize = 140;

/// Renders messages: the store to load what they carry, and where their files are served.
#[derive(Clone)]
pub struct Renderer {
    store: Store,
    /// Prefix of media URLs: empty (same origin) or `media.public_origin`.
    media_origin: String,
}

impl Renderer {
    pub fn new(store: Store, media_origin: Option<&str>) -> Renderer {
        Renderer { store, media_origin: media_origin.unwrap_or_default().trim_end_matches('/').to_owned() }
    }

    /// Renders rows into messages, loading reactions, quotes and attachments with one query each.
    pub async fn all(&self, rows: Vec<MessageRow>) -> Result<Vec<Message>> {
        self.for_viewer(rows, &HashSet::new()).await
    }

    pub async fn one(&self, row: MessageRow) -> Result<Message> {
        let mut rendered = self.all(vec![row]).await?;
        rendered.pop().ok_or_else(|| crate::error::Error::Internal("rendering lost a message".into()))
    }

    /// Renders a message just stored, without a query: it has no reactions and no invitation
    /// yet, the original it replies to was read when the reply was checked, and its
    /// attachments when they were.
    pub fn new_message(&self, row: MessageRow, replied: Option<&MessageRow>, attachments: &[AttachmentRow]) -> Message {
        let reply = row.reply_to.map(|id| quote(id, replied));
        let attachments = attachments.iter().map(|a| self.attachment(a)).collect();
        to_wire(row, Carried { reply, attachments, ..Carried::default() })
    }

    /// Renders a sticker message just stored: its sticker was read when the send checked it.
    pub fn new_sticker_message(&self, row: MessageRow, replied: Option<&MessageRow>, sticker: &StickerRow) -> Message {
        let reply = row.reply_to.map(|id| quote(id, replied));
        to_wire(row, Carried { reply, sticker: Some(self.sticker(sticker)), ..Carried::default() })
    }

    /// A sticker with its capability URL (none once its pack is deleted).
    pub fn sticker(&self, row: &StickerRow) -> Sticker {
        let dimension = |v: Option<i64>| v.and_then(|v| u32::try_from(v).ok()).unwrap_or_default();
        Sticker {
            id: row.id,
            pack_id: row.pack_id,
            shortcode: row.shortcode.clone(),
            body: row.body.clone(),
            url: row.file.as_ref().map(|f| self.public_file_url(f)),
            width: dimension(row.file.as_ref().and_then(|f| f.width)),
            height: dimension(row.file.as_ref().and_then(|f| f.height)),
        }
    }

    /// A stored link preview, its image served from here.
    pub fn preview(&self, row: &MessagePreviewRow) -> Option<LinkPreview> {
        let mut preview: LinkPreview = serde_json::from_str(&row.preview).ok()?;
        preview.image = row.file.as_ref().map(|file| PreviewImage {
            url: self.public_file_url(file),
            width: file.width.and_then(|v| u32::try_from(v).ok()).unwrap_or_default(),
            height: file.height.and_then(|v| u32::try_from(v).ok()).unwrap_or_default(),
            blurhash: file.blurhash.clone(),
        });
        Some(preview)
    }

    /// An attachment as members see it, with its capability URLs.
    pub fn attachment(&self, row: &AttachmentRow) -> Attachment {
        let base = format!("{}/api/v1/media/{}/{}", self.media_origin, row.upload.id, row.upload.access_key);
        Attachment {
            id: AttachmentId(row.upload.id.0),
            file: file_info(&row.upload.name, &row.file),
            thumbnail_url: row.file.thumbnail.as_ref().map(|_| format!("{base}/thumbnail")),
            url: base,
        }
    }

    /// Where an avatar made from `file` is served (no credentials needed, like attachments).
    pub fn avatar_url(&self, file: &FileRow) -> String {
        self.public_file_url(file)
    }

    /// Where a file that is not an attachment (an avatar, a link preview's image, a sticker) is
    /// served: a capability URL, like attachments'.
    pub fn public_file_url(&self, file: &FileRow) -> String {
        format!("{}/api/v1/avatars/{}/{}", self.media_origin, file.id.0, file.access_key)
    }

    /// Renders rows for a viewer who blocked `hidden` (see [`seen_by`]).
    pub async fn for_viewer(&self, rows: Vec<MessageRow>, hidden: &HashSet<UserId>) -> Result<Vec<Message>> {
        let store = &self.store;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<MessageId> = rows.iter().map(|r| r.id).collect();
        let mut reactions: HashMap<MessageId, Vec<Reaction>> = HashMap::new();
        for r in store.reactions_of(&ids).await? {
            let list = reactions.entry(r.message_id).or_default();
            match list.iter_mut().find(|x| x.emoji == r.emoji) {
                Some(reaction) => {
                    reaction.count += 1;
                    reaction.users.push(r.user_id);
                }
                None => list.push(Reaction { emoji: r.emoji, count: 1, users: vec![r.user_id] }),
            }
        }
        let mut quoted: Vec<MessageId> = rows.iter().filter_map(|r| r.reply_to).collect();
        quoted.sort_unstable();
        quoted.dedup();
        let originals: HashMap<MessageId, MessageRow> =
            store.messages_by_ids(&quoted).await?.into_iter().map(|m| (m.id, m)).collect();
        let invited: Vec<MessageId> = rows.iter().filter(|r| r.kind == MessageKind::Invitation).map(|r| r.id).collect();
        let mut invitations: HashMap<MessageId, Invitation> =
            store.invitations_of(&invited).await?.iter().map(|i| (i.message_id, invitation(i))).collect();
        let texts: Vec<MessageId> =
            rows.iter().filter(|r| r.kind == MessageKind::Text && r.deleted_at.is_none()).map(|r| r.id).collect();
        let mut attachments: HashMap<MessageId, Vec<Attachment>> = HashMap::new();
        for a in store.attachments_of(&texts).await? {
            if let Some(message) = a.upload.message_id {
                attachments.entry(message).or_default().push(self.attachment(&a));
            }
        }
        let mut previews: HashMap<MessageId, Vec<LinkPreview>> = HashMap::new();
        for p in store.previews_of(&texts).await? {
            if let Some(preview) = self.preview(&p) {
                previews.entry(p.message_id).or_default().push(preview);
            }
        }
        let mut sticker_ids: Vec<StickerId> = rows.iter().filter_map(|r| r.sticker_id).collect();
        sticker_ids.sort_unstable();
        sticker_ids.dedup();
        let stickers: HashMap<StickerId, Sticker> =
            store.stickers_by_ids(&sticker_ids).await?.iter().map(|s| (s.id, self.sticker(s))).collect();

        Ok(rows
            .into_iter()
            .map(|row| {
                let carried = Carried {
                    reply: row.reply_to.map(|id| quote(id, originals.get(&id))),
                    reactions: reactions.remove(&row.id).unwrap_or_default(),
                    invitation: invitations.remove(&row.id),
                    attachments: attachments.remove(&row.id).unwrap_or_default(),
                    previews: previews.remove(&row.id).unwrap_or_default(),
                    sticker: row.sticker_id.and_then(|id| stickers.get(&id).cloned()),
                };
                seen_by(to_wire(row, carried), hidden)
            })
            .collect())
    }
}

pub fn file_info(name: &str, file: &FileRow) -> FileInfo {
    let dimension = |v: Option<i64>| v.and_then(|v| u32::try_from(v).ok());
    FileInfo {
        name: name.to_owned(),
        size: u64::try_from(file.size).unwrap_or_default(),
        mime: file.mime.clone(),
        width: dimension(file.width),
        height: dimension(file.height),
        frames: dimension(file.frames),
        blurhash: file.blurhash.clone(),
        sha256: file.sha256.clone(),
    }
}

/// A message as seen by a viewer who blocked the users in `hidden`: a text message of theirs
/// keeps its place but not its body, mentions or attachments (`collapsed`), and a quote of theirs in
/// anyone's reply loses its excerpt.
pub fn seen_by(mut message: Message, hidden: &HashSet<UserId>) -> Message {
    if hidden.is_empty() {
        return message;
    }
    if let Some(reply) = message.reply.as_mut().filter(|r| hidden.contains(&r.sender_id)) {
        reply.excerpt.clear();
    }
    if hidden.contains(&message.sender_id) && matches!(message.kind, MessageKind::Text | MessageKind::Sticker) {
        message.body.clear();
        message.mentions.clear();
        message.tones.clear();
        message.attachments.clear();
        message.previews.clear();
        message.sticker = None;
        message.collapsed = true;
    }
    message
}

/// The users whose blocking by a viewer changes what [`seen_by`] shows of `message`.
pub fn hideable_authors(message: &Message) -> Vec<UserId> {
    let mut authors = vec![message.sender_id];
    if let Some(reply) = &message.reply
        && reply.sender_id != message.sender_id
    {
        authors.push(reply.sender_id);
    }
    authors
}

fn quote(id: MessageId, original: Option<&MessageRow>) -> ReplyQuote {
    match original {
        Some(o) if o.deleted_at.is_none() => ReplyQuote {
            message_id: id,
            sender_id: o.sender_id,
            excerpt: o.body.chars().take(QUOTE_CHARS).collect(),
            deleted: false,
        },
        // Deleted (a tombstone), or gone with its conversation: shown as deleted either way.
        Some(o) => ReplyQuote { message_id: id, sender_id: o.sender_id, excerpt: String::new(), deleted: true },
        None => ReplyQuote { message_id: id, sender_id: UserId(0), excerpt: String::new(), deleted: true },
    }
}

/// What a message carries beside its own row.
#[derive(Default)]
struct Carried {
    reply: Option<ReplyQuote>,
    reactions: Vec<Reaction>,
    invitation: Option<Invitation>,
    attachments: Vec<Attachment>,
    previews: Vec<LinkPreview>,
    sticker: Option<Sticker>,
}

fn to_wire(row: MessageRow, carried: Carried) -> Message {
    let Carried { reply, reactions, invitation, attachments, previews, sticker } = carried;
    let mentions: Vec<UserId> = row.mentions.as_deref().and_then(|m| serde_json::from_str(m).ok()).unwrap_or_default();
    let tones: Vec<String> =
        row.tones.as_deref().map(|t| t.split(' ').map(str::to_owned).collect()).unwrap_or_default();
    let system: Option<SystemEvent> = row.system.as_deref().and_then(|s| serde_json::from_str(s).ok());
    Message {
        id: row.id,
        conversation_id: row.conversation_id,
        seq: row.seq,
        sender_id: row.sender_id,
        kind: row.kind,
        body: row.body,
        client_id: row.client_id,
        reply_to: row.reply_to,
        reply,
        mentions,
        tones,
        reactions,
        system,
        invitation,
        attachments,
        previews,
        sticker,
        edited_at: row.edited_at.map(datetime),
        deleted_at: row.deleted_at.map(datetime),
        pinned: row.pinned_at.is_some(),
        collapsed: false,
        version: row.version,
        created_at: datetime(row.created_at),
    }
}

/// The invitation carried by a message, from its stored state.
pub fn invitation(row: &InvitationRow) -> Invitation {
    Invitation {
        activity: row.activity.clone(),
        label: row.label.clone(),
        invitee: row.invitee_id,
        state: row.state,
        responded_by: row.responded_by,
        reason: row.reason.clone(),
        result: row.result.as_deref().and_then(|r| serde_json::from_str(r).ok()),
        expires_at: datetime(row.expires_at),
    }
}
