//! Invitations to the host app's activities (a game of Pong, a call): a message of kind
//! `invitation` whose state — pending, accepted, declined, cancelled, expired, failed — every
//! member sees change live and in history. On acceptance Confab calls the activity's webhook
//! (signed, with retries, off the request path) and relays its answer, or its failure, to all.

mod sweep;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use confab_proto::rest::{
    Activity, ActivityList, ConversationKind, InvitationState, Message, MessageKind, NotificationKind,
    SendInvitationRequest,
};
use confab_proto::{ConversationId, ErrorCode, MessageId, UserId};
use serde_json::json;

pub use sweep::spawn_sweeper;

use crate::auth::Principal;
use crate::clock::now_ms;
use crate::config::{ActivityConfig, InvitationsConfig};
use crate::conversations::Conversations;
use crate::error::{Error, Result};
use crate::ids::IdGenerator;
use crate::messages::Messages;
use crate::notifications::{Notice, Notifications};
use crate::people::Blocks;
use crate::store::{InvitationRow, Named, NewMessage, Store, Transition};
use crate::tasks::Tasks;
use crate::timeline::Timeline;
use crate::users::Users;
use crate::webhooks::{DeliveryError, Webhooks};

/// The services an [`Invitations`] works with.
pub struct InvitationDeps {
    pub store: Store,
    pub ids: Arc<IdGenerator>,
    pub users: Arc<Users>,
    pub conversations: Arc<Conversations>,
    pub messages: Arc<Messages>,
    pub notifications: Arc<Notifications>,
    pub blocks: Arc<Blocks>,
    pub timeline: Arc<Timeline>,
    pub webhooks: Webhooks,
    pub tasks: Tasks,
}

pub struct Invitations {
    deps: InvitationDeps,
    activities: HashMap<String, ActivityConfig>,
    config: InvitationsConfig,
}

impl Invitations {
    pub fn new(deps: InvitationDeps, activities: &[ActivityConfig], config: InvitationsConfig) -> Arc<Invitations> {
        let activities = activities.iter().map(|a| (a.id.clone(), a.clone())).collect();
        Arc::new(Invitations { deps, activities, config })
    }

    pub fn activities(&self) -> ActivityList {
        let mut activities: Vec<Activity> =
            self.activities.values().map(|a| Activity { id: a.id.clone(), label: a.label.clone() }).collect();
        activities.sort_by(|a, b| a.id.cmp(&b.id));
        ActivityList { activities }
    }

    /// Invites the conversation, or one member of it, to an activity.
    pub async fn send(
        &self,
        principal: Principal,
        conversation: ConversationId,
        req: SendInvitationRequest,
    ) -> Result<Message> {
        principal.require_person()?;
        let d = &self.deps;
        let me = principal.user_id;
        let membership = d.conversations.membership(me, conversation).await?;
        let activity = self.activities.get(&req.activity).ok_or_else(|| {
            Error::invalid(
                ErrorCode::UnknownActivity,
                format!("no activity {:?} on this server", truncate(&req.activity, 64)),
            )
        })?;
        if let Some(invitee) = req.invitee {
            if invitee == me || !membership.contains(invitee) {
                return Err(Error::invalid(
                    ErrorCode::InvalidMembers,
                    "the invitee must be another member of the conversation",
                ));
            }
            d.blocks.check(me, invitee).await?;
        }
        if membership.kind == ConversationKind::Direct
            && let Some(other) = membership.members().iter().copied().find(|u| *u != me)
        {
            d.blocks.check(me, other).await?;
        }
        let ttl = activity.ttl_secs.unwrap_or(self.config.default_ttl_secs);
        let now = now_ms();
        let new = NewMessage {
            id: d.ids.next(),
            conversation_id: conversation,
            sender_id: me,
            kind: MessageKind::Invitation,
            body: "",
            client_id: None,
            reply_to: None,
            mentions: None,
            tones: None,
            sticker_id: None,
            system: None,
            created_at: now,
        };
        let _in_order = d.timeline.lock(conversation).await;
        let expires_at = now + (ttl as i64) * 1000;
        let row = d.store.insert_invitation(&new, req.invitee, (&activity.id, &activity.label), expires_at).await?;
        let message = d.messages.announce_created(&membership, row).await?;
        drop(_in_order);
        d.messages.notify_in_background(&membership, message.clone());
        Ok(message)
    }

