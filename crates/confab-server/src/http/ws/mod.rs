//! The WebSocket gateway at `/api/v1/ws`: the handshake (origin check, authentication, limits)
//! here; the life of a connection in `connection`; commands in `commands`.

/// Public so that the micro-benchmarks (`benches/message_path.rs`) can time frame decoding.
pub mod commands;
mod connection;
mod origin;

use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use confab_proto::{ErrorBody, ErrorCode, WS_BEARER_PREFIX, WS_SUBPROTOCOL};
use serde::Deserialize;

use super::extract::{Client, Query};
use crate::app::App;
use crate::error::Error;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// One-time ticket from `POST /api/v1/ws-ticket`, for clients that cannot send the token as
    /// a subprotocol.
    ticket: Option<String>,
}

/// Open the WebSocket. Authenticate with the subprotocols `confab.v1, bearer.<access_token>`
/// (the server answers `confab.v1`) or with `?ticket=`. Frames are described in docs/protocol.md.
#[utoipa::path(get, path = "/api/v1/ws", tag = "gateway", params(WsQuery),
    responses(
        (status = 101, description = "switching protocols; the first frame is `ready`"),
        (status = 400, description = "not a WebSocket handshake, or confab.v1 not offered", body = ErrorBody),
        (status = 401, description = "missing_token, invalid_token, token_expired, invalid_ticket, session_revoked, …", body = ErrorBody),
        (status = 403, description = "origin_not_allowed", body = ErrorBody),
        (status = 429, description = "rate_limited: this user or IP has as many sockets open as allowed", body = ErrorBody),
    ))]
pub async fn upgrade(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Client(client): Client,
    Query(query): Query<WsQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match handshake(&app, &headers, client.ip, query, upgrade).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn handshake(
    app: &Arc<App>,
    headers: &HeaderMap,
    ip: Option<std::net::IpAddr>,
    query: WsQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, Error> {
    if !origin::allowed(headers, &app.config.gateway.allowed_origins) {
        return Err(Error::OriginNotAllowed);
    }
    let upgrade =
        upgrade.map_err(|r| Error::invalid(ErrorCode::InvalidParameter, format!("not a WebSocket handshake: {r}")))?;

    let offered: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let bearer = offered.iter().find_map(|p| p.strip_prefix(WS_BEARER_PREFIX));
    if !offered.is_empty() && !offered.contains(&WS_SUBPROTOCOL) {
        // The server must answer with one of the offered protocols, and never with the token.
        return Err(Error::invalid(ErrorCode::InvalidParameter, "offer the confab.v1 subprotocol"));
    }
    let principal = match (bearer, query.ticket.as_deref()) {
        (Some(token), _) => app.auth.authenticate(token).await?,
        (None, Some(ticket)) => app.auth.redeem_ticket(ticket).await?,
        (None, None) => {
            return Err(Error::unauthenticated(
                ErrorCode::MissingToken,
                "authenticate with the subprotocols \"confab.v1, bearer.<token>\" or ?ticket=",
            ));
        }
    };
    let user = app.users.profile(principal.user_id).await?;
    // Held for the life of the socket; dropped with the upgrade callback if the upgrade fails.
    let permit = app.traffic.open_socket(principal.user_id, ip)?;

    let gateway = &app.config.gateway;
    let app = app.clone();
    Ok(upgrade
        .protocols([WS_SUBPROTOCOL])
        .read_buffer_size(gateway.socket_buffer_bytes)
        .write_buffer_size(gateway.socket_buffer_bytes)
        .max_message_size(gateway.max_frame_bytes)
        .max_frame_size(gateway.max_frame_bytes)
        .on_upgrade(move |socket| connection::run(socket, app, principal, user, ip, permit)))
}

/// Largest message the echo endpoint takes: Autobahn's 9.* cases send up to 16 MiB.
#[cfg(feature = "ws-echo")]
const ECHO_MAX_BYTES: usize = 32 << 20;

/// `GET /ws-echo`, only in builds with the `ws-echo` feature: no authentication, every data
/// frame sent back, through the gateway's own socket code (`connection::echo`).
#[cfg(feature = "ws-echo")]
pub async fn echo(State(app): State<Arc<App>>, upgrade: WebSocketUpgrade) -> Response {
    let buffer = app.config.gateway.socket_buffer_bytes;
    upgrade
        .read_buffer_size(buffer)
        .write_buffer_size(buffer)
        .max_message_size(ECHO_MAX_BYTES)
        .max_frame_size(ECHO_MAX_BYTES)
        .on_upgrade(move |socket| connection::echo(socket, app))
}
