//! Presence: online while at least one session is connected, offline after the last one closes
//! and a grace period passes; the chosen status (away, do-not-disturb, invisible) and status
//! text; last seen. Shown only to contacts and members of a shared conversation, never to a user
//! the person blocked.
//!
//! Callers use [`Presence`] only; where the session counts live (`registry`) is its business.

mod registry;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use confab_proto::frames::Event;
use confab_proto::rest::{ChosenStatus, OwnPresence, Presence as PresenceView, PresenceStatus, SetPresenceRequest};
use confab_proto::{ErrorCode, UserId};

use crate::auth::Principal;
use crate::clock::{datetime, now_ms};
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::people::Blocks;
use crate::store::{Store, UserRow};
use registry::LocalRegistry;

pub const MAX_STATUS_TEXT_CHARS: usize = 140;

pub struct Presence {
    store: Store,
    hub: Arc<Hub>,
    blocks: Arc<Blocks>,
    registry: LocalRegistry,
    grace: Duration,
}

impl Presence {
    pub fn new(store: Store, hub: Arc<Hub>, blocks: Arc<Blocks>, grace: Duration) -> Presence {
        Presence { store, hub, blocks, registry: LocalRegistry::default(), grace }
    }

    /// A session of `user` connected.
    pub async fn connected(self: &Arc<Self>, user: UserId) {
        if self.registry.connect(user)
            && let Err(e) = self.announce(user).await
        {
            tracing::warn!(error = %e, %user, "cannot announce presence");
        }
    }

    /// A session of `user` closed. After the grace period without a new session, the user goes
    /// offline and their last-seen time is recorded.
    pub fn disconnected(self: &Arc<Self>, user: UserId) {
        let Some(generation) = self.registry.disconnect(user) else { return };
        let presence = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(presence.grace).await;
            if presence.registry.expire(user, generation) {
                let result = async {
                    presence.store.set_last_seen(user.0, now_ms()).await?;
                    presence.announce(user).await
                };
                if let Err(e) = result.await {
                    tracing::warn!(error = %e, %user, "cannot announce going offline");
                }
            }
        });
    }

    /// Sets the caller's chosen status and status text, and tells those who may see it.
    pub async fn set(&self, principal: Principal, req: SetPresenceRequest) -> Result<OwnPresence> {
        let text = req.status_text.as_deref().map(str::trim).filter(|t| !t.is_empty());
        if let Some(text) = text
            && (text.chars().nth(MAX_STATUS_TEXT_CHARS).is_some() || text.chars().any(char::is_control))
        {
            return Err(Error::invalid(
                ErrorCode::InvalidParameter,
                format!("status_text has at most {MAX_STATUS_TEXT_CHARS} characters and no control characters"),
            ));
        }
        self.store.set_status(principal.user_id.0, chosen_name(req.status), text).await?;
        self.announce(principal.user_id).await?;
        self.own(principal).await
    }

    pub async fn own(&self, principal: Principal) -> Result<OwnPresence> {
        let row = self.store.user_by_id(principal.user_id.0).await?.ok_or(Error::NotFound("user"))?;
        let seen_as = self.effective(&row).status;
        Ok(OwnPresence { status: parse_chosen(&row.status), status_text: row.status_text, seen_as })
    }

    /// The presence of `users` as `viewer` may see it: users who blocked the viewer are left out.
    /// The caller is responsible for the viewer sharing a conversation or a contact with them.
    pub async fn view(&self, viewer: UserId, users: &[UserRow]) -> Result<HashMap<UserId, PresenceView>> {
        let blocks = self.blocks.of(viewer).await?;
        Ok(users
            .iter()
            .filter(|u| !blocks.blocked_by.contains(&UserId(u.id)))
            .map(|u| (UserId(u.id), self.effective(u)))
            .collect())
    }

    /// How others see `row` now.
    fn effective(&self, row: &UserRow) -> PresenceView {
        let user_id = UserId(row.id);
        let status = match (self.registry.is_online(user_id), parse_chosen(&row.status)) {
            (false, _) | (true, ChosenStatus::Invisible) => PresenceStatus::Offline,
            (true, ChosenStatus::Online) => PresenceStatus::Online,
            (true, ChosenStatus::Away) => PresenceStatus::Away,
            (true, ChosenStatus::Dnd) => PresenceStatus::Dnd,
        };
        let invisible = parse_chosen(&row.status) == ChosenStatus::Invisible;
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

    /// Sends `user`'s current presence to their contacts, the members of their conversations
    /// and their own sessions — not to users they blocked.
    pub async fn announce(&self, user: UserId) -> Result<()> {
        let row = self.store.user_by_id(user.0).await?.ok_or(Error::NotFound("user"))?;
        let blocks = self.blocks.of(user).await?;
        let mut audience: HashSet<UserId> = self.store.contact_ids(user.0).await?.into_iter().map(UserId).collect();
        audience.extend(self.store.co_member_ids(user.0).await?.into_iter().map(UserId));
        audience.retain(|u| !blocks.blocked.contains(u));
        audience.insert(user);
        let audience: Vec<UserId> = audience.into_iter().collect();
        self.hub.publish(&audience, Event::PresenceUpdated(self.effective(&row)));
        Ok(())
    }

    /// Tells `viewer` that `user` now looks offline to them (after `user` blocked `viewer`).
    pub async fn hide_from(&self, user: UserId, viewer: UserId) {
        let hidden =
            PresenceView { user_id: user, status: PresenceStatus::Offline, status_text: None, last_seen_at: None };
        self.hub.publish(&[viewer], Event::PresenceUpdated(hidden));
    }
}

fn parse_chosen(status: &str) -> ChosenStatus {
    match status {
        "away" => ChosenStatus::Away,
        "dnd" => ChosenStatus::Dnd,
        "invisible" => ChosenStatus::Invisible,
        _ => ChosenStatus::Online,
    }
}

fn chosen_name(status: ChosenStatus) -> &'static str {
    match status {
        ChosenStatus::Online => "online",
        ChosenStatus::Away => "away",
        ChosenStatus::Dnd => "dnd",
        ChosenStatus::Invisible => "invisible",
    }
}
