//! Who belongs to which conversation, with which role, cached in memory: every send and every
//! read asks, so the answer must not cost a database round trip. Entries are loaded on first
//! use; whatever changes a membership invalidates the entry after its commit (`crate::cache`
//! keeps a load that raced the change from putting the old members back).

use confab_proto::UserId;
use confab_proto::rest::{ConversationKind, Role};

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

/// Memberships cached per node; bounded so that reading many old conversations cannot grow
/// memory without limit.
pub const MAX_CACHED: usize = 200_000;
