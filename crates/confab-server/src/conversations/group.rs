//! Group management: settings, members, roles, deletion. Each change is checked against the
//! permission table, written together with its timeline entry and audit row, and announced:
//! `message.created` (the entry) and `conversation.updated` to the members, `conversation.created`
//! to those added, `conversation.removed` to those who lost access.

use confab_proto::frames::{ConversationRemoved, Event, RemovalReason};
use confab_proto::rest::{
    AddMembersResponse, Conversation, Role, SetThemeRequest, SystemEvent, Theme, ThemeBackground,
    UpdateConversationRequest,
};
use confab_proto::{ConversationId, ErrorCode, MessageId, UploadId, UserId};

use super::permissions::GroupAction;
use super::{Conversations, theme};
use crate::auth::Principal;
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::store::{GroupPatch, MessageRow, NewAudit};
use crate::timeline::PreparedEvent;
use crate::users::{parse_avatar_url, shown_text};

/// What one update changes (`None`: leave it).
#[derive(Default)]
struct Change {
    name: Option<String>,
    topic: Option<Option<String>>,
    avatar: Option<Option<String>>,
    avatar_upload: Option<(UploadId, UserId)>,
    theme: Option<Option<Theme>>,
    /// With `theme`: the image upload its background was made from and its owner.
    theme_upload: Option<(UploadId, UserId)>,
    /// With `theme`: it takes the background picture the current theme has.
    keep_background: bool,
    link_previews: Option<bool>,
}

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_TOPIC_CHARS: usize = 500;

impl Conversations {
    /// Renames a group, or sets or clears its topic and avatar.
    pub async fn update(
        &self,
        principal: Principal,
        id: ConversationId,
        req: UpdateConversationRequest,
    ) -> Result<Conversation> {
        let me = principal.user_id;
        let name = req.name.as_deref().map(|n| parse_name(Some(n))).transpose()?;
        let topic = req.topic.as_deref().map(parse_topic).transpose()?;
        let avatar = req.avatar_url.as_deref().map(parse_avatar_url).transpose()?;
        if name.is_none() && topic.is_none() && avatar.is_none() && req.link_previews.is_none() {
            return Err(Error::invalid(
                ErrorCode::InvalidParameter,
                "give at least one of name, topic, avatar_url, link_previews",
            ));
        }
        if name.is_some() || topic.is_some() || avatar.is_some() {
            self.authorize(me, id, GroupAction::EditInfo).await?;
        } else {
            self.authorize_settings(me, id).await?;
        }
        let change = Change { name, topic, avatar, link_previews: req.link_previews, ..Change::default() };
        self.apply_update(me, id, change).await?;
        self.get(principal, id).await
    }

    /// Sets (or with `None`, removes) the conversation's theme: a group's owner and admins, or
    /// either member of a direct conversation. A theme below WCAG AA contrast is refused.
    pub async fn set_theme(
        &self,
        principal: Principal,
        id: ConversationId,
        req: Option<SetThemeRequest>,
        background: Option<(ThemeBackground, UploadId)>,
    ) -> Result<Conversation> {
        let me = principal.user_id;
        let keep_background = req.as_ref().is_some_and(SetThemeRequest::keep_background);
        if keep_background && background.is_some() {
            return Err(Error::invalid(
                ErrorCode::InvalidParameter,
                "keep_background and background_upload_id do not go together",
            ));
        }
        let mut theme = req.map(theme::resolve).transpose()?;
        self.authorize_settings(me, id).await?;
        let theme_upload = match (&mut theme, background) {
            (Some(theme), Some((picture, upload))) => {
                theme.background = Some(picture);
                Some((upload, me))
            }
            _ => None,
        };
        let change = Change { theme: Some(theme), theme_upload, keep_background, ..Change::default() };
        self.apply_update(me, id, change).await?;
        self.get(principal, id).await
    }

