//! Blocks and restrictions. [`Blocks::check`] is the one rule every service asks before letting
//! one user reach another (open or write a DM, add to a group, send a contact request); the
//! sets are cached per user because the message path asks on every direct message.
//! [`Blocks::live_audience`] is the rule for live state (typing, read positions): it never
//! crosses a block, in either direction.

use std::collections::HashSet;
use std::sync::Arc;

use confab_proto::UserId;
use confab_proto::rest::BlockList;

use crate::auth::Principal;
use crate::cache::Cache;
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::hub::bus::Invalidation;
use crate::store::Store;
use crate::users::Users;

/// Whom one user blocks, and who blocks them.
#[derive(Debug, Default)]
pub struct BlockSets {
    pub blocked: HashSet<UserId>,
    pub blocked_by: HashSet<UserId>,
}

impl BlockSets {
    /// True when a block stands between this user and `other`, whoever set it. Neither then
    /// sees the other's typing or read position.
    pub fn either(&self, other: UserId) -> bool {
        self.blocked.contains(&other) || self.blocked_by.contains(&other)
    }
}

const MAX_CACHED: usize = 100_000;

pub struct Blocks {
    store: Store,
    users: Arc<Users>,
    hub: Arc<Hub>,
    cache: Cache<UserId, Arc<BlockSets>>,
}

impl Blocks {
    pub fn new(store: Store, users: Arc<Users>, hub: Arc<Hub>) -> Blocks {
        Blocks { store, users, hub, cache: Cache::new(MAX_CACHED) }
    }

    /// Whom `user` blocks and who blocks them (cached; a load racing a block or unblock is not
    /// kept, see `crate::cache`).
    pub async fn of(&self, user: UserId) -> Result<Arc<BlockSets>> {
        self.cache
            .get_or_load(user, || async {
                let (blocked, blocked_by) = self.store.blocks_of(user).await?;
                Ok::<_, Error>(Arc::new(BlockSets {
                    blocked: blocked.into_iter().collect(),
                    blocked_by: blocked_by.into_iter().collect(),
                }))
            })
            .await
    }

    /// Of `members`, those who may see `user`'s live state (typing, read position): everyone
    /// but those on either side of a block with them. `user` themself stays in.
    pub async fn live_audience(&self, user: UserId, members: &[UserId]) -> Result<Vec<UserId>> {
        let sets = self.of(user).await?;
        Ok(members.iter().copied().filter(|m| !sets.either(*m)).collect())
    }

    /// Refuses with `blocked` when either user blocks the other.
    pub async fn check(&self, actor: UserId, other: UserId) -> Result<()> {
        let sets = self.of(actor).await?;
        if sets.blocked.contains(&other) {
            return Err(Error::Blocked("you blocked this user; unblock them first".into()));
        }
        if sets.blocked_by.contains(&other) {
            return Err(Error::Blocked("this user does not accept this from you".into()));
        }
        Ok(())
    }

    /// Blocks `other`: drops contacts and pending requests between the two.
    pub async fn block(&self, principal: Principal, other: UserId) -> Result<()> {
        principal.require_person()?;
        let me = principal.user_id;
        if other == me {
            return Err(Error::Forbidden("you cannot block yourself".into()));
        }
        self.users.get(other).await?;
        self.store.block(me, other, now_ms()).await?;
        self.forget(me, other);
        Ok(())
    }

    pub async fn unblock(&self, principal: Principal, other: UserId) -> Result<()> {
        if !self.store.unblock(principal.user_id, other).await? {
            return Err(Error::NotFound("block"));
        }
        self.forget(principal.user_id, other);
        Ok(())
    }

    /// Mutes (`restricted`) or unmutes `other` for the caller: nothing is refused to them, but
    /// the caller gets no notifications from them.
    pub async fn restrict(&self, principal: Principal, other: UserId, restricted: bool) -> Result<()> {
        principal.require_person()?;
        if other == principal.user_id {
            return Err(Error::Forbidden("you cannot restrict yourself".into()));
        }
        self.users.get(other).await?;
        Ok(self.store.set_restricted(principal.user_id, other, restricted, now_ms()).await?)
    }

    /// The caller's own lists; nobody else can read them.
    pub async fn list(&self, principal: Principal) -> Result<BlockList> {
        let (blocked, restricted) = self.store.block_list(principal.user_id).await?;
        Ok(BlockList {
            blocked: blocked.iter().map(|u| self.users.to_wire(u)).collect(),
            restricted: restricted.iter().map(|u| self.users.to_wire(u)).collect(),
        })
    }

    fn forget(&self, a: UserId, b: UserId) {
        for user in [a, b] {
            self.forget_user(user);
            self.hub.invalidate_elsewhere(Invalidation::Blocks { user });
        }
    }

    pub fn forget_all(&self) {
        self.cache.clear();
    }

    /// Drops a user's cached block sets (because they changed, here or on another node).
    pub fn forget_user(&self, user: UserId) {
        self.cache.invalidate(&user);
    }
}