    /// Accepts: only an invitee (anyone but the inviter when nobody in particular was invited),
    /// only while pending and unexpired. The host app is told in the background.
    pub async fn accept(
        self: &Arc<Self>,
        principal: Principal,
        conversation: ConversationId,
        id: MessageId,
    ) -> Result<Message> {
        principal.require_person()?;
        let me = principal.user_id;
        let invitation = self.load(me, conversation, id).await?;
        if invitation.inviter_id == me {
            return Err(Error::Forbidden("you cannot accept your own invitation".into()));
        }
        if invitation.invitee_id.is_some_and(|u| u != me) {
            return Err(Error::Forbidden("this invitation is for someone else".into()));
        }
        let message = self
            .transition(
                conversation,
                &invitation,
                Transition {
                    from: &[InvitationState::Pending],
                    to: InvitationState::Accepted,
                    responded_by: Some(me),
                    reason: None,
                    result: None,
                    now: now_ms(),
                    before_expiry: true,
                },
            )
            .await?;
        self.notify_inviter(&invitation, me, "accepted").await;
        let this = self.clone();
        self.deps
            .tasks
            .spawn_job("invitation webhook", async move { this.tell_host_app(conversation, invitation, me).await });
        Ok(message)
    }

    pub async fn decline(&self, principal: Principal, conversation: ConversationId, id: MessageId) -> Result<Message> {
        let me = principal.user_id;
        let invitation = self.load(me, conversation, id).await?;
        if invitation.inviter_id == me || invitation.invitee_id.is_some_and(|u| u != me) {
            return Err(Error::Forbidden("only an invitee may decline".into()));
        }
        let t = Transition {
            from: &[InvitationState::Pending],
            to: InvitationState::Declined,
            responded_by: Some(me),
            reason: None,
            result: None,
            now: now_ms(),
            before_expiry: false,
        };
        let message = self.transition(conversation, &invitation, t).await?;
        self.notify_inviter(&invitation, me, "declined").await;
        Ok(message)
    }

    pub async fn cancel(&self, principal: Principal, conversation: ConversationId, id: MessageId) -> Result<Message> {
        let me = principal.user_id;
        let invitation = self.load(me, conversation, id).await?;
        if invitation.inviter_id != me {
            return Err(Error::Forbidden("only the inviter may cancel an invitation".into()));
        }
        let t = Transition {
            from: &[InvitationState::Pending],
            to: InvitationState::Cancelled,
            responded_by: None,
            reason: None,
            result: None,
            now: now_ms(),
            before_expiry: false,
        };
        self.transition(conversation, &invitation, t).await
    }

    /// Expires one pending invitation whose time is up (the sweeper calls this).
    pub async fn expire(&self, id: MessageId) -> Result<()> {
        let Some(invitation) = self.deps.store.invitation(id).await? else { return Ok(()) };
        let conversation = invitation.conversation_id;
        let t = Transition {
            from: &[InvitationState::Pending],
            to: InvitationState::Expired,
            responded_by: None,
            reason: None,
            result: None,
            now: now_ms(),
            before_expiry: false,
        };
        match self.transition(conversation, &invitation, t).await {
            Ok(_) => {
                self.notify_about(&invitation, invitation.inviter_id, None, "expired").await;
                Ok(())
            }
            Err(Error::Conflict(..)) => Ok(()), // answered in the meantime
            Err(e) => Err(e),
        }
    }

    pub fn sweep_interval(&self) -> Duration {
        Duration::from_millis(self.config.sweep_interval_ms)
    }

    async fn load(&self, me: UserId, conversation: ConversationId, id: MessageId) -> Result<InvitationRow> {
        self.deps.conversations.membership(me, conversation).await?;
        match self.deps.store.invitation(id).await? {
            Some(invitation) if invitation.conversation_id == conversation => Ok(invitation),
            _ => Err(Error::NotFound("invitation")),
        }
    }

    async fn transition(
        &self,
        conversation: ConversationId,
        invitation: &InvitationRow,
        t: Transition<'_>,
    ) -> Result<Message> {
        let d = &self.deps;
        let _in_order = d.timeline.lock(conversation).await;
        let Some(row) = d.store.transition_invitation(invitation.message_id, &t).await? else {
            let state = match d.store.invitation(invitation.message_id).await?.map(|i| i.state) {
                // Still pending, yet the transition found it closed: its time is up.
                Some(InvitationState::Pending) => InvitationState::Expired.name(),
                Some(state) => state.name(),
                None => "",
            };
            return Err(Error::Conflict(ErrorCode::InvitationClosed, format!("this invitation is {state}")));
        };
        let membership = d.conversations.membership(invitation.inviter_id, conversation).await;
        match membership {
            Ok(membership) => d.messages.announce_updated(&membership, row).await,
            // The inviter left: render for the caller without broadcasting to a stale list.
            Err(_) => d
                .messages
                .renderer()
                .for_viewer(vec![row], &Default::default())
                .await?
                .pop()
                .ok_or(Error::NotFound("invitation")),
        }
    }