    /// Sets (or with `None`, removes) a group's avatar made from an upload (`media/`): `url` is
    /// where the picture is served, `upload` the caller's avatar upload it came from.
    pub async fn set_avatar(
        &self,
        principal: Principal,
        id: ConversationId,
        avatar: Option<(String, UploadId)>,
    ) -> Result<Conversation> {
        let me = principal.user_id;
        self.authorize(me, id, GroupAction::EditInfo).await?;
        let (url, upload) = match avatar {
            Some((url, upload)) => (Some(url), Some((upload, me))),
            None => (None, None),
        };
        self.apply_update(me, id, Change { avatar: Some(url), avatar_upload: upload, ..Change::default() }).await?;
        self.get(principal, id).await
    }

    async fn apply_update(&self, me: UserId, id: ConversationId, change: Change) -> Result<()> {
        let Change { name, topic, avatar, avatar_upload, mut theme, theme_upload, keep_background, link_previews } =
            change;
        let _in_order = self.timeline.lock(id).await;
        let current = self.store.conversation(id).await?.ok_or(Error::NotFound("conversation"))?;
        let mut events = Vec::new();
        let mut patch = GroupPatch::default();
        if let Some(to) = name.as_deref().filter(|n| current.name.as_deref() != Some(*n)) {
            patch.name = Some(to);
            let from = current.name.clone().unwrap_or_default();
            events.push(self.timeline.prepare(id, me, &SystemEvent::Renamed { from, to: to.to_owned() }));
        }
        if let Some(topic) = topic.as_ref().filter(|t| **t != current.topic) {
            patch.topic = Some(topic.as_deref());
            events.push(self.timeline.prepare(id, me, &SystemEvent::TopicChanged { topic: topic.clone() }));
        }
        if let Some(avatar) = avatar.as_ref().filter(|a| **a != current.avatar_url || avatar_upload.is_some()) {
            patch.avatar_url = Some(avatar.as_deref());
            patch.avatar_upload = avatar_upload;
            events.push(self.timeline.prepare(id, me, &SystemEvent::AvatarChanged { avatar_url: avatar.clone() }));
        }
        let current_theme: Option<Theme> = current.theme.as_deref().and_then(|t| serde_json::from_str(t).ok());
        if keep_background && let Some(Some(theme)) = theme.as_mut() {
            theme.background = current_theme.as_ref().and_then(|t| t.background.clone());
        }
        let theme_json = theme.as_ref().map(|t| t.as_ref().map(|t| serde_json::to_string(t).unwrap_or_default()));
        if let Some(theme) = theme.filter(|t| *t != current_theme) {
            patch.theme = Some(theme_json.as_ref().and_then(|t| t.as_deref()));
            patch.theme_upload = theme_upload;
            patch.theme_keeps_file = keep_background;
            events.push(self.timeline.prepare(id, me, &SystemEvent::ThemeChanged { theme: theme.map(Box::new) }));
        }
        if let Some(enabled) = link_previews.filter(|on| *on != (current.link_previews != 0)) {
            patch.link_previews = Some(enabled);
            events.push(self.timeline.prepare(id, me, &SystemEvent::LinkPreviewsChanged { enabled }));
        }
        if !events.is_empty() {
            let group_events: Vec<_> = events.iter().map(PreparedEvent::as_group_event).collect();
            if !self.store.update_group(id, &patch, &group_events).await? {
                return Err(Error::invalid(
                    ErrorCode::InvalidAttachment,
                    "the upload is no longer a complete upload of yours of the kind asked for",
                ));
            }
            self.announce(id, &events, &[]).await?;
        }
        Ok(())
    }

