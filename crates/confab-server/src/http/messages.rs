//! `/api/v1/conversations/{id}/messages*`, pins, and `/api/v1/sync`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use confab_proto::frames::{SyncRequest, SyncResult};
use confab_proto::rest::{
    EditMessageRequest, HistoryQuery, Message, MessageEditList, MessagePage, PinList, SendMessageRequest, ToneList,
};
use confab_proto::{ConversationId, ErrorBody, MessageId};

use super::extract::{Authenticated, Client, Json, Path, Query};
use crate::app::App;
use crate::error::Error;

/// Send a message. Answers after the commit; 200 with the first message when `client_id` repeats.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = SendMessageRequest,
    responses(
        (status = 201, body = Message), (status = 200, description = "duplicate client_id: the first message", body = Message),
        (status = 400, description = "empty_message, message_too_long, invalid_parameter, invalid_reply", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 429, description = "rate_limited: too many messages from this user or IP; see `Retry-After`", body = ErrorBody),
    ))]
pub async fn send_message(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Client(client): Client,
    Path(id): Path<ConversationId>,
    Json(req): Json<SendMessageRequest>,
) -> Result<(StatusCode, axum::Json<Message>), Error> {
    app.traffic.message(me, client.ip).await?;
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

/// Edit your own message; the previous text is kept (see `/edits`).
#[utoipa::path(patch, path = "/api/v1/conversations/{id}/messages/{message_id}", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path)), request_body = EditMessageRequest,
    responses((status = 200, body = Message), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn edit_message(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path((id, message)): Path<(ConversationId, MessageId)>,
    Json(req): Json<EditMessageRequest>,
) -> Result<axum::Json<Message>, Error> {
    Ok(axum::Json(app.messages.edit(me, id, message, &req).await?))
}

/// Delete a message for everyone (author, or a group owner or admin); answers with the tombstone.
#[utoipa::path(delete, path = "/api/v1/conversations/{id}/messages/{message_id}", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path)),
    responses((status = 200, body = Message), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_message(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path((id, message)): Path<(ConversationId, MessageId)>,
) -> Result<axum::Json<Message>, Error> {
    Ok(axum::Json(app.messages.delete(me, id, message).await?))
}

/// The earlier versions of an edited message, oldest first.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages/{message_id}/edits", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path)),
    responses((status = 200, body = MessageEditList), (status = 404, body = ErrorBody)))]
pub async fn edits(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path((id, message)): Path<(ConversationId, MessageId)>,
) -> Result<axum::Json<MessageEditList>, Error> {
    Ok(axum::Json(app.messages.edits(me, id, message).await?))
}

/// React to a message (URL-encode the emoji). Reacting twice is harmless.
#[utoipa::path(put, path = "/api/v1/conversations/{id}/messages/{message_id}/reactions/{emoji}", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path), ("emoji" = String, Path)),
    responses((status = 200, body = Message), (status = 400, description = "invalid_emoji", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add_reaction(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path((id, message, emoji)): Path<(ConversationId, MessageId, String)>,
) -> Result<axum::Json<Message>, Error> {
    Ok(axum::Json(app.messages.react(me, id, message, &emoji, true).await?))
}

/// Remove your reaction.
#[utoipa::path(delete, path = "/api/v1/conversations/{id}/messages/{message_id}/reactions/{emoji}", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path), ("emoji" = String, Path)),
    responses((status = 200, body = Message), (status = 404, body = ErrorBody)))]
pub async fn remove_reaction(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path((id, message, emoji)): Path<(ConversationId, MessageId, String)>,
) -> Result<axum::Json<Message>, Error> {
    Ok(axum::Json(app.messages.react(me, id, message, &emoji, false).await?))
}

/// Pinned messages, most recently pinned first.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/pins", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = PinList), (status = 404, body = ErrorBody)))]
pub async fn pins(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<ConversationId>,
) -> Result<axum::Json<PinList>, Error> {
    Ok(axum::Json(app.messages.pins(me, id).await?))
}

/// Pin a message (anyone in a direct conversation; owners and admins in a group).
#[utoipa::path(put, path = "/api/v1/conversations/{id}/pins/{message_id}", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path)),
    responses((status = 200, body = Message), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn pin(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path((id, message)): Path<(ConversationId, MessageId)>,
) -> Result<axum::Json<Message>, Error> {
    Ok(axum::Json(app.messages.pin(me, id, message, true).await?))
}

/// Unpin a message.
#[utoipa::path(delete, path = "/api/v1/conversations/{id}/pins/{message_id}", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path)),
    responses((status = 200, body = Message), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unpin(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path((id, message)): Path<(ConversationId, MessageId)>,
) -> Result<axum::Json<Message>, Error> {
    Ok(axum::Json(app.messages.pin(me, id, message, false).await?))
}

/// Everything changed since the client's positions (the same as the WebSocket `sync` command).
#[utoipa::path(post, path = "/api/v1/sync", tag = "messages", security(("bearer" = [])),
    request_body = SyncRequest,
    responses((status = 200, body = SyncResult), (status = 400, body = ErrorBody)))]
pub async fn sync(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Json(req): Json<SyncRequest>,
) -> Result<axum::Json<SyncResult>, Error> {
    Ok(axum::Json(app.sync.sync(me, req).await?))
}

/// Take the link previews off your own message, for good (an edit does not bring them back).
#[utoipa::path(delete, path = "/api/v1/conversations/{id}/messages/{message_id}/previews", tag = "messages", security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path)),
    responses((status = 200, body = Message), (status = 403, description = "forbidden: not the author", body = ErrorBody), (status = 404, description = "not_found: no such message", body = ErrorBody)))]
pub async fn remove_previews(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path((id, message)): Path<(ConversationId, MessageId)>,
) -> Result<axum::Json<Message>, Error> {
    Ok(axum::Json(app.messages.remove_previews(me, id, message).await?))
}

/// The tone indicators this server knows (`/j`, `/srs`, …) with their meanings.
#[utoipa::path(get, path = "/api/v1/tones", tag = "messages", security(("bearer" = [])),
    responses((status = 200, body = ToneList)))]
pub async fn tones(State(app): State<Arc<App>>, Authenticated(_caller): Authenticated) -> axum::Json<ToneList> {
    axum::Json(ToneList { tones: app.messages.tones().list().to_vec() })
}
