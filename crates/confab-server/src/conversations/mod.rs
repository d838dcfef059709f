//! Conversations: opening direct conversations (one per pair), creating groups, listing and
//! reading them — and [`Conversations::membership`], the authorization check every other service
//! uses before touching a conversation.

mod membership;

use std::collections::HashMap;
use std::sync::Arc;

use confab_proto::frames::Event;
use confab_proto::rest::{Conversation, ConversationKind, ConversationList, CreateConversationRequest, Member, Role};
use confab_proto::{ConversationId, ErrorCode, UserId};

pub use membership::Membership;
use membership::MembershipCache;

use crate::auth::Principal;
use crate::clock::{datetime, now_ms};
use crate::config::LimitsConfig;
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::ids::IdGenerator;
use crate::store::{ConversationRow, MemberRow, NewConversation, Store, UserRow};
use crate::users::{self, Users};

pub const MAX_GROUP_NAME_CHARS: usize = 100;
/// Conversations returned by one list call.
const LIST_LIMIT: i64 = 200;

pub struct Conversations {
    store: Store,
    ids: Arc<IdGenerator>,
    users: Arc<Users>,
    hub: Arc<Hub>,
    cache: MembershipCache,
    limits: LimitsConfig,
}

impl Conversations {
    pub fn new(store: Store, ids: Arc<IdGenerator>, users: Arc<Users>, hub: Arc<Hub>, limits: LimitsConfig) -> Self {
        Conversations { store, ids, users, hub, cache: MembershipCache::default(), limits }
    }

    /// Opens the direct conversation with one other user (returning the existing one if any), or
    /// creates a group. The bool is true when a conversation was created.
    pub async fn create(&self, principal: Principal, req: CreateConversationRequest) -> Result<(Conversation, bool)> {
        // Duplicates and the caller themself are collapsed: they are members anyway.
        let mut others: Vec<UserId> = req.members.iter().copied().filter(|u| *u != principal.user_id).collect();
        others.sort_unstable();
        others.dedup();
        match req.kind {
            ConversationKind::Direct => {
                if req.name.is_some() {
                    return Err(Error::invalid(ErrorCode::InvalidMembers, "a direct conversation has no name"));
                }
                let [other] = others[..] else {
                    return Err(Error::invalid(
                        ErrorCode::InvalidMembers,
                        "a direct conversation takes exactly one other user in \"members\"",
                    ));
                };
                self.open_direct(principal.user_id, other).await
            }
            ConversationKind::Group => {
                let name = parse_group_name(req.name.as_deref())?;
                self.create_group(principal.user_id, &name, others).await.map(|c| (c, true))
            }
        }
    }

