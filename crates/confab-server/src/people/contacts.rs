//! Contacts: a request, then acceptance; both sides see every step live on all their sessions
//! (`contact.updated`, each side with its own view of the relation).

use std::sync::Arc;

use confab_proto::UserId;
use confab_proto::frames::Event;
use confab_proto::rest::{Contact, ContactList, ContactState, NotificationKind};

use super::Blocks;
use crate::auth::Principal;
use crate::clock::{datetime, now_ms};
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::notifications::{Notice, Notifications};
use crate::presence::Presence;
use crate::store::{ContactRow, Relation, Store, UserRow};
use crate::users::Users;

pub struct Contacts {
    store: Store,
    users: Arc<Users>,
    blocks: Arc<Blocks>,
    presence: Arc<Presence>,
    hub: Arc<Hub>,
    notifications: Arc<Notifications>,
}

impl Contacts {
    pub fn new(
        store: Store,
        users: Arc<Users>,
        blocks: Arc<Blocks>,
        presence: Arc<Presence>,
        hub: Arc<Hub>,
        notifications: Arc<Notifications>,
    ) -> Contacts {
        Contacts { store, users, blocks, presence, hub, notifications }
    }

    /// Sends a contact request to `other`, or accepts theirs if they asked first. Repeating it
    /// changes nothing. Answers with the caller's view of the relation.
    pub async fn request(&self, principal: Principal, other: UserId) -> Result<Contact> {
        principal.require_person()?;
        let me = principal.user_id;
        if other == me {
            return Err(Error::Forbidden("you cannot add yourself as a contact".into()));
        }
        let other_row = self.users.get(other).await?;
        self.blocks.check(me, other).await?;
        if self.store.relation(me, other).await? == Relation::Contacts {
            return self.view(me, &other_row, ContactState::Contact).await;
        }
        if self.store.relation(other, me).await? == Relation::Requested {
            return self.accept(principal, other).await;
        }
        if self.store.insert_contact_request(me, other, now_ms()).await? {
            let me_row = self.users.get(me).await?;
            self.announce(&me_row, &other_row, ContactState::Outgoing, ContactState::Incoming).await?;
            self.tell(other, NotificationKind::ContactRequest, me, &me_row.display_name).await?;
        }
        self.view(me, &other_row, ContactState::Outgoing).await
    }

    /// Accepts `other`'s pending request; `not_found` when there is none from them to the caller.
    pub async fn accept(&self, principal: Principal, other: UserId) -> Result<Contact> {
        principal.require_person()?;
        let me = principal.user_id;
        let other_row = self.users.get(other).await?;
        self.blocks.check(me, other).await?;
        if !self.store.accept_contact_request(other, me, now_ms()).await? {
            return Err(Error::NotFound("contact request"));
        }
        let me_row = self.users.get(me).await?;
        self.announce(&me_row, &other_row, ContactState::Contact, ContactState::Contact).await?;
        self.tell(other, NotificationKind::ContactAccepted, me, &me_row.display_name).await?;
        self.view(me, &other_row, ContactState::Contact).await
    }

    async fn tell(&self, user: UserId, kind: NotificationKind, actor: UserId, excerpt: &str) -> Result<()> {
        let notice = Notice { user, kind, conversation: None, message: None, actor: Some(actor), excerpt };
        self.notifications.notify(notice).await
    }

    /// Declines `other`'s pending request; `not_found` when there is none from them.
    pub async fn decline(&self, principal: Principal, other: UserId) -> Result<()> {
        let me = principal.user_id;
        if self.store.relation(other, me).await? != Relation::Requested {
            return Err(Error::NotFound("contact request"));
        }
        self.remove(principal, other).await
    }

    /// Declines, cancels or removes — whatever links the caller and `other`.
    pub async fn remove(&self, principal: Principal, other: UserId) -> Result<()> {
        let me = principal.user_id;
        if !self.store.unlink(me, other).await? {
            return Err(Error::NotFound("contact or contact request"));
        }
        let (me_row, other_row) = (self.users.get(me).await?, self.users.get(other).await?);
        self.announce(&me_row, &other_row, ContactState::None, ContactState::None).await
    }

    /// Blocks `other` (see `Blocks::block`); whatever linked the two ends, on both sides, and
    /// `other` stops seeing the caller's presence.
    pub async fn block(&self, principal: Principal, other: UserId) -> Result<()> {
        principal.require_person()?;
        let me = principal.user_id;
        let linked = other != me && self.store.relation(me, other).await? != Relation::Nothing
            || self.store.relation(other, me).await? != Relation::Nothing;
        self.blocks.block(principal, other).await?;
        if linked {
            let (me_row, other_row) = (self.users.get(me).await?, self.users.get(other).await?);
            self.announce(&me_row, &other_row, ContactState::None, ContactState::None).await?;
        }
        self.presence.hide_from(me, other).await;
        Ok(())
    }

    /// Lifts a block; `other` sees the caller's presence again where they share a conversation.
    pub async fn unblock(&self, principal: Principal, other: UserId) -> Result<()> {
        self.blocks.unblock(principal, other).await?;
        self.presence.announce(principal.user_id).await
    }

    pub async fn list(&self, principal: Principal) -> Result<ContactList> {
        let me = principal.user_id;
        let contacts = self.store.contacts_of(me).await?;
        let rows: Vec<UserRow> = contacts.iter().map(|c| c.user.clone()).collect();
        let presence = self.presence.view(me, &rows).await?;
        let contacts = contacts
            .into_iter()
            .map(|c| Contact {
                presence: presence.get(&c.user.id).cloned(),
                user: self.users.to_wire(&c.user),
                state: ContactState::Contact,
                since: datetime(c.since),
            })
            .collect();
        let pending = |rows: Vec<ContactRow>, state| -> Vec<Contact> {
            rows.into_iter()
                .map(|c| Contact { user: self.users.to_wire(&c.user), state, presence: None, since: datetime(c.since) })
                .collect()
        };
        Ok(ContactList {
            contacts,
            incoming: pending(self.store.incoming_requests(me).await?, ContactState::Incoming),
            outgoing: pending(self.store.outgoing_requests(me).await?, ContactState::Outgoing),
        })
    }

    /// Tells each side its view of the relation, on all its sessions.
    async fn announce(&self, a: &UserRow, b: &UserRow, a_sees: ContactState, b_sees: ContactState) -> Result<()> {
        let a_view = self.view(a.id, b, a_sees).await?;
        let b_view = self.view(b.id, a, b_sees).await?;
        self.hub.publish(&[a.id], Event::ContactUpdated(a_view));
        self.hub.publish(&[b.id], Event::ContactUpdated(b_view));
        Ok(())
    }

    async fn view(&self, viewer: UserId, other: &UserRow, state: ContactState) -> Result<Contact> {
        let presence = match state {
            ContactState::Contact => self.presence.view(viewer, std::slice::from_ref(other)).await?.remove(&other.id),
            _ => None,
        };
        Ok(Contact { user: self.users.to_wire(other), state, presence, since: datetime(now_ms()) })
    }
}
