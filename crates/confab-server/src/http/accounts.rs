//! `/api/v1/auth/*`, `/api/v1/me*`, `/api/v1/ws-ticket`, `/api/v1/users/{id}`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use confab_proto::rest::{AuthResponse, LoginRequest, RefreshRequest, RegisterRequest, SessionList, User, WsTicket};
use confab_proto::{ErrorBody, SessionId, UserId};

use super::extract::{Authenticated, Client, Json, Path};
use crate::app::App;
use crate::error::Error;

/// Create a built-in account and sign in.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, body = AuthResponse),
        (status = 400, description = "invalid_username, invalid_password, invalid_parameter, invalid_json", body = ErrorBody),
        (status = 403, description = "registration_closed", body = ErrorBody),
        (status = 409, description = "username_taken", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody),
    ))]
pub async fn register(
    State(app): State<Arc<App>>,
    Client(client): Client,
    Json(req): Json<RegisterRequest>,
) -> Result<(StatusCode, axum::Json<AuthResponse>), Error> {
    let tokens = app.auth.register(req, &client).await?;
    Ok((StatusCode::CREATED, axum::Json(tokens)))
}

/// Sign in with a username and password; starts a new session.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = AuthResponse),
        (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 429, description = "rate_limited (per IP and per username)", body = ErrorBody),
    ))]
pub async fn login(
    State(app): State<Arc<App>>,
    Client(client): Client,
    Json(req): Json<LoginRequest>,
) -> Result<axum::Json<AuthResponse>, Error> {
    Ok(axum::Json(app.auth.login(req, &client).await?))
}

/// Exchange a refresh token for a new access and refresh token. Each refresh token works once;
/// presenting it again revokes the session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, body = AuthResponse),
        (status = 401, description = "invalid_refresh_token, refresh_token_reused", body = ErrorBody),
    ))]
pub async fn refresh(
    State(app): State<Arc<App>>,
    Json(req): Json<RefreshRequest>,
) -> Result<axum::Json<AuthResponse>, Error> {
    Ok(axum::Json(app.auth.refresh(req).await?))
}

/// End the current session: its tokens stop working and its WebSockets close (4009).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(State(app): State<Arc<App>>, Authenticated(me): Authenticated) -> Result<StatusCode, Error> {
    app.auth.logout(me).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn me(State(app): State<Arc<App>>, Authenticated(me): Authenticated) -> Result<axum::Json<User>, Error> {
    Ok(axum::Json(app.users.profile(me.user_id).await?))
}

/// The user's signed-in sessions (devices), newest first.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = SessionList), (status = 401, body = ErrorBody)))]
pub async fn sessions(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
) -> Result<axum::Json<SessionList>, Error> {
    Ok(axum::Json(app.auth.sessions(me).await?))
}

/// Sign out one of the user's sessions, closing its WebSockets.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{session_id}", tag = "auth", security(("bearer" = [])),
    params(("session_id" = String, Path)),
    responses((status = 204), (status = 404, description = "not one of the user's active sessions", body = ErrorBody)))]
pub async fn revoke_session(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Path(session_id): Path<SessionId>,
) -> Result<StatusCode, Error> {
    app.auth.revoke_session(me, session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A one-time ticket for opening the WebSocket as `/api/v1/ws?ticket=…`, valid 30 seconds.
#[utoipa::path(post, path = "/api/v1/ws-ticket", tag = "gateway", security(("bearer" = [])),
    responses(
        (status = 200, body = WsTicket), (status = 401, body = ErrorBody),
        (status = 429, description = "rate_limited: too many tickets from this user or IP; see `Retry-After`", body = ErrorBody),
    ))]
pub async fn ws_ticket(
    State(app): State<Arc<App>>,
    Authenticated(me): Authenticated,
    Client(client): Client,
) -> Result<axum::Json<WsTicket>, Error> {
    app.traffic.ticket(me.user_id, client.ip).await?;
    Ok(axum::Json(app.auth.issue_ticket(me).await))
}

/// A user's public profile.
#[utoipa::path(get, path = "/api/v1/users/{user_id}", tag = "users", security(("bearer" = [])),
    params(("user_id" = String, Path)),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
pub async fn user(
    State(app): State<Arc<App>>,
    Authenticated(_caller): Authenticated,
    Path(user_id): Path<UserId>,
) -> Result<axum::Json<User>, Error> {
    Ok(axum::Json(app.users.profile(user_id).await?))
}
