//! `/api/v1/bots*`: bot accounts of the caller's, and their tokens (docs/bots.md).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use confab_proto::bots::{Bot, BotCredentials, BotList, CreateBotRequest, UpdateBotRequest};
use confab_proto::{ErrorBody, UserId};

use super::extract::{Authenticated, Json, Path};
use crate::app::App;
use crate::error::Error;

/// Create a bot owned by the caller. The answer holds its token, shown only this once.
#[utoipa::path(post, path = "/api/v1/bots", tag = "bots", security(("bearer" = [])),
    request_body = CreateBotRequest,
    responses(
        (status = 201, body = BotCredentials),
        (status = 400, description = "invalid_username, invalid_parameter (display name)", body = ErrorBody),
        (status = 403, description = "forbidden: a bot may not create bots, or the caller owns all the bots they may", body = ErrorBody),
        (status = 409, description = "username_taken", body = ErrorBody),
    ))]
pub async fn create(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Json(req): Json<CreateBotRequest>,
) -> Result<(StatusCode, axum::Json<BotCredentials>), Error> {
    Ok((StatusCode::CREATED, axum::Json(app.bots.create(me, req).await?)))
}

/// The caller's bots.
#[utoipa::path(get, path = "/api/v1/bots", tag = "bots", security(("bearer" = [])),
    responses((status = 200, body = BotList), (status = 403, description = "forbidden: a bot has no bots", body = ErrorBody)))]
pub async fn list(State(app): State<Arc<App>>, Authenticated(me): Authenticated) -> Result<axum::Json<BotList>, Error> {
    Ok(axum::Json(app.bots.list(me).await?))
}

/// One of the caller's bots (or, for a bot, itself).
#[utoipa::path(get, path = "/api/v1/bots/{bot_id}", tag = "bots", security(("bearer" = [])),
    params(("bot_id" = String, Path)),
    responses((status = 200, body = Bot), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(bot): Path<UserId>,
) -> Result<axum::Json<Bot>, Error> {
    Ok(axum::Json(app.bots.get(me, bot).await?))
}

/// Change a bot's display name, or whether others may add it (its owner only).
#[utoipa::path(patch, path = "/api/v1/bots/{bot_id}", tag = "bots", security(("bearer" = [])),
    params(("bot_id" = String, Path)),
    request_body = UpdateBotRequest,
    responses(
        (status = 200, body = Bot),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn update(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(bot): Path<UserId>,
    Json(req): Json<UpdateBotRequest>,
) -> Result<axum::Json<Bot>, Error> {
    Ok(axum::Json(app.bots.update(me, bot, req).await?))
}

/// A new token for the bot (its owner only): the old one stops working at once and the bot's
/// open sockets close.
#[utoipa::path(post, path = "/api/v1/bots/{bot_id}/token", tag = "bots", security(("bearer" = [])),
    params(("bot_id" = String, Path)),
    responses((status = 200, body = BotCredentials), (status = 404, body = ErrorBody)))]
pub async fn rotate_token(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(bot): Path<UserId>,
) -> Result<axum::Json<BotCredentials>, Error> {
    Ok(axum::Json(app.bots.rotate_token(me, bot).await?))
}

/// Revoke the bot's token (its owner only): the bot is signed out until a new one is issued.
#[utoipa::path(delete, path = "/api/v1/bots/{bot_id}/token", tag = "bots", security(("bearer" = [])),
    params(("bot_id" = String, Path)),
    responses((status = 204, description = "revoked"), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(bot): Path<UserId>,
) -> Result<StatusCode, Error> {
    app.bots.revoke_token(me, bot).await?;
    Ok(StatusCode::NO_CONTENT)
}
