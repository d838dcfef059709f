//! `/api/v1/conversations*`: conversations and their messages.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use confab_proto::rest::{
    AddMembersRequest, AddMembersResponse, AuditLog, Conversation, ConversationList, ConversationListQuery,
    CreateConversationRequest, ReadRequest, SetThemeRequest, ThemePresetList, UpdateConversationRequest,
    UpdateMemberRequest,
};
use confab_proto::{ConversationId, ErrorBody, UserId};

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

/// The user's conversations, most recently active first, with last message, unread count and
/// up to 20 members each; `next_cursor` pages on.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", security(("bearer" = [])),
    params(ConversationListQuery),
    responses((status = 200, body = ConversationList), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Query(query): Query<ConversationListQuery>,
) -> Result<axum::Json<ConversationList>, Error> {
    Ok(axum::Json(app.conversations.list(me, query).await?))
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

/// Rename a group, or set or clear its topic and avatar (owner and admins); turn link previews
/// on or off (also either member of a direct conversation).
#[utoipa::path(patch, path = "/api/v1/conversations/{id}", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = UpdateConversationRequest,
    responses((status = 200, body = Conversation), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<ConversationId>,
    Json(req): Json<UpdateConversationRequest>,
) -> Result<axum::Json<Conversation>, Error> {
    Ok(axum::Json(app.conversations.update(me, id, req).await?))
}

/// Delete a group (owner only). Members get `conversation.removed`; the history is gone.
#[utoipa::path(delete, path = "/api/v1/conversations/{id}", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<ConversationId>,
) -> Result<StatusCode, Error> {
    app.conversations.delete(me, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add members to a group (owner and admins). Repeated ids and existing members are collapsed.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/members", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = AddMembersRequest,
    responses((status = 200, body = AddMembersResponse), (status = 400, description = "unknown_user, invalid_members", body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_members(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<ConversationId>,
    Json(req): Json<AddMembersRequest>,
) -> Result<axum::Json<AddMembersResponse>, Error> {
    Ok(axum::Json(app.conversations.add_members(me, id, req.members).await?))
}

/// Change a member's role (owner only); `owner` transfers ownership.
#[utoipa::path(patch, path = "/api/v1/conversations/{id}/members/{user_id}", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path), ("user_id" = String, Path)), request_body = UpdateMemberRequest,
    responses((status = 200, body = Conversation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "last_owner", body = ErrorBody)))]
pub async fn update_member(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path((id, user)): Path<(ConversationId, UserId)>,
    Json(req): Json<UpdateMemberRequest>,
) -> Result<axum::Json<Conversation>, Error> {
    Ok(axum::Json(app.conversations.set_role(me, id, user, req.role).await?))
}

/// Remove a member, or leave when `user_id` is your own.
#[utoipa::path(delete, path = "/api/v1/conversations/{id}/members/{user_id}", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "last_owner", body = ErrorBody)))]
pub async fn remove_member(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path((id, user)): Path<(ConversationId, UserId)>,
) -> Result<StatusCode, Error> {
    app.conversations.remove_member(me, id, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mark the conversation read up to `seq`; members see it as a read receipt.
#[utoipa::path(put, path = "/api/v1/conversations/{id}/read", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ReadRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn mark_read(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<ConversationId>,
    Json(req): Json<ReadRequest>,
) -> Result<StatusCode, Error> {
    app.conversations.mark_read(me, id, req.seq).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Tell the other members you are typing (repeat every few seconds; throttled, never stored; not
/// shown across a block, and refused in a direct conversation with one).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/typing", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn typing(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<ConversationId>,
) -> Result<StatusCode, Error> {
    app.conversations.typing(me, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A group's audit log, newest first (owner and admins).
#[utoipa::path(get, path = "/api/v1/conversations/{id}/audit", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = AuditLog), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn audit(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<ConversationId>,
) -> Result<axum::Json<AuditLog>, Error> {
    Ok(axum::Json(app.conversations.audit(me, id).await?))
}

/// The theme presets the server offers.
#[utoipa::path(get, path = "/api/v1/themes", tag = "conversations", security(("bearer" = [])),
    responses((status = 200, body = ThemePresetList)))]
pub async fn themes(Authenticated(_caller): Authenticated) -> axum::Json<ThemePresetList> {
    axum::Json(ThemePresetList { presets: crate::conversations::theme::presets() })
}

/// Give the conversation a theme: a preset, or both palettes (a group's owner and admins;
/// either member of a direct conversation), with a background picture from an image upload of
/// the caller's if asked. Below WCAG AA contrast: `low_contrast`.
#[utoipa::path(put, path = "/api/v1/conversations/{id}/theme", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = SetThemeRequest,
    responses((status = 200, body = Conversation), (status = 400, description = "low_contrast, invalid_parameter, invalid_attachment (the background upload)", body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_theme(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<ConversationId>,
    Json(req): Json<SetThemeRequest>,
) -> Result<axum::Json<Conversation>, Error> {
    Ok(axum::Json(app.media.set_theme(me, id, Some(req)).await?))
}

/// Remove the conversation's theme: members' clients use their own colours again.
#[utoipa::path(delete, path = "/api/v1/conversations/{id}/theme", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Conversation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_theme(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(id): Path<ConversationId>,
) -> Result<axum::Json<Conversation>, Error> {
    Ok(axum::Json(app.media.set_theme(me, id, None).await?))
}
