//! `/api/v1/contacts*`, `/api/v1/blocks*`, `/api/v1/restrictions/*`, user search, presence and
//! the caller's profile.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use confab_proto::rest::{
    BlockList, Contact, ContactList, OwnPresence, SetPresenceRequest, UpdateProfileRequest, User, UserSearchQuery,
    UserSearchResult,
};
use confab_proto::{ErrorBody, UserId};

use super::extract::{Authenticated, Json, Path, Query};
use crate::app::App;
use crate::error::Error;

/// Send a contact request, or accept the one that user sent. Answers with your view of the relation.
#[utoipa::path(post, path = "/api/v1/contacts/{user_id}", tag = "people", security(("bearer" = [])),
    params(("user_id" = String, Path)),
    responses((status = 200, body = Contact), (status = 403, description = "the user is yourself, or a block stands between you", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn request_contact(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(user): Path<UserId>,
) -> Result<axum::Json<Contact>, Error> {
    Ok(axum::Json(app.contacts.request(me, user).await?))
}

/// Decline a request, cancel yours, or remove a contact.
#[utoipa::path(delete, path = "/api/v1/contacts/{user_id}", tag = "people", security(("bearer" = [])),
    params(("user_id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn remove_contact(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(user): Path<UserId>,
) -> Result<StatusCode, Error> {
    app.contacts.remove(me, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accept that user's pending request (404 when there is none from them to you).
#[utoipa::path(post, path = "/api/v1/contacts/{user_id}/accept", tag = "people", security(("bearer" = [])),
    params(("user_id" = String, Path)), responses((status = 200, body = Contact),
        (status = 403, description = "you blocked this user; unblock them first", body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn accept_contact(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(user): Path<UserId>,
) -> Result<axum::Json<Contact>, Error> {
    Ok(axum::Json(app.contacts.accept(me, user).await?))
}

/// Decline that user's pending request (404 when there is none from them to you).
#[utoipa::path(post, path = "/api/v1/contacts/{user_id}/decline", tag = "people", security(("bearer" = [])),
    params(("user_id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn decline_contact(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(user): Path<UserId>,
) -> Result<StatusCode, Error> {
    app.contacts.decline(me, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your contacts (with presence) and pending requests both ways.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "people", security(("bearer" = [])),
    responses((status = 200, body = ContactList)))]
pub async fn contacts(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
) -> Result<axum::Json<ContactList>, Error> {
    Ok(axum::Json(app.contacts.list(me).await?))
}

/// Block a user. See docs/protocol.md for everything a block stops.
#[utoipa::path(put, path = "/api/v1/blocks/{user_id}", tag = "people", security(("bearer" = [])),
    params(("user_id" = String, Path)),
    responses((status = 204), (status = 403, description = "the user is yourself", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn block(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(user): Path<UserId>,
) -> Result<StatusCode, Error> {
    app.contacts.block(me, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unblock a user.
#[utoipa::path(delete, path = "/api/v1/blocks/{user_id}", tag = "people", security(("bearer" = [])),
    params(("user_id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn unblock(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(user): Path<UserId>,
) -> Result<StatusCode, Error> {
    app.contacts.unblock(me, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The users you blocked and restricted; nobody else can see this list.
#[utoipa::path(get, path = "/api/v1/blocks", tag = "people", security(("bearer" = [])),
    responses((status = 200, body = BlockList)))]
pub async fn blocks(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
) -> Result<axum::Json<BlockList>, Error> {
    Ok(axum::Json(app.blocks.list(me).await?))
}

/// Restrict (mute) a user: nothing is refused to them, you get no notifications from them.
#[utoipa::path(put, path = "/api/v1/restrictions/{user_id}", tag = "people", security(("bearer" = [])),
    params(("user_id" = String, Path)), responses((status = 204), (status = 403, description = "the user is yourself", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn restrict(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(user): Path<UserId>,
) -> Result<StatusCode, Error> {
    app.blocks.restrict(me, user, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lift a restriction.
#[utoipa::path(delete, path = "/api/v1/restrictions/{user_id}", tag = "people", security(("bearer" = [])),
    params(("user_id" = String, Path)), responses((status = 204), (status = 403, description = "the user is yourself", body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn unrestrict(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(user): Path<UserId>,
) -> Result<StatusCode, Error> {
    app.blocks.restrict(me, user, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Find users by username or display-name prefix (rate limited). Users who blocked you are not found.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    params(UserSearchQuery),
    responses((status = 200, body = UserSearchResult), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn search(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Query(query): Query<UserSearchQuery>,
) -> Result<axum::Json<UserSearchResult>, Error> {
    let hidden = app.blocks.of(me.user_id).await?.blocked_by.clone();
    Ok(axum::Json(app.users.search(me.user_id, query, &hidden).await?))
}

/// Change your display name, avatar or bio.
#[utoipa::path(patch, path = "/api/v1/me", tag = "users", security(("bearer" = [])),
    request_body = UpdateProfileRequest,
    responses((status = 200, body = User), (status = 400, body = ErrorBody)))]
pub async fn update_profile(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Json(req): Json<UpdateProfileRequest>,
) -> Result<axum::Json<User>, Error> {
    let profile = app.users.update_profile(me.user_id, req).await?;
    app.presence.announce_profile(&profile).await?;
    Ok(axum::Json(profile))
}

/// Your presence settings, and how others see you.
#[utoipa::path(get, path = "/api/v1/me/presence", tag = "people", security(("bearer" = [])),
    responses((status = 200, body = OwnPresence)))]
pub async fn own_presence(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
) -> Result<axum::Json<OwnPresence>, Error> {
    Ok(axum::Json(app.presence.own(me).await?))
}

/// Set your status (online, away, dnd, invisible) and status text.
#[utoipa::path(put, path = "/api/v1/me/presence", tag = "people", security(("bearer" = [])),
    request_body = SetPresenceRequest,
    responses((status = 200, body = OwnPresence), (status = 400, body = ErrorBody)))]
pub async fn set_presence(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Json(req): Json<SetPresenceRequest>,
) -> Result<axum::Json<OwnPresence>, Error> {
    Ok(axum::Json(app.presence.set(me, req).await?))
}
