//! `/api/v1/auth/*`, `/api/v1/me*`, `/api/v1/ws-ticket`, `/api/v1/users/{id}`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use confab_proto::rest::{
    AuthResponse, LoginRequest, RefreshBody, RefreshRequest, RegisterRequest, SessionList, User, WebSession, WsTicket,
};
use confab_proto::{ErrorBody, ErrorCode, SessionId, UserId};

use super::extract::{Authenticated, Client, Json, Path};
use crate::app::App;
use crate::auth::cookie;
use crate::error::Error;

/// The tokens as the caller asked for them: all in the body, or the refresh token in the cookie.
fn answer(app: &App, headers: &HeaderMap, status: StatusCode, tokens: AuthResponse) -> Response {
    if !cookie::is_web_client(headers) {
        return (status, axum::Json(tokens)).into_response();
    }
    let set = cookie::set(headers, &tokens.refresh_token, app.auth.refresh_token_ttl_secs());
    let body = WebSession {
        access_token: tokens.access_token,
        token_type: tokens.token_type,
        expires_in: tokens.expires_in,
        session_id: tokens.session_id,
        user: tokens.user,
    };
    (status, [(header::SET_COOKIE, set)], axum::Json(body)).into_response()
}

/// The refresh token of a refresh or logout: the body's, else the cookie's, which counts only with
/// the web client's header (a cross-site form can send the cookie's request, never the header).
fn presented_refresh_token(headers: &HeaderMap, in_body: Option<String>) -> Result<Option<String>, Error> {
    if let Some(token) = in_body {
        return Ok(Some(token));
    }
    match cookie::read(headers) {
        Some(token) if cookie::is_web_client(headers) => Ok(Some(token)),
        Some(_) => Err(Error::Forbidden(format!(
            "the session cookie is accepted only with the header {}: {}",
            cookie::WEB_CLIENT_HEADER,
            cookie::WEB_CLIENT_VALUE
        ))),
        None => Ok(None),
    }
}

/// A refusal that also makes the browser forget a cookie that no longer works.
fn forgetting_cookie(headers: &HeaderMap, error: Error) -> Response {
    let mut response = error.into_response();
    if cookie::is_web_client(headers) && cookie::read(headers).is_some() {
        response.headers_mut().insert(header::SET_COOKIE, cookie::clear(headers));
    }
    response
}

/// Create a built-in account and sign in. With `X-Confab-Client: web` the answer is a
/// `WebSession` and the refresh token is set as the `confab_refresh` cookie.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, body = AuthResponse, description = "the tokens; with `X-Confab-Client: web`, a `WebSession` and the `confab_refresh` cookie"),
        (status = 400, description = "invalid_username, invalid_password, invalid_parameter, invalid_json", body = ErrorBody),
        (status = 403, description = "registration_closed", body = ErrorBody),
        (status = 409, description = "username_taken", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody),
    ))]
pub async fn register(
    State(app): State<Arc<App>>,
    Client(client): Client,
    headers: HeaderMap,
    Json(req): Json<RegisterRequest>,
) -> Result<Response, Error> {
    let tokens = app.auth.register(req, &client).await?;
    Ok(answer(&app, &headers, StatusCode::CREATED, tokens))
}

/// Sign in with a username and password; starts a new session. With `X-Confab-Client: web`
/// the answer is a `WebSession` and the refresh token is set as the `confab_refresh` cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = AuthResponse, description = "the tokens; with `X-Confab-Client: web`, a `WebSession` and the `confab_refresh` cookie"),
        (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 429, description = "rate_limited (per IP and per username)", body = ErrorBody),
    ))]
pub async fn login(
    State(app): State<Arc<App>>,
    Client(client): Client,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> Result<Response, Error> {
    let tokens = app.auth.login(req, &client).await?;
    Ok(answer(&app, &headers, StatusCode::OK, tokens))
}

/// Exchange a refresh token for a new access and refresh token. Each refresh token works once;
/// presenting it again revokes the session. The token comes in the body, or (web client) in the
/// `confab_refresh` cookie together with `X-Confab-Client: web`; then the answer is a `WebSession`
/// and the new refresh token replaces the cookie.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses(
        (status = 200, body = AuthResponse, description = "the new pair; by cookie, a `WebSession` and a new `confab_refresh` cookie"),
        (status = 401, description = "invalid_refresh_token (also: none presented), refresh_token_reused", body = ErrorBody),
        (status = 403, description = "forbidden: the cookie came without `X-Confab-Client: web`", body = ErrorBody),
    ))]
pub async fn refresh(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Json(req): Json<RefreshBody>,
) -> Result<Response, Error> {
    let Some(refresh_token) = presented_refresh_token(&headers, req.refresh_token)? else {
        return Err(Error::unauthenticated(
            ErrorCode::InvalidRefreshToken,
            "no refresh token in the body or the cookie",
        ));
    };
    match app.auth.refresh(RefreshRequest { refresh_token }).await {
        Ok(tokens) => Ok(answer(&app, &headers, StatusCode::OK, tokens)),
        Err(e) => Ok(forgetting_cookie(&headers, e)),
    }
}

/// End the current session: its tokens stop working and its WebSockets close (4009). The session
/// is the bearer token's; without a valid one, the web client's `confab_refresh` cookie (with
/// `X-Confab-Client: web`) names it. The cookie is cleared either way.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204),
        (status = 401, body = ErrorBody),
        (status = 403, description = "forbidden: a host app's token, or the cookie without `X-Confab-Client: web`", body = ErrorBody),
    ))]
pub async fn logout(State(app): State<Arc<App>>, headers: HeaderMap, bearer: Result<Authenticated, Error>) -> Response {
    let result = match bearer {
        Ok(Authenticated(me)) => app.auth.logout(me).await,
        Err(refused) => match presented_refresh_token(&headers, None) {
            Ok(Some(token)) => app.auth.logout_by_refresh_token(token).await,
            Ok(None) => Err(refused),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) if cookie::is_web_client(&headers) => {
            (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie::clear(&headers))]).into_response()
        }
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => forgetting_cookie(&headers, e),
    }
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

/// Sign out everywhere: every session of the user ends, this one included, and their WebSockets
/// close (4009).
#[utoipa::path(delete, path = "/api/v1/me/sessions", tag = "auth", security(("bearer" = [])),
    responses((status = 204)))]
pub async fn revoke_all_sessions(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Authenticated(me): Authenticated,
) -> Result<Response, Error> {
    app.auth.revoke_all_sessions(me).await?;
    if cookie::is_web_client(&headers) {
        return Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie::clear(&headers))]).into_response());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
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
