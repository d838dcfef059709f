//! Other users: profiles, search, contacts, blocks and restrictions, presence.

use confab_proto::UserId;
use confab_proto::rest::{
    BlockList, Contact, ContactList, OwnPresence, SetPresenceRequest, User, UserSearchQuery, UserSearchResult,
};
use reqwest::Method;

use super::{Client, NO_BODY};
use crate::error::ClientError;

impl Client {
    /// `GET /api/v1/users/{id}`: a user as the caller may see them.
    pub async fn user(&self, id: UserId) -> Result<User, ClientError> {
        self.get(&format!("/api/v1/users/{id}")).await
    }

    /// `GET /api/v1/users?q=`: users whose username or display name starts with `q`.
    pub async fn search_users(&self, query: &UserSearchQuery) -> Result<UserSearchResult, ClientError> {
        self.get_query("/api/v1/users", query).await
    }

    /// `GET /api/v1/contacts`: contacts and pending requests both ways.
    pub async fn contacts(&self) -> Result<ContactList, ClientError> {
        self.get("/api/v1/contacts").await
    }

    /// `POST /api/v1/contacts/{user}`: sends a contact request to `user`, or accepts theirs.
    pub async fn request_contact(&self, user: UserId) -> Result<Contact, ClientError> {
        self.call(Method::POST, &format!("/api/v1/contacts/{user}"), NO_BODY).await
    }

    /// `POST /api/v1/contacts/{user}/accept`: accepts `user`'s request.
    pub async fn accept_contact(&self, user: UserId) -> Result<Contact, ClientError> {
        self.call(Method::POST, &format!("/api/v1/contacts/{user}/accept"), NO_BODY).await
    }

    /// `POST /api/v1/contacts/{user}/decline`: declines `user`'s request.
    pub async fn decline_contact(&self, user: UserId) -> Result<(), ClientError> {
        self.call_no_content(Method::POST, &format!("/api/v1/contacts/{user}/decline"), NO_BODY).await
    }

    /// `DELETE /api/v1/contacts/{user}`: declines, cancels or removes whatever links the caller
    /// and `user`.
    pub async fn remove_contact(&self, user: UserId) -> Result<(), ClientError> {
        self.call_no_content(Method::DELETE, &format!("/api/v1/contacts/{user}"), NO_BODY).await
    }

    /// `PUT /api/v1/blocks/{user}`: no direct messages either way, no presence or search for
    /// `user`, and `user`'s group messages arrive collapsed.
    pub async fn block(&self, user: UserId) -> Result<(), ClientError> {
        self.call_no_content(Method::PUT, &format!("/api/v1/blocks/{user}"), NO_BODY).await
    }

    /// `DELETE /api/v1/blocks/{user}`.
    pub async fn unblock(&self, user: UserId) -> Result<(), ClientError> {
        self.call_no_content(Method::DELETE, &format!("/api/v1/blocks/{user}"), NO_BODY).await
    }

    /// `GET /api/v1/blocks`: whom the caller blocked or restricted (only they see it).
    pub async fn blocks(&self) -> Result<BlockList, ClientError> {
        self.get("/api/v1/blocks").await
    }

    /// `PUT /api/v1/restrictions/{user}`: mutes `user`; nothing is refused to them, but they no
    /// longer notify the caller.
    pub async fn restrict(&self, user: UserId) -> Result<(), ClientError> {
        self.call_no_content(Method::PUT, &format!("/api/v1/restrictions/{user}"), NO_BODY).await
    }

    /// `DELETE /api/v1/restrictions/{user}`.
    pub async fn unrestrict(&self, user: UserId) -> Result<(), ClientError> {
        self.call_no_content(Method::DELETE, &format!("/api/v1/restrictions/{user}"), NO_BODY).await
    }

    /// `GET /api/v1/me/presence`: the caller's chosen status, and how others see it.
    pub async fn presence(&self) -> Result<OwnPresence, ClientError> {
        self.get("/api/v1/me/presence").await
    }

    /// `PUT /api/v1/me/presence`: chooses a status (`invisible` appears offline to others).
    pub async fn set_presence(&self, req: &SetPresenceRequest) -> Result<OwnPresence, ClientError> {
        self.call(Method::PUT, "/api/v1/me/presence", Some(req)).await
    }
}