    /// Adds members. Ids already in the group, repeated, or the caller's own are collapsed;
    /// `added` lists each newly added user once.
    pub async fn add_members(
        &self,
        principal: Principal,
        id: ConversationId,
        members: Vec<UserId>,
    ) -> Result<AddMembersResponse> {
        let me = principal.user_id;
        self.authorize(me, id, GroupAction::AddMembers).await?;
        let mut wanted = members;
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.is_empty() {
            return Err(Error::invalid(ErrorCode::InvalidMembers, "\"members\" is empty"));
        }
        self.users.require_addable(me, &wanted).await?;
        self.check_blocks(me, &wanted).await?;

        let _in_order = self.timeline.lock(id).await;
        // Another node (or a request before the lock) may have added some: decide on fresh data,
        // and retry if the store still finds one already there.
        let mut added = Vec::new();
        for _attempt in 0..3 {
            self.forget_membership(id);
            let current = self.load_membership(id).await?;
            added = wanted.iter().copied().filter(|u| !current.contains(*u)).collect();
            if added.is_empty() {
                break;
            }
            if current.members().len() + added.len() > self.limits.max_group_members {
                return Err(Error::invalid(
                    ErrorCode::InvalidMembers,
                    format!("a group has at most {} members", self.limits.max_group_members),
                ));
            }
            let event = self.timeline.prepare(id, me, &SystemEvent::MembersAdded { users: added.clone() });
            if self.store.add_members(id, &added, now_ms(), &[event.as_group_event()]).await? {
                self.membership_changed(id);
                self.publish_snapshot(&added, id, Event::ConversationCreated).await?;
                self.announce(id, &[event], &added).await?;
                break;
            }
            added.clear();
        }
        drop(_in_order);
        Ok(AddMembersResponse { conversation: self.get(principal, id).await?, added })
    }

    /// Removes a member, or — when `target` is the caller — leaves the group.
    pub async fn remove_member(&self, principal: Principal, id: ConversationId, target: UserId) -> Result<()> {
        let me = principal.user_id;
        let membership = self.membership(me, id).await?;
        let leaving = target == me;
        let target_role = membership.role_of(target).ok_or(Error::NotFound("member"))?;
        if leaving {
            if membership.kind == confab_proto::rest::ConversationKind::Direct {
                return Err(Error::Forbidden("direct conversations cannot be left".into()));
            }
            if target_role == Role::Owner {
                return Err(Error::Conflict(
                    ErrorCode::LastOwner,
                    "the owner cannot leave: transfer ownership or delete the group first".into(),
                ));
            }
        } else {
            self.authorize(me, id, GroupAction::Remove(target_role)).await?;
        }

        let _in_order = self.timeline.lock(id).await;
        let system = if leaving { SystemEvent::MemberLeft } else { SystemEvent::MemberRemoved { user: target } };
        let event = self.timeline.prepare(id, me, &system);
        if !self.store.remove_member(id, target, &[event.as_group_event()]).await? {
            return Err(Error::NotFound("member"));
        }
        self.membership_changed(id);
        let reason = if leaving { RemovalReason::Left } else { RemovalReason::Removed };
        self.hub.publish(&[target], Event::ConversationRemoved(ConversationRemoved { conversation_id: id, reason }));
        self.announce(id, &[event], &[]).await
    }

    /// Changes a member's role (owner only). `owner` hands ownership over; the previous owner
    /// becomes an admin. The owner cannot demote themself: the group would have no owner.
    pub async fn set_role(
        &self,
        principal: Principal,
        id: ConversationId,
        target: UserId,
        role: Role,
    ) -> Result<Conversation> {
        let me = principal.user_id;
        let membership = self.authorize(me, id, GroupAction::SetRoles).await?;
        let current = membership.role_of(target).ok_or(Error::NotFound("member"))?;
        if target == me && role != Role::Owner {
            return Err(Error::Conflict(
                ErrorCode::LastOwner,
                "the owner cannot demote themself: transfer ownership first".into(),
            ));
        }
        if current == role {
            return self.get(principal, id).await;
        }

        let _in_order = self.timeline.lock(id).await;
        let (event, applied) = if role == Role::Owner {
            let event = self.timeline.prepare(id, me, &SystemEvent::OwnershipTransferred { from: me, to: target });
            let applied = self.store.transfer_ownership(id, me, target, &[event.as_group_event()]).await?;
            (event, applied)
        } else {
            let event = self.timeline.prepare(id, me, &SystemEvent::RoleChanged { user: target, role });
            let applied = self.store.set_role(id, target, role, &[event.as_group_event()]).await?;
            (event, applied)
        };
        if !applied {
            return Err(Error::NotFound("member"));
        }
        self.membership_changed(id);
        self.announce(id, &[event], &[]).await?;
        drop(_in_order);
        self.get(principal, id).await
    }

