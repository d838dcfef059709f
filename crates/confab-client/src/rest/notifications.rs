//! The notification feed, unread counts, and how much each conversation may notify.

use confab_proto::ConversationId;
use confab_proto::frames::NotificationsRead;
use confab_proto::rest::{
    Conversation, MarkNotificationsRead, NotificationLevel, NotificationList, NotificationQuery, NotificationSettings,
    UnreadSummary,
};
use reqwest::Method;

use super::Client;
use crate::error::ClientError;

impl Client {
    /// `GET /api/v1/notifications`: the feed, newest first.
    pub async fn notifications(&self, query: &NotificationQuery) -> Result<NotificationList, ClientError> {
        self.get_query("/api/v1/notifications", query).await
    }

    /// `POST /api/v1/notifications/read`: marks the given notifications read, or all with `None`.
    pub async fn mark_notifications_read(&self, ids: Option<Vec<String>>) -> Result<NotificationsRead, ClientError> {
        self.call(Method::POST, "/api/v1/notifications/read", Some(&MarkNotificationsRead { ids })).await
    }

    /// `GET /api/v1/unread`: unread messages per conversation and in total, and unread
    /// notifications.
    pub async fn unread(&self) -> Result<UnreadSummary, ClientError> {
        self.get("/api/v1/unread").await
    }

    /// `PUT /api/v1/conversations/{id}/notifications`: how much this conversation may notify.
    pub async fn set_notification_level(
        &self,
        id: ConversationId,
        level: NotificationLevel,
    ) -> Result<Conversation, ClientError> {
        let path = format!("/api/v1/conversations/{id}/notifications");
        self.call(Method::PUT, &path, Some(&NotificationSettings { level })).await
    }
}
