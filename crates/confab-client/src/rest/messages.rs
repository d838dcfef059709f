//! Messages of a conversation: sending, history, edits, deletion, reactions, pins.

use confab_proto::rest::{
    EditMessageRequest, HistoryQuery, Message, MessageEditList, MessagePage, PinList, SendMessageRequest, ToneList,
};
use confab_proto::{ConversationId, MessageId};
use reqwest::Method;

use super::{Client, NO_BODY};
use crate::error::ClientError;

impl Client {
    /// `POST /api/v1/conversations/{id}/messages`: sends a message. Retrying with the same
    /// `client_id` returns the first message instead of storing another.
    pub async fn send_message(
        &self,
        conversation: ConversationId,
        req: &SendMessageRequest,
    ) -> Result<Message, ClientError> {
        self.call(Method::POST, &format!("/api/v1/conversations/{conversation}/messages"), Some(req)).await
    }

    /// `GET /api/v1/conversations/{id}/messages?limit=&before=&after=`: a page of history in
    /// ascending `seq` order; the newest messages when neither cursor is given.
    pub async fn history(
        &self,
        conversation: ConversationId,
        query: &HistoryQuery,
    ) -> Result<MessagePage, ClientError> {
        self.get_query(&format!("/api/v1/conversations/{conversation}/messages"), query).await
    }

    /// `PATCH /api/v1/conversations/{id}/messages/{message}`: edits one's own message.
    pub async fn edit_message(
        &self,
        id: ConversationId,
        message: MessageId,
        body: &str,
    ) -> Result<Message, ClientError> {
        let req = EditMessageRequest { body: body.to_owned(), tones: Vec::new(), literal: false };
        self.edit_message_with(id, message, &req).await
    }

    /// [`Client::edit_message`] with chosen tone indicators, or `literal` text.
    pub async fn edit_message_with(
        &self,
        id: ConversationId,
        message: MessageId,
        req: &EditMessageRequest,
    ) -> Result<Message, ClientError> {
        self.call(Method::PATCH, &format!("/api/v1/conversations/{id}/messages/{message}"), Some(req)).await
    }

    /// `DELETE …/messages/{message}/previews`: takes the link previews off one's own message.
    pub async fn remove_previews(&self, id: ConversationId, message: MessageId) -> Result<Message, ClientError> {
        self.call(Method::DELETE, &format!("/api/v1/conversations/{id}/messages/{message}/previews"), NO_BODY).await
    }

    /// `GET /api/v1/tones`: the tone indicators the server knows, with their meanings.
    pub async fn tones(&self) -> Result<ToneList, ClientError> {
        self.get("/api/v1/tones").await
    }

    /// `DELETE /api/v1/conversations/{id}/messages/{message}`: deletes a message for everyone;
    /// returns the tombstone.
    pub async fn delete_message(&self, id: ConversationId, message: MessageId) -> Result<Message, ClientError> {
        self.call(Method::DELETE, &format!("/api/v1/conversations/{id}/messages/{message}"), NO_BODY).await
    }

    /// `GET /api/v1/conversations/{id}/messages/{message}/edits`: earlier versions, oldest first.
    pub async fn edits(&self, id: ConversationId, message: MessageId) -> Result<MessageEditList, ClientError> {
        self.get(&format!("/api/v1/conversations/{id}/messages/{message}/edits")).await
    }

    /// `PUT …/messages/{message}/reactions/{emoji}`: adds the caller's reaction.
    pub async fn add_reaction(
        &self,
        id: ConversationId,
        message: MessageId,
        emoji: &str,
    ) -> Result<Message, ClientError> {
        self.call(Method::PUT, &reaction_path(id, message, emoji), NO_BODY).await
    }

    /// `DELETE …/messages/{message}/reactions/{emoji}`: removes the caller's reaction.
    pub async fn remove_reaction(
        &self,
        id: ConversationId,
        message: MessageId,
        emoji: &str,
    ) -> Result<Message, ClientError> {
        self.call(Method::DELETE, &reaction_path(id, message, emoji), NO_BODY).await
    }

    /// `GET /api/v1/conversations/{id}/pins`: pinned messages, most recently pinned first.
    pub async fn pins(&self, id: ConversationId) -> Result<PinList, ClientError> {
        self.get(&format!("/api/v1/conversations/{id}/pins")).await
    }

    /// `PUT /api/v1/conversations/{id}/pins/{message}`.
    pub async fn pin(&self, id: ConversationId, message: MessageId) -> Result<Message, ClientError> {
        self.call(Method::PUT, &format!("/api/v1/conversations/{id}/pins/{message}"), NO_BODY).await
    }

    /// `DELETE /api/v1/conversations/{id}/pins/{message}`.
    pub async fn unpin(&self, id: ConversationId, message: MessageId) -> Result<Message, ClientError> {
        self.call(Method::DELETE, &format!("/api/v1/conversations/{id}/pins/{message}"), NO_BODY).await
    }
}

/// Emojis are arbitrary text in a path segment, so they are percent-encoded.
fn reaction_path(id: ConversationId, message: MessageId, emoji: &str) -> String {
    format!("/api/v1/conversations/{id}/messages/{message}/reactions/{}", crate::encode_component(emoji))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emojis_are_one_path_segment() {
        assert_eq!(
            reaction_path(ConversationId(1), MessageId(2), "👍/x"),
            "/api/v1/conversations/1/messages/2/reactions/%F0%9F%91%8D%2Fx"
        );
    }
}
