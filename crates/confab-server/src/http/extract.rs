//! Extractors that speak Confab's error format: a bad body, query or path answers
//! `{"error": {...}}` like every other refusal, and a handler's signature says whether it needs
//! an authenticated user ([`Authenticated`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use confab_proto::ErrorCode;
use serde::de::DeserializeOwned;

use crate::app::App;
use crate::auth::{ClientInfo, Principal};
use crate::error::Error;

/// The caller, authenticated from `Authorization: Bearer <token>`.
pub struct Authenticated(pub Principal);

impl FromRequestParts<Arc<App>> for Authenticated {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Error> {
        let token = bearer_token(parts)?;
        app.auth.authenticate(token).await.map(Authenticated)
    }
}

fn bearer_token(parts: &Parts) -> Result<&str, Error> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Err(Error::unauthenticated(ErrorCode::MissingToken, "missing Authorization: Bearer header"));
    };
    let value = value
        .to_str()
        .map_err(|_| Error::unauthenticated(ErrorCode::InvalidToken, "malformed Authorization header"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(Error::unauthenticated(ErrorCode::InvalidToken, "expected Authorization: Bearer <token>")),
    }
}

/// Client IP and user agent, for rate limits and the session list. The IP is the peer address:
/// Confab does not trust `X-Forwarded-For` unless a later configuration says it is behind a proxy.
pub struct Client(pub ClientInfo);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Client(ClientInfo { ip, user_agent }))
    }
}

/// A JSON body; refusals are `invalid_json` (400) or `payload_too_large` (413).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

fn json_error(rejection: JsonRejection) -> Error {
    match rejection {
        JsonRejection::BytesRejection(r) if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            Error::invalid(ErrorCode::PayloadTooLarge, "request body is too large")
        }
        JsonRejection::MissingJsonContentType(_) => {
            Error::invalid(ErrorCode::InvalidJson, "expected Content-Type: application/json")
        }
        other => Error::invalid(ErrorCode::InvalidJson, other.body_text()),
    }
}

/// Query parameters; a refusal is `invalid_parameter`.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|r: QueryRejection| Error::invalid(ErrorCode::InvalidParameter, r.body_text()))
    }
}

/// Path parameters. An id that does not parse names nothing, so it is `not_found`, like an id
/// that parses but does not exist.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|_: PathRejection| Error::NotFound("resource"))
    }
}