    /// Deletes a group (owner only): it disappears for every member with `conversation.removed`
    /// and its history is gone; the audit log keeps a row saying who deleted it.
    pub async fn delete(&self, principal: Principal, id: ConversationId) -> Result<()> {
        let me = principal.user_id;
        let membership = self.authorize(me, id, GroupAction::Delete).await?;
        let _in_order = self.timeline.lock(id).await;
        let record = NewAudit {
            id: self.ids.next(),
            conversation_id: id,
            actor_id: me,
            action: "group_deleted",
            detail: None,
            created_at: now_ms(),
        };
        if !self.store.delete_conversation(id, &record).await? {
            return Err(Error::NotFound("conversation"));
        }
        self.membership_changed(id);
        let removed = ConversationRemoved { conversation_id: id, reason: RemovalReason::Deleted };
        self.hub.publish(membership.members(), Event::ConversationRemoved(removed));
        Ok(())
    }

    /// Publishes the timeline entries of `events` and the updated conversation to the members,
    /// except `skip_update` (who got `conversation.created` instead).
    async fn announce(&self, id: ConversationId, events: &[PreparedEvent], skip_update: &[UserId]) -> Result<()> {
        let membership = self.load_membership(id).await?;
        let ids: Vec<MessageId> = events.iter().map(PreparedEvent::message_id).collect();
        let mut rows: Vec<MessageRow> = self.store.messages_by_ids(&ids).await?;
        rows.sort_by_key(|r| r.seq);
        for message in self.render.all(rows).await? {
            self.hub.publish(membership.members(), Event::MessageCreated(message));
        }
        let others: Vec<UserId> = membership.members().iter().copied().filter(|u| !skip_update.contains(u)).collect();
        self.publish_snapshot(&others, id, Event::ConversationUpdated).await?;
        Ok(())
    }
}

pub fn parse_name(raw: Option<&str>) -> Result<String> {
    let name = raw.map(str::trim).unwrap_or_default();
    let len = name.chars().count();
    if len == 0 || len > MAX_NAME_CHARS {
        return Err(Error::invalid(
            ErrorCode::InvalidParameter,
            format!("a group needs a name of 1 to {MAX_NAME_CHARS} characters without control characters"),
        ));
    }
    crate::text::check_line("the group name", name)?;
    shown_text::check("name", name)?;
    Ok(name.to_owned())
}

/// An empty topic clears it.
fn parse_topic(raw: &str) -> Result<Option<String>> {
    let topic = raw.trim();
    if topic.chars().nth(MAX_TOPIC_CHARS).is_some() {
        return Err(Error::invalid(
            ErrorCode::InvalidParameter,
            format!("a topic has at most {MAX_TOPIC_CHARS} characters"),
        ));
    }
    crate::text::check_text("the topic", topic)?;
    shown_text::check("topic", topic)?;
    Ok((!topic.is_empty()).then(|| topic.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_topics_and_avatars_are_checked() {
        assert!(parse_name(None).is_err());
        assert!(parse_name(Some("   ")).is_err());
        assert!(parse_name(Some("a\u{0}b")).is_err());
        assert!(parse_name(Some(&"x".repeat(10_000))).is_err());
        assert_eq!(parse_name(Some("  <b>Pong club</b> ")).unwrap(), "<b>Pong club</b>");
        assert_eq!(parse_topic("").unwrap(), None);
        assert!(parse_topic(&"t".repeat(501)).is_err());
    }
}
