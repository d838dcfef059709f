//! Who belongs to which conversation, with which role, cached in memory: every send and every
//! read asks, so the answer must not cost a database round trip. Entries are loaded on first
//! use; whatever changes a membership removes the entry, under the conversation's order lock.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use confab_proto::rest::{ConversationKind, Role};
use confab_proto::{ConversationId, UserId};

/// The members of one conversation and their roles, sorted by user id.
#[derive(Debug)]
pub struct Membership {
    pub kind: ConversationKind,
    members: Vec<UserId>,
    roles: Vec<Role>,
}

impl Membership {
    pub fn new(kind: ConversationKind, mut members: Vec<(UserId, Role)>) -> Membership {
        members.sort_unstable_by_key(|(user, _)| *user);
        members.dedup_by_key(|(user, _)| *user);
        let (members, roles) = members.into_iter().unzip();
        Membership { kind, members, roles }
    }

    pub fn contains(&self, user: UserId) -> bool {
        self.members.binary_search(&user).is_ok()
    }

    pub fn role_of(&self, user: UserId) -> Option<Role> {
        self.members.binary_search(&user).ok().map(|at| self.roles[at])
    }

    /// Every member's user id: the recipients of the conversation's events.
    pub fn members(&self) -> &[UserId] {
        &self.members
    }
}

/// Bounded so that reading many old conversations cannot grow memory without limit.
const MAX_ENTRIES: usize = 200_000;

#[derive(Default)]
pub struct MembershipCache {
    entries: RwLock<HashMap<ConversationId, Arc<Membership>>>,
}

impl MembershipCache {
    pub fn get(&self, id: ConversationId) -> Option<Arc<Membership>> {
        self.entries.read().unwrap_or_else(|p| p.into_inner()).get(&id).cloned()
    }

    pub fn clear(&self) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub fn invalidate(&self, id: ConversationId) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }

    pub fn insert(&self, id: ConversationId, membership: Arc<Membership>) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear(); // crude but safe: everything reloads on demand
        }
        entries.insert(id, membership);
    }
}
