//! Conversations: direct conversations (one per pair), groups and their management (with every
//! change kept in the timeline and the audit log), read state, typing, listing — and
//! [`Conversations::membership`], the authorization check every other service uses before
//! touching a conversation.

mod group;
mod live;
mod membership;
pub mod permissions;
pub mod theme;

use std::collections::HashMap;
use std::sync::Arc;

use confab_proto::frames::Event;
use confab_proto::rest::{
    AuditEntry, AuditLog, Conversation, ConversationKind, ConversationList, ConversationListQuery,
    CreateConversationRequest, Member, Role, SystemEvent,
};
use confab_proto::{ConversationId, ErrorCode, UserId};

pub use group::parse_name;
pub use live::TypingThrottle;
pub use membership::Membership;
use permissions::GroupAction;

use crate::auth::Principal;
use crate::cache::Cache;
use crate::clock::{datetime, now_ms};
use crate::config::LimitsConfig;
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::ids::IdGenerator;
use crate::people::{BlockSets, Blocks};
use crate::presence::Presence;
use crate::render::Renderer;
use crate::store::{ConversationRow, MemberRow, Named, NewConversation, Store, UserRow};
use crate::timeline::Timeline;
use crate::users::Users;

/// A conversation as a viewer with these block sets sees it: no read position of anyone on either
/// side of a block with them (`read_seq` 0, like live `read.updated`, see
/// `Blocks::live_audience`), and the last message as `render::seen_by` shows it.
fn seen_by(mut conversation: Conversation, blocks: &BlockSets) -> Conversation {
    for member in &mut conversation.members {
        if blocks.either(member.user.id) {
            member.read_seq = 0;
        }
    }
    conversation.last_message =
        conversation.last_message.map(|m| Box::new(crate::render::seen_by(*m, &blocks.blocked)));
    conversation
}

/// Members listed per conversation in `GET /api/v1/conversations`.
const LIST_MEMBERS: usize = 20;
pub const MAX_PAGE: u32 = 100;
const DEFAULT_PAGE: u32 = 50;

pub struct Conversations {
    store: Store,
    ids: Arc<IdGenerator>,
    users: Arc<Users>,
    hub: Arc<Hub>,
    timeline: Arc<Timeline>,
    blocks: Arc<Blocks>,
    presence: Arc<Presence>,
    render: Renderer,
    cache: Cache<ConversationId, Arc<Membership>>,
    typing: TypingThrottle,
    limits: LimitsConfig,
}

/// The services a [`Conversations`] works with.
pub struct ConversationDeps {
    pub store: Store,
    pub ids: Arc<IdGenerator>,
    pub users: Arc<Users>,
    pub hub: Arc<Hub>,
    pub timeline: Arc<Timeline>,
    pub blocks: Arc<Blocks>,
    pub presence: Arc<Presence>,
    pub render: Renderer,
}

impl Conversations {
    pub fn new(deps: ConversationDeps, limits: LimitsConfig) -> Self {
        let ConversationDeps { store, ids, users, hub, timeline, blocks, presence, render } = deps;
        Conversations {
            store,
            ids,
            users,
            hub,
            timeline,
            blocks,
            presence,
            render,
            cache: Cache::new(membership::MAX_CACHED),
            typing: TypingThrottle::default(),
            limits,
        }
    }

    /// Opens the direct conversation with one other user (returning the existing one if any), or
    /// creates a group. The bool is true when a conversation was created.
    pub async fn create(&self, principal: Principal, req: CreateConversationRequest) -> Result<(Conversation, bool)> {
        principal.require_person()?;
        // Duplicates and the caller themself are collapsed: they are members anyway.
        let others = |members: &[UserId]| {
            let mut others: Vec<UserId> = members.iter().copied().filter(|u| *u != principal.user_id).collect();
            others.sort_unstable();
            others.dedup();
            others
        };
        match req {
            CreateConversationRequest::Direct { members } => {
                let [other] = others(&members)[..] else {
                    return Err(Error::invalid(
                        ErrorCode::InvalidMembers,
                        "a direct conversation takes exactly one other user in \"members\"",
                    ));
                };
                self.open_direct(principal.user_id, other).await
            }
            CreateConversationRequest::Group { name, members } => {
                let name = group::parse_name(Some(&name))?;
                self.create_group(principal.user_id, &name, others(&members)).await.map(|c| (c, true))
            }
        }
    }

