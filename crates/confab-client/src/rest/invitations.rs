//! Invitations to the host app's activities, sent and answered inside a conversation.

use confab_proto::rest::{ActivityList, Message, SendInvitationRequest};
use confab_proto::{ConversationId, MessageId};
use reqwest::Method;

use super::{Client, NO_BODY};
use crate::error::ClientError;

impl Client {
    /// `GET /api/v1/activities`: the activities this server may invite to.
    pub async fn activities(&self) -> Result<ActivityList, ClientError> {
        self.get("/api/v1/activities").await
    }

    /// `POST /api/v1/conversations/{id}/invitations`: returns the invitation message.
    pub async fn invite(&self, id: ConversationId, req: &SendInvitationRequest) -> Result<Message, ClientError> {
        self.call(Method::POST, &format!("/api/v1/conversations/{id}/invitations"), Some(req)).await
    }

    /// `POST …/invitations/{message}/accept`: the host app is told, and its answer arrives later
    /// as an update of the message.
    pub async fn accept_invitation(&self, id: ConversationId, message: MessageId) -> Result<Message, ClientError> {
        self.answer_invitation(id, message, "accept").await
    }

    /// `POST …/invitations/{message}/decline`.
    pub async fn decline_invitation(&self, id: ConversationId, message: MessageId) -> Result<Message, ClientError> {
        self.answer_invitation(id, message, "decline").await
    }

    /// `POST …/invitations/{message}/cancel`: only the inviter may cancel.
    pub async fn cancel_invitation(&self, id: ConversationId, message: MessageId) -> Result<Message, ClientError> {
        self.answer_invitation(id, message, "cancel").await
    }

    async fn answer_invitation(
        &self,
        id: ConversationId,
        message: MessageId,
        answer: &str,
    ) -> Result<Message, ClientError> {
        self.call(Method::POST, &format!("/api/v1/conversations/{id}/invitations/{message}/{answer}"), NO_BODY).await
    }
}
