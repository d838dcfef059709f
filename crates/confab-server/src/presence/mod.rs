//! Presence: online while at least one session is connected, offline after the last one closes
//! and a grace period passes; the chosen status (away, do-not-disturb, invisible) and status
//! text; last seen. Shown only to contacts and members of a shared conversation, never to a user
//! the person blocked.
//!
//! Callers use [`Presence`] only; where the session counts live (`registry`) is its business.

pub mod cluster;
mod registry;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use confab_proto::frames::Event;
use confab_proto::rest::{
    ChosenStatus, OwnPresence, Presence as PresenceView, PresenceStatus, SetPresenceRequest, User,
};
use confab_proto::{ErrorCode, UserId};

use crate::auth::Principal;
use crate::clock::{datetime, now_ms};
use crate::config::PresenceConfig;
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::people::Blocks;
use crate::store::{Store, UserRow};
use crate::tasks::Tasks;
use cluster::ClusterRegistry;
use registry::LocalRegistry;

pub const MAX_STATUS_TEXT_CHARS: usize = 140;

pub struct Presence {
    store: Store,
    hub: Arc<Hub>,
    blocks: Arc<Blocks>,
    registry: LocalRegistry,
    /// Set in a cluster: session counts shared by all nodes.
    cluster: std::sync::OnceLock<ClusterRegistry>,
    grace: Duration,
    /// Groups larger than this get no pushed presence (`presence.push_group_limit`).
    push_group_limit: u32,
    /// Grace timers and the cluster heartbeat run here.
    tasks: Tasks,
}

impl Presence {
    pub fn new(store: Store, hub: Arc<Hub>, blocks: Arc<Blocks>, config: &PresenceConfig, tasks: Tasks) -> Presence {
        Presence {
            tasks,
            store,
            hub,
            blocks,
            registry: LocalRegistry::default(),
            cluster: Default::default(),
            grace: Duration::from_millis(config.grace_ms),
            push_group_limit: config.push_group_limit,
        }
    }