    async fn open_direct(&self, me: UserId, other: UserId) -> Result<(Conversation, bool)> {
        self.users.require_addable(me, &[other]).await?;
        self.blocks.check(me, other).await?;
        let key = direct_key(me, other);
        if let Some(existing) = self.store.direct_conversation(&key).await? {
            return Ok((self.view(existing, me).await?, false));
        }
        let new = NewConversation {
            id: self.ids.next(),
            kind: ConversationKind::Direct,
            name: None,
            direct_key: Some(&key),
            created_by: me,
            now: now_ms(),
            members: vec![(me, Role::Member), (other, Role::Member)],
        };
        match self.store.insert_conversation(&new, &[]).await {
            Ok(()) => {
                let id = new.id;
                self.publish_snapshot(&[me, other], id, Event::ConversationCreated).await?;
                Ok((self.get(Principal::person(me), id).await?, true))
            }
            // Both users opened it at the same moment: the other request created it.
            Err(e) if e.is_unique_violation() => {
                let existing = self.store.direct_conversation(&key).await?.ok_or(Error::Store(e))?;
                Ok((self.view(existing, me).await?, false))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn create_group(&self, owner: UserId, name: &str, others: Vec<UserId>) -> Result<Conversation> {
        if others.len() + 1 > self.limits.max_group_members {
            return Err(Error::invalid(
                ErrorCode::InvalidMembers,
                format!("a group has at most {} members", self.limits.max_group_members),
            ));
        }
        self.users.require_addable(owner, &others).await?;
        self.check_blocks(owner, &others).await?;
        let mut members = vec![(owner, Role::Owner)];
        members.extend(others.iter().map(|u| (*u, Role::Member)));
        let id: ConversationId = self.ids.next();
        let created = self.timeline.prepare(id, owner, &SystemEvent::GroupCreated { name: name.to_owned() });
        let new = NewConversation {
            id,
            kind: ConversationKind::Group,
            name: Some(name),
            direct_key: None,
            created_by: owner,
            now: now_ms(),
            members,
        };
        self.store.insert_conversation(&new, &[created.as_group_event()]).await?;
        let recipients: Vec<UserId> = others.iter().copied().chain([owner]).collect();
        self.publish_snapshot(&recipients, id, Event::ConversationCreated).await?;
        self.get(Principal::person(owner), id).await
    }

    /// A conversation of the caller, with their unread count; to anyone else it does not exist.
    pub async fn get(&self, principal: Principal, id: ConversationId) -> Result<Conversation> {
        self.membership(principal.user_id, id).await?;
        let row = self.store.conversation(id).await?.ok_or(Error::NotFound("conversation"))?;
        self.view(row, principal.user_id).await
    }

    /// The caller's conversations, most recently active first, a page at a time.
    pub async fn list(&self, principal: Principal, query: ConversationListQuery) -> Result<ConversationList> {
        let limit = query.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Error::invalid(ErrorCode::InvalidParameter, format!("limit must be between 1 and {MAX_PAGE}")));
        }
        let before = query.cursor.as_deref().map(parse_cursor).transpose()?;
        let mut rows = self.store.conversations_of(principal.user_id, before, i64::from(limit) + 1).await?;
        let next_cursor = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|r| format!("{}.{}", r.last_activity_at, r.id))
        } else {
            None
        };
        let conversations = self.assemble(rows, Some(principal.user_id), Some(LIST_MEMBERS)).await?;
        Ok(ConversationList { conversations, next_cursor })
    }

    /// The members of `id` if `user` is one of them. Non-members get the same `not_found` as
    /// for a conversation that does not exist, so ids cannot be probed.
    pub async fn membership(&self, user: UserId, id: ConversationId) -> Result<Arc<Membership>> {
        let membership = match self.cache.get(&id) {
            Some(m) => m,
            None => self.load_membership(id).await?,
        };
        if membership.contains(user) { Ok(membership) } else { Err(Error::NotFound("conversation")) }
    }

    /// Reads the members of `id` from the database and caches them — unless the membership
    /// changed while they were read (see `crate::cache`).
    async fn load_membership(&self, id: ConversationId) -> Result<Arc<Membership>> {
        let ticket = self.cache.ticket(&id);
        let Some(row) = self.store.conversation(id).await? else {
            return Err(Error::NotFound("conversation"));
        };
        let members = self.store.members_of(&[id]).await?;
        let m = Arc::new(Membership::new(row.kind, members.iter().map(|m| (m.user_id, m.role)).collect()));
        self.cache.insert(id, m.clone(), ticket);
        Ok(m)
    }

    /// Drops the cached membership of `id` here and on the other nodes of a cluster.
    fn membership_changed(&self, id: ConversationId) {
        self.cache.invalidate(&id);
        self.hub.invalidate_elsewhere(crate::hub::bus::Invalidation::Membership { conversation: id });
    }

    pub fn forget_all_memberships(&self) {
        self.cache.clear();
    }

    /// Drops a cached membership because another node changed it.
    pub fn forget_membership(&self, id: ConversationId) {
        self.cache.invalidate(&id);
    }

    /// Checks that `user` may do `action` in group `id`; direct conversations allow none of them.
    /// Who may change what every member sees of a conversation (its theme, its link
    /// previews): either member of a direct conversation, those allowed `EditInfo` in a group.
    async fn authorize_settings(&self, user: UserId, id: ConversationId) -> Result<Arc<Membership>> {
        let membership = self.membership(user, id).await?;
        if membership.kind == ConversationKind::Direct {
            return Ok(membership);
        }
        self.authorize(user, id, GroupAction::EditInfo).await
    }

    async fn authorize(&self, user: UserId, id: ConversationId, action: GroupAction) -> Result<Arc<Membership>> {
        let membership = self.membership(user, id).await?;
        if membership.kind == ConversationKind::Direct {
            return Err(Error::Forbidden("direct conversations have no group settings".into()));
        }
        let role = membership.role_of(user).unwrap_or(Role::Member);
        if !permissions::allowed(role, action) {
            return Err(Error::Forbidden(format!("a group {} may not do this", role.name())));
        }
        Ok(membership)
    }

    /// The audit log of a group (owner and admins).
    pub async fn audit(&self, principal: Principal, id: ConversationId) -> Result<AuditLog> {
        self.authorize(principal.user_id, id, GroupAction::ReadAudit).await?;
        let rows = self.store.audit_log(id, 500).await?;
        let entries = rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id.to_string(),
                conversation_id: r.conversation_id,
                actor_id: r.actor_id,
                action: r.action,
                detail: r.detail.as_deref().and_then(|d| serde_json::from_str(d).ok()),
                created_at: datetime(r.created_at),
            })
            .collect();
        Ok(AuditLog { entries })
    }

    /// Sets how much this conversation may notify the caller.
    pub async fn set_notification_level(
        &self,
        principal: Principal,
        id: ConversationId,
        level: confab_proto::rest::NotificationLevel,
    ) -> Result<Conversation> {
        self.membership(principal.user_id, id).await?;
        self.store.set_notify_level(id, principal.user_id, level).await?;
        self.get(principal, id).await
    }

    /// Every conversation of `user`, for `sync`.
    pub async fn ids_of(&self, user: UserId) -> Result<Vec<ConversationId>> {
        Ok(self.store.conversation_ids_of(user).await?)
    }

    /// Conversations as `viewer` sees them (with unread counts), all members listed.
    pub async fn views(&self, ids: &[ConversationId], viewer: UserId) -> Result<Vec<Conversation>> {
        let rows = self.store.conversations_by_ids(ids).await?;
        self.assemble(rows, Some(viewer), None).await
    }

    async fn view(&self, row: ConversationRow, viewer: UserId) -> Result<Conversation> {
        let mut all = self.assemble(vec![row], Some(viewer), None).await?;
        all.pop().ok_or(Error::NotFound("conversation"))
    }

    /// The conversation as every member sees it (no per-viewer fields), for events.
    async fn snapshot(&self, id: ConversationId) -> Result<Conversation> {
        let row = self.store.conversation(id).await?.ok_or(Error::NotFound("conversation"))?;
        let mut all = self.assemble(vec![row], None, None).await?;
        all.pop().ok_or(Error::NotFound("conversation"))
    }

    async fn assemble(
        &self,
        rows: Vec<ConversationRow>,
        viewer: Option<UserId>,
        member_cap: Option<usize>,
    ) -> Result<Vec<Conversation>> {
        let ids: Vec<ConversationId> = rows.iter().map(|r| r.id).collect();
        let members = self.store.members_of(&ids).await?;
        let users = self.user_map(&members).await?;
        let mut by_conversation: HashMap<ConversationId, Vec<MemberRow>> = HashMap::new();
        for m in members {
            by_conversation.entry(m.conversation_id).or_default().push(m);
        }
        let blocks = match viewer {
            Some(viewer) => Some(self.blocks.of(viewer).await?),
            None => None,
        };
        let last = self.render.all(self.store.last_messages(&ids).await?).await?;
        let mut last: HashMap<ConversationId, _> = last.into_iter().map(|m| (m.conversation_id, m)).collect();
        let unread: HashMap<ConversationId, i64> = match viewer {
            Some(viewer) => self.store.unread_counts(viewer, &ids).await?.into_iter().collect(),
            None => HashMap::new(),
        };
        let presence = match viewer {
            Some(viewer) => {
                let rows: Vec<UserRow> = users.values().cloned().collect();
                self.presence.view(viewer, &rows).await?
            }
            None => HashMap::new(),
        };
        Ok(rows
            .into_iter()
            .map(|row| {
                let members = by_conversation.remove(&row.id).unwrap_or_default();
                let member_count = members.len();
                let notification_level =
                    viewer.and_then(|v| members.iter().find(|m| m.user_id == v)).map(|m| m.notify_level);
                let members = members
                    .iter()
                    .take(member_cap.unwrap_or(usize::MAX))
                    .filter_map(|m| {
                        users.get(&m.user_id).map(|u| Member {
                            user: self.users.to_wire(u),
                            role: m.role,
                            read_seq: m.read_seq,
                            presence: presence.get(&m.user_id).cloned(),
                        })
                    })
                    .collect();
                let conversation = Conversation {
                    id: row.id,
                    kind: row.kind,
                    name: row.name,
                    topic: row.topic,
                    avatar_url: row.avatar_url,
                    theme: row.theme.as_deref().and_then(|t| serde_json::from_str(t).ok()),
                    link_previews: row.link_previews != 0,
                    members,
                    member_count,
                    last_seq: row.last_seq,
                    version: row.version,
                    unread_count: viewer.map(|_| unread.get(&row.id).copied().unwrap_or(0)),
                    last_message: last.remove(&row.id).map(Box::new),
                    notification_level,
                    created_at: datetime(row.created_at),
                    last_activity_at: datetime(row.last_activity_at),
                };
                match &blocks {
                    Some(blocks) => seen_by(conversation, blocks),
                    None => conversation,
                }
            })
            .collect())
    }

    /// Publishes `id` as it is now to `recipients`, each seeing it as [`seen_by`] shows it to
    /// them; those in no block at all share one serialization.
    async fn publish_snapshot(
        &self,
        recipients: &[UserId],
        id: ConversationId,
        event: fn(Conversation) -> Event,
    ) -> Result<()> {
        let conversation = self.snapshot(id).await?;
        let mut plain = Vec::with_capacity(recipients.len());
        for recipient in recipients.iter().copied() {
            let blocks = self.blocks.of(recipient).await?;
            if blocks.blocked.is_empty() && blocks.blocked_by.is_empty() {
                plain.push(recipient);
            } else {
                self.hub.publish(&[recipient], event(seen_by(conversation.clone(), &blocks)));
            }
        }
        self.hub.publish(&plain, event(conversation));
        Ok(())
    }

    /// Refuses to put `actor` in a group with someone either of them blocked.
    async fn check_blocks(&self, actor: UserId, others: &[UserId]) -> Result<()> {
        let blocks = self.blocks.of(actor).await?;
        if let Some(other) = others.iter().find(|u| blocks.either(**u)) {
            return self.blocks.check(actor, *other).await;
        }
        Ok(())
    }

    async fn user_map(&self, members: &[MemberRow]) -> Result<HashMap<UserId, UserRow>> {
        let mut ids: Vec<UserId> = members.iter().map(|m| m.user_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let rows = self.store.users_by_ids(&ids).await?;
        Ok(rows.into_iter().map(|u| (u.id, u)).collect())
    }
}

fn direct_key(a: UserId, b: UserId) -> String {
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    format!("{low}:{high}")
}

/// Cursors are `<last_activity_at>.<id>` of the last conversation of the previous page.
fn parse_cursor(cursor: &str) -> Result<(i64, ConversationId)> {
    let invalid = || Error::invalid(ErrorCode::InvalidParameter, "cursor is not one this server issued");
    let (activity, id) = cursor.split_once('.').ok_or_else(invalid)?;
    Ok((activity.parse().map_err(|_| invalid())?, id.parse().map_err(|_| invalid())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_key_is_the_same_from_both_sides() {
        assert_eq!(direct_key(UserId(5), UserId(3)), direct_key(UserId(3), UserId(5)));
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        assert_eq!(parse_cursor("1700.42").unwrap(), (1700, ConversationId(42)));
        for bad in ["", "x", "1.", ".1", "1.2.3", "a.b"] {
            assert!(parse_cursor(bad).is_err(), "{bad}");
        }
    }
}