    /// Posts the acceptance to the activity's webhook and relays its answer, or the failure.
    async fn tell_host_app(&self, conversation: ConversationId, invitation: InvitationRow, accepted_by: UserId) {
        let d = &self.deps;
        let Some(activity) = self.activities.get(&invitation.activity) else { return };
        let body = match self.webhook_body(conversation, &invitation, accepted_by).await {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(error = %e, "cannot build the invitation webhook");
                return;
            }
        };
        let outcome = d
            .webhooks
            .deliver(&activity.webhook_url, &activity.secret, "invitation.accepted", invitation.message_id.0, &body)
            .await;
        let now = now_ms();
        let result = match outcome {
            Ok(answer) => {
                let answer = if answer.is_object() { answer } else { json!({}) };
                let text = answer.to_string();
                let t = Transition {
                    from: &[InvitationState::Accepted],
                    to: InvitationState::Accepted,
                    responded_by: None,
                    reason: None,
                    result: Some(&text),
                    now,
                    before_expiry: false,
                };
                self.transition(conversation, &invitation, t).await.map(|_| "ready")
            }
            Err(error) => {
                let reason = match &error {
                    DeliveryError::Refused { detail, .. } => format!("the host app refused: {detail}"),
                    DeliveryError::Unreachable { .. } => "the host app could not be reached".to_owned(),
                };
                tracing::warn!(error = %error, "invitation webhook failed");
                let t = Transition {
                    from: &[InvitationState::Accepted],
                    to: InvitationState::Failed,
                    responded_by: None,
                    reason: Some(&reason),
                    result: None,
                    now,
                    before_expiry: false,
                };
                self.transition(conversation, &invitation, t).await.map(|_| "failed")
            }
        };
        match result {
            Ok(outcome) => {
                self.notify_about(&invitation, invitation.inviter_id, Some(accepted_by), outcome).await;
                self.notify_about(&invitation, accepted_by, None, outcome).await;
            }
            Err(e) => tracing::warn!(error = %e, "cannot record the invitation outcome"),
        }
    }

    async fn webhook_body(
        &self,
        conversation: ConversationId,
        invitation: &InvitationRow,
        accepted_by: UserId,
    ) -> Result<serde_json::Value> {
        let d = &self.deps;
        let inviter = d.users.get(invitation.inviter_id).await?;
        let invitee = d.users.get(accepted_by).await?;
        let conversation = d.conversations.get(Principal::person(accepted_by), conversation).await?;
        let external = |row: &crate::store::UserRow| {
            row.external_id.as_deref().and_then(|e| e.split_once('|')).map(|(_, sub)| sub.to_owned())
        };
        Ok(json!({
            "type": "invitation.accepted",
            "invitation": {
                "id": invitation.message_id,
                "activity": invitation.activity,
            },
            "inviter": { "user": d.users.to_wire(&inviter), "external_id": external(&inviter) },
            "invitee": { "user": d.users.to_wire(&invitee), "external_id": external(&invitee) },
            "conversation": { "id": conversation.id, "kind": conversation.kind, "name": conversation.name },
        }))
    }

    async fn notify_inviter(&self, invitation: &InvitationRow, actor: UserId, what: &str) {
        self.notify_about(invitation, invitation.inviter_id, Some(actor), what).await;
    }

    async fn notify_about(&self, invitation: &InvitationRow, user: UserId, actor: Option<UserId>, what: &str) {
        let excerpt = format!("{}: {what}", invitation.label);
        let notice = Notice {
            user,
            kind: NotificationKind::InvitationUpdate,
            conversation: Some(invitation.conversation_id),
            message: Some(invitation.message_id),
            actor,
            excerpt: &excerpt,
        };
        if let Err(e) = self.deps.notifications.notify(notice).await {
            tracing::warn!(error = %e, "cannot notify about an invitation");
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(at, _)| &s[..at])
}