    async fn open_direct(&self, me: UserId, other: UserId) -> Result<(Conversation, bool)> {
        self.users.require_all(&[other]).await?;
        let key = direct_key(me, other);
        if let Some(existing) = self.store.direct_conversation(&key).await? {
            return Ok((self.assemble(existing).await?, false));
        }
        let new = NewConversation {
            id: self.ids.next(),
            kind: "direct",
            name: None,
            direct_key: Some(&key),
            created_by: me.0,
            now: now_ms(),
            members: vec![(me.0, "member"), (other.0, "member")],
        };
        match self.store.insert_conversation(&new).await {
            Ok(()) => {
                let conversation = self.get_row(ConversationId(new.id)).await?;
                self.hub.publish(&[me, other], Event::ConversationCreated(conversation.clone()));
                Ok((conversation, true))
            }
            // Both users opened it at the same moment: the other request created it.
            Err(e) if e.is_unique_violation() => {
                let existing = self.store.direct_conversation(&key).await?.ok_or(Error::Store(e))?;
                Ok((self.assemble(existing).await?, false))
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
        self.users.require_all(&others).await?;
        let mut members = vec![(owner.0, "owner")];
        members.extend(others.iter().map(|u| (u.0, "member")));
        let new = NewConversation {
            id: self.ids.next(),
            kind: "group",
            name: Some(name),
            direct_key: None,
            created_by: owner.0,
            now: now_ms(),
            members,
        };
        self.store.insert_conversation(&new).await?;
        let conversation = self.get_row(ConversationId(new.id)).await?;
        let recipients: Vec<UserId> = conversation.members.iter().map(|m| m.user.id).collect();
        self.hub.publish(&recipients, Event::ConversationCreated(conversation.clone()));
        Ok(conversation)
    }

    /// A conversation the caller is a member of; to anyone else it does not exist.
    pub async fn get(&self, principal: Principal, id: ConversationId) -> Result<Conversation> {
        self.membership(principal.user_id, id).await?;
        self.get_row(id).await
    }

    /// The caller's conversations, most recently active first.
    pub async fn list(&self, principal: Principal) -> Result<ConversationList> {
        let rows = self.store.conversations_of(principal.user_id.0, None, LIST_LIMIT).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let members = self.store.members_of(&ids).await?;
        let users = self.user_map(&members).await?;
        let mut by_conversation: HashMap<i64, Vec<MemberRow>> = HashMap::new();
        for m in members {
            by_conversation.entry(m.conversation_id).or_default().push(m);
        }
        let conversations = rows
            .into_iter()
            .map(|row| {
                let members = by_conversation.remove(&row.id).unwrap_or_default();
                to_wire(row, &members, &users)
            })
            .collect();
        Ok(ConversationList { conversations })
    }

    /// The members of `id` if `user` is one of them. Non-members get the same `not_found` as
    /// for a conversation that does not exist, so ids cannot be probed.
    pub async fn membership(&self, user: UserId, id: ConversationId) -> Result<Arc<Membership>> {
        let membership = match self.cache.get(id) {
            Some(m) => m,
            None => {
                let Some(row) = self.store.conversation(id.0).await? else {
                    return Err(Error::NotFound("conversation"));
                };
                let members = self.store.members_of(&[id.0]).await?;
                let m = Arc::new(Membership::new(
                    parse_kind(&row.kind),
                    members.iter().map(|m| UserId(m.user_id)).collect(),
                ));
                self.cache.insert(id, m.clone());
                m
            }
        };
        if membership.contains(user) { Ok(membership) } else { Err(Error::NotFound("conversation")) }
    }

    async fn get_row(&self, id: ConversationId) -> Result<Conversation> {
        let row = self.store.conversation(id.0).await?.ok_or(Error::NotFound("conversation"))?;
        self.assemble(row).await
    }

    async fn assemble(&self, row: ConversationRow) -> Result<Conversation> {
        let members = self.store.members_of(&[row.id]).await?;
        let users = self.user_map(&members).await?;
        Ok(to_wire(row, &members, &users))
    }

    async fn user_map(&self, members: &[MemberRow]) -> Result<HashMap<i64, UserRow>> {
        let mut ids: Vec<i64> = members.iter().map(|m| m.user_id).collect();
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

fn parse_group_name(raw: Option<&str>) -> Result<String> {
    let name = raw.map(str::trim).unwrap_or_default();
    let len = name.chars().count();
    if len == 0 || len > MAX_GROUP_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            ErrorCode::InvalidParameter,
            format!("a group needs a name of 1 to {MAX_GROUP_NAME_CHARS} characters without control characters"),
        ));
    }
    Ok(name.to_owned())
}

fn parse_kind(kind: &str) -> ConversationKind {
    if kind == "direct" { ConversationKind::Direct } else { ConversationKind::Group }
}

fn parse_role(role: &str) -> Role {
    match role {
        "owner" => Role::Owner,
        "admin" => Role::Admin,
        _ => Role::Member,
    }
}

fn to_wire(row: ConversationRow, members: &[MemberRow], users: &HashMap<i64, UserRow>) -> Conversation {
    Conversation {
        id: ConversationId(row.id),
        kind: parse_kind(&row.kind),
        name: row.name,
        members: members
            .iter()
            .filter_map(|m| {
                users.get(&m.user_id).map(|u| Member { user: users::to_wire(u), role: parse_role(&m.role) })
            })
            .collect(),
        last_seq: row.last_seq,
        created_at: datetime(row.created_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_key_is_the_same_from_both_sides() {
        assert_eq!(direct_key(UserId(5), UserId(3)), direct_key(UserId(3), UserId(5)));
    }

    #[test]
    fn group_names_are_checked() {
        assert!(parse_group_name(None).is_err());
        assert!(parse_group_name(Some("   ")).is_err());
        assert!(parse_group_name(Some("a\u{0}b")).is_err());
        assert!(parse_group_name(Some(&"x".repeat(101))).is_err());
        assert_eq!(parse_group_name(Some("  <b>Pong club</b> ")).unwrap(), "<b>Pong club</b>");
    }
}
