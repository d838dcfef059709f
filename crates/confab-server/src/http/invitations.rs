//! `/api/v1/activities`, invitations, notifications and unread counts.

use std::sync::Arc;

use axum::extract::State;
use confab_proto::frames::NotificationsRead;
use confab_proto::rest::{
    ActivityList, Conversation, MarkNotificationsRead, Message, NotificationList, NotificationQuery,
    NotificationSettings, SendInvitationRequest, UnreadSummary,
};
use confab_proto::{ConversationId, ErrorBody, MessageId};

use super::extract::{Authenticated, Json, Path, Query};
use crate::app::App;
use crate::error::Error;

/// The host app's activities that members can invite each other to.
#[utoipa::path(get, path = "/api/v1/activities", tag = "invitations", security(("bearer" = [])),
    responses((status = 200, body = ActivityList)))]
pub async fn activities(
    State(app): State<Arc<App>>,
    Authenticated(_caller): Authenticated,
) -> axum::Json<ActivityList> {
    axum::Json(app.invitations.activities())
}

/// Invite the conversation, or one member, to an activity: posts a message of kind `invitation`.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/invitations", tag = "invitations", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = SendInvitationRequest,
    responses((status = 201, body = Message), (status = 400, description = "unknown_activity, invalid_members", body = ErrorBody),
        (status = 403, description = "blocked", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn send(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<ConversationId>,
    Json(req): Json<SendInvitationRequest>,
) -> Result<(axum::http::StatusCode, axum::Json<Message>), Error> {
    let message = app.invitations.send(me, id, req).await?;
    Ok((axum::http::StatusCode::CREATED, axum::Json(message)))
}

/// Accept an invitation (an invitee only; while pending). The host app's answer follows as `message.updated`.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/invitations/{message_id}/accept", tag = "invitations", security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path)),
    responses((status = 200, body = Message), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "invitation_closed", body = ErrorBody)))]
pub async fn accept(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path((id, message)): Path<(ConversationId, MessageId)>,
) -> Result<axum::Json<Message>, Error> {
    Ok(axum::Json(app.invitations.accept(me, id, message).await?))
}

/// Decline an invitation (an invitee only).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/invitations/{message_id}/decline", tag = "invitations", security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path)),
    responses((status = 200, body = Message), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn decline(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path((id, message)): Path<(ConversationId, MessageId)>,
) -> Result<axum::Json<Message>, Error> {
    Ok(axum::Json(app.invitations.decline(me, id, message).await?))
}

/// Cancel your invitation.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/invitations/{message_id}/cancel", tag = "invitations", security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path)),
    responses((status = 200, body = Message), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path((id, message)): Path<(ConversationId, MessageId)>,
) -> Result<axum::Json<Message>, Error> {
    Ok(axum::Json(app.invitations.cancel(me, id, message).await?))
}

/// Your notification feed, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", security(("bearer" = [])),
    params(NotificationQuery), responses((status = 200, body = NotificationList)))]
pub async fn notifications(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Query(query): Query<NotificationQuery>,
) -> Result<axum::Json<NotificationList>, Error> {
    Ok(axum::Json(app.notifications.list(me, query).await?))
}

/// Mark notifications read (`{"ids": [...]}`), or all of them (`{}`); every session is told.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications", security(("bearer" = [])),
    request_body = MarkNotificationsRead, responses((status = 200, body = NotificationsRead)))]
pub async fn mark_read(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Json(req): Json<MarkNotificationsRead>,
) -> Result<axum::Json<NotificationsRead>, Error> {
    Ok(axum::Json(app.notifications.mark_read(me, req.ids).await?))
}

/// Unread messages per conversation and in total, and unread notifications.
#[utoipa::path(get, path = "/api/v1/unread", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = UnreadSummary)))]
pub async fn unread(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
) -> Result<axum::Json<UnreadSummary>, Error> {
    Ok(axum::Json(app.notifications.unread(me).await?))
}

/// How much this conversation may notify you: `all`, `mentions` or `none`.
#[utoipa::path(put, path = "/api/v1/conversations/{id}/notifications", tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = NotificationSettings,
    responses((status = 200, body = Conversation), (status = 404, body = ErrorBody)))]
pub async fn set_level(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<ConversationId>,
    Json(req): Json<NotificationSettings>,
) -> Result<axum::Json<Conversation>, Error> {
    Ok(axum::Json(app.conversations.set_notification_level(me, id, req.level).await?))
}