    /// Joins the cluster-wide registry, and keeps this node's liveness and the sweep of dead
    /// nodes going until shutdown.
    pub fn attach_cluster(self: &Arc<Self>, registry: ClusterRegistry) {
        let _ = self.cluster.set(registry.clone());
        let presence = self.clone();
        self.tasks.spawn_worker("presence heartbeat", |mut shutdown| async move {
            let mut ticker = tokio::time::interval(registry.sweep_every());
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    () = shutdown.wait() => return,
                }
                if let Err(e) = registry.heartbeat().await {
                    tracing::warn!(error = %e, "presence heartbeat failed");
                    continue;
                }
                match registry.sweep_dead_nodes().await {
                    Ok(gone) => {
                        for user in gone {
                            presence.went_offline(user).await;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "sweep of dead nodes failed"),
                }
            }
        });
    }

    /// A session of `user` connected.
    pub async fn connected(self: &Arc<Self>, user: UserId) {
        let local = self.registry.connect(user);
        let newly = match self.cluster.get() {
            Some(cluster) => cluster.connect_session(user).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cluster presence unavailable");
                local
            }),
            None => local,
        };
        if newly && let Err(e) = self.announce(user).await {
            tracing::warn!(error = %e, %user, "cannot announce presence");
        }
    }

    /// A session of `user` closed. After the grace period without a new session (on any node),
    /// the user goes offline and their last-seen time is recorded.
    pub fn disconnected(self: &Arc<Self>, user: UserId) {
        let generation = self.registry.disconnect(user);
        let presence = self.clone();
        // At shutdown the grace is cut short, so that the last-seen time is still recorded.
        self.tasks.spawn_worker("presence grace", |mut shutdown| async move {
            let last_everywhere = match presence.cluster.get() {
                Some(cluster) => cluster.disconnect_session(user).await.unwrap_or(generation.is_some()),
                None => generation.is_some(),
            };
            if !last_everywhere {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(presence.grace) => {}
                () = shutdown.wait() => {}
            }
            let expired = match presence.cluster.get() {
                Some(cluster) => {
                    if let Some(generation) = generation {
                        presence.registry.expire(user, generation);
                    }
                    cluster.expire(user).await.unwrap_or(false)
                }
                None => generation.is_some_and(|g| presence.registry.expire(user, g)),
            };
            if expired {
                presence.went_offline(user).await;
            }
        });
    }

    async fn went_offline(&self, user: UserId) {
        let result = async {
            self.store.set_last_seen(user, now_ms()).await?;
            self.announce(user).await
        };
        if let Err(e) = result.await {
            tracing::warn!(error = %e, %user, "cannot announce going offline");
        }
    }

    /// True while `user` has a session on this node (or is inside the grace period here): no
    /// query, for fast paths that fall back to [`Presence::online`] when it says no.
    pub fn online_here(&self, user: UserId) -> bool {
        self.registry.is_online(user)
    }

    /// Which of `users` have a session on any node of the cluster (or are inside their grace
    /// period): the rule for "is this user away?".
    pub async fn online(&self, users: &[UserId]) -> HashSet<UserId> {
        self.online_set(users).await
    }

    /// Which of `users` have a session somewhere (or are inside their grace period).
    async fn online_set(&self, users: &[UserId]) -> HashSet<UserId> {
        if let Some(cluster) = self.cluster.get() {
            match cluster.online(users).await {
                Ok(flags) => return users.iter().zip(flags).filter(|(_, on)| *on).map(|(u, _)| *u).collect(),
                Err(e) => tracing::warn!(error = %e, "cluster presence unavailable; using this node's view"),
            }
        }
        users.iter().copied().filter(|u| self.registry.is_online(*u)).collect()
    }

    /// Sets the caller's chosen status and status text, and tells those who may see it.
    pub async fn set(&self, principal: Principal, req: SetPresenceRequest) -> Result<OwnPresence> {
        let text = req.status_text.as_deref().map(str::trim).filter(|t| !t.is_empty());
        if let Some(text) = text {
            if text.chars().nth(MAX_STATUS_TEXT_CHARS).is_some() {
                return Err(Error::invalid(
                    ErrorCode::InvalidParameter,
                    format!("status_text has at most {MAX_STATUS_TEXT_CHARS} characters"),
                ));
            }
            crate::text::check_line("status_text", text)?;
        }
        if let Some(text) = text {
            crate::users::shown_text::check("status_text", text)?;
        }
        self.store.set_status(principal.user_id, req.status, text).await?;
        self.announce(principal.user_id).await?;
        self.own(principal).await
    }

    pub async fn own(&self, principal: Principal) -> Result<OwnPresence> {
        let row = self.store.user_by_id(principal.user_id).await?.ok_or(Error::NotFound("user"))?;
        let online = self.online_set(&[principal.user_id]).await;
        let seen_as = self.effective(&row, &online).status;
        Ok(OwnPresence { status: row.status, status_text: row.status_text, seen_as })
    }

    /// The presence of `users` as `viewer` may see it: users who blocked the viewer are left out.
    /// The caller is responsible for the viewer sharing a conversation or a contact with them.
    pub async fn view(&self, viewer: UserId, users: &[UserRow]) -> Result<HashMap<UserId, PresenceView>> {
        let blocks = self.blocks.of(viewer).await?;
        let visible: Vec<&UserRow> = users.iter().filter(|u| !blocks.blocked_by.contains(&u.id)).collect();
        let ids: Vec<UserId> = visible.iter().map(|u| u.id).collect();
        let online = self.online_set(&ids).await;
        Ok(visible.into_iter().map(|u| (u.id, self.effective(u, &online))).collect())
    }

    /// How others see `row` now.
    fn effective(&self, row: &UserRow, online: &HashSet<UserId>) -> PresenceView {
        let user_id = row.id;
        let status = match (online.contains(&user_id), row.status) {
            (false, _) | (true, ChosenStatus::Invisible) => PresenceStatus::Offline,
            (true, ChosenStatus::Online) => PresenceStatus::Online,
            (true, ChosenStatus::Away) => PresenceStatus::Away,
            (true, ChosenStatus::Dnd) => PresenceStatus::Dnd,
        };
        let invisible = row.status == ChosenStatus::Invisible;
        PresenceView {
            user_id,
            status,
            status_text: if invisible { None } else { row.status_text.clone() },
            last_seen_at: if status == PresenceStatus::Offline && !invisible {
                row.last_seen_at.map(datetime)
            } else {
                None
            },
        }
    }

    /// Sends `user`'s current presence to those who watch it (`watchers`).
    pub async fn announce(&self, user: UserId) -> Result<()> {
        let row = self.store.user_by_id(user).await?.ok_or(Error::NotFound("user"))?;
        let audience = self.watchers(user).await?;
        let online = self.online_set(&[user]).await;
        self.hub.publish(&audience, Event::PresenceUpdated(self.effective(&row, &online)));
        Ok(())
    }

    /// Sends a user's changed profile to the same people as their presence, so that a new name
    /// or picture shows at once wherever they appear.
    pub async fn announce_profile(&self, profile: &User) -> Result<()> {
        let audience = self.watchers(profile.id).await?;
        self.hub.publish(&audience, Event::UserUpdated(profile.clone()));
        Ok(())
    }

    /// Who sees `user` live: their contacts, the members of their direct conversations and of
    /// groups up to `push_group_limit` members, and their own sessions — not users they blocked.
    async fn watchers(&self, user: UserId) -> Result<Vec<UserId>> {
        let blocks = self.blocks.of(user).await?;
        let mut audience: HashSet<UserId> = self.store.contact_ids(user).await?.into_iter().collect();
        audience.extend(self.store.co_member_ids(user, self.push_group_limit).await?);
        audience.retain(|u| !blocks.blocked.contains(u));
        audience.insert(user);
        Ok(audience.into_iter().collect())
    }

    /// Tells `viewer` that `user` now looks offline to them (after `user` blocked `viewer`).
    pub async fn hide_from(&self, user: UserId, viewer: UserId) {
        let hidden =
            PresenceView { user_id: user, status: PresenceStatus::Offline, status_text: None, last_seen_at: None };
        self.hub.publish(&[viewer], Event::PresenceUpdated(hidden));
    }
}
