//! Conversations: creating and listing them, group membership and roles, read state, typing,
//! and catching up with `sync`.

use confab_proto::frames::{SyncRequest, SyncResult};
use confab_proto::rest::{
    AddMembersRequest, AddMembersResponse, AuditLog, Conversation, ConversationList, ConversationListQuery,
    CreateConversationRequest, ReadRequest, Role, SetThemeRequest, ThemePresetList, UpdateConversationRequest,
    UpdateMemberRequest,
};
use confab_proto::{ConversationId, UserId};
use reqwest::Method;

use super::{Client, NO_BODY};
use crate::error::ClientError;

impl Client {
    /// `POST /api/v1/conversations`: a new group, or a direct conversation (the existing one if
    /// the pair already has one).
    pub async fn create_conversation(&self, req: &CreateConversationRequest) -> Result<Conversation, ClientError> {
        self.call(Method::POST, "/api/v1/conversations", Some(req)).await
    }

    /// The direct conversation with `other`, created on first use.
    pub async fn open_direct(&self, other: UserId) -> Result<Conversation, ClientError> {
        let req = CreateConversationRequest::Direct { members: vec![other] };
        self.create_conversation(&req).await
    }

    /// `GET /api/v1/conversations`: the first page of the user's conversations, most recently
    /// active first.
    pub async fn conversations(&self) -> Result<ConversationList, ClientError> {
        self.conversations_page(&ConversationListQuery::default()).await
    }

    /// `GET /api/v1/conversations?limit=&cursor=`: any page of the list.
    pub async fn conversations_page(&self, query: &ConversationListQuery) -> Result<ConversationList, ClientError> {
        self.get_query("/api/v1/conversations", query).await
    }

    /// `GET /api/v1/conversations/{id}`: with all members and the caller's unread count.
    pub async fn conversation(&self, id: ConversationId) -> Result<Conversation, ClientError> {
        self.get(&format!("/api/v1/conversations/{id}")).await
    }

    /// `PATCH /api/v1/conversations/{id}`: renames a group or changes its topic or avatar.
    pub async fn update_conversation(
        &self,
        id: ConversationId,
        req: &UpdateConversationRequest,
    ) -> Result<Conversation, ClientError> {
        self.call(Method::PATCH, &format!("/api/v1/conversations/{id}"), Some(req)).await
    }

    /// `GET /api/v1/themes`: the theme presets the server offers.
    pub async fn themes(&self) -> Result<ThemePresetList, ClientError> {
        self.get("/api/v1/themes").await
    }

    /// `PUT /api/v1/conversations/{id}/theme`: a preset or both palettes; `low_contrast` when a
    /// colour pair is hard to read.
    pub async fn set_theme(&self, id: ConversationId, req: &SetThemeRequest) -> Result<Conversation, ClientError> {
        self.call(Method::PUT, &format!("/api/v1/conversations/{id}/theme"), Some(req)).await
    }

    /// `DELETE /api/v1/conversations/{id}/theme`.
    pub async fn remove_theme(&self, id: ConversationId) -> Result<Conversation, ClientError> {
        self.call(Method::DELETE, &format!("/api/v1/conversations/{id}/theme"), NO_BODY).await
    }

    /// `DELETE /api/v1/conversations/{id}`: deletes a group (owner only).
    pub async fn delete_conversation(&self, id: ConversationId) -> Result<(), ClientError> {
        self.call_no_content(Method::DELETE, &format!("/api/v1/conversations/{id}"), NO_BODY).await
    }

    /// `POST /api/v1/conversations/{id}/members`: adds members to a group.
    pub async fn add_members(
        &self,
        id: ConversationId,
        members: Vec<UserId>,
    ) -> Result<AddMembersResponse, ClientError> {
        let req = AddMembersRequest { members };
        self.call(Method::POST, &format!("/api/v1/conversations/{id}/members"), Some(&req)).await
    }

    /// `PATCH /api/v1/conversations/{id}/members/{user}`: sets a member's role; `Role::Owner`
    /// transfers ownership.
    pub async fn set_role(&self, id: ConversationId, user: UserId, role: Role) -> Result<Conversation, ClientError> {
        let path = format!("/api/v1/conversations/{id}/members/{user}");
        self.call(Method::PATCH, &path, Some(&UpdateMemberRequest { role })).await
    }

    /// `DELETE /api/v1/conversations/{id}/members/{user}`: removes a member; with one's own id,
    /// leaves the group.
    pub async fn remove_member(&self, id: ConversationId, user: UserId) -> Result<(), ClientError> {
        self.call_no_content(Method::DELETE, &format!("/api/v1/conversations/{id}/members/{user}"), NO_BODY).await
    }

    /// `PUT /api/v1/conversations/{id}/read`: marks the conversation read up to `seq`.
    pub async fn mark_read(&self, id: ConversationId, seq: i64) -> Result<(), ClientError> {
        let path = format!("/api/v1/conversations/{id}/read");
        self.call_no_content(Method::PUT, &path, Some(&ReadRequest { seq })).await
    }

    /// `POST /api/v1/conversations/{id}/typing`: "I am typing", for clients without a socket.
    pub async fn typing(&self, id: ConversationId) -> Result<(), ClientError> {
        self.call_no_content(Method::POST, &format!("/api/v1/conversations/{id}/typing"), NO_BODY).await
    }

    /// `GET /api/v1/conversations/{id}/audit`: a group's changes, newest first.
    pub async fn audit(&self, id: ConversationId) -> Result<AuditLog, ClientError> {
        self.get(&format!("/api/v1/conversations/{id}/audit")).await
    }

    /// `POST /api/v1/sync`: everything changed since `req`'s positions (see docs/protocol.md,
    /// "Resume").
    pub async fn sync(&self, req: &SyncRequest) -> Result<SyncResult, ClientError> {
        self.call(Method::POST, "/api/v1/sync", Some(req)).await
    }
}
