//! `/api/v1/conversations*`: conversations and their messages.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use confab_proto::rest::{
    Conversation, ConversationList, CreateConversationRequest, HistoryQuery, Message, MessagePage, SendMessageRequest,
};
use confab_proto::{ConversationId, ErrorBody};

use super::extract::{Authenticated, Json, Path, Query};
use crate::app::App;
use crate::error::Error;

/// Open the direct conversation with a user (201 when created, 200 when it existed), or create a group.
#[utoipa::path(post, path = "/api/v1/conversations", tag = "conversations", security(("bearer" = [])),
    request_body = CreateConversationRequest,
    responses(
        (status = 201, body = Conversation), (status = 200, description = "the existing direct conversation", body = Conversation),
        (status = 400, description = "invalid_members, unknown_user, invalid_parameter", body = ErrorBody),
    ))]
pub async fn create(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Json(req): Json<CreateConversationRequest>,
) -> Result<(StatusCode, axum::Json<Conversation>), Error> {
    let (conversation, created) = app.conversations.create(me, req).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, axum::Json(conversation)))
}

/// The user's conversations, most recently active first.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", security(("bearer" = [])),
    responses((status = 200, body = ConversationList)))]
pub async fn list(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
) -> Result<axum::Json<ConversationList>, Error> {
    Ok(axum::Json(app.conversations.list(me).await?))
}

/// One conversation of the user. Others' conversations are `not_found`, like missing ones.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Conversation), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<ConversationId>,
) -> Result<axum::Json<Conversation>, Error> {
    Ok(axum::Json(app.conversations.get(me, id).await?))
}

/// Send a message. Answers after the commit; 200 with the first message when `client_id` repeats.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = SendMessageRequest,
    responses(
        (status = 201, body = Message), (status = 200, description = "duplicate client_id: the first message", body = Message),
        (status = 400, description = "empty_message, message_too_long, invalid_parameter, invalid_reply", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, description = "payload_too_large", body = ErrorBody),
    ))]
pub async fn send_message(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<ConversationId>,
    Json(req): Json<SendMessageRequest>,
) -> Result<(StatusCode, axum::Json<Message>), Error> {
    let sent = app.messages.send(me, id, req).await?;
    let status = if sent.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, axum::Json(sent.message)))
}

/// History, in ascending `seq`: the newest page by default, `before` to page back, `after` to catch up.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path), HistoryQuery),
    responses((status = 200, body = MessagePage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn history(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<ConversationId>,
    Query(query): Query<HistoryQuery>,
) -> Result<axum::Json<MessagePage>, Error> {
    Ok(axum::Json(app.messages.history(me, id, query).await?))
}
