//! Extractors that speak Confab's error format: a bad body, query or path answers
//! `{"error": {...}}` like every other refusal, and a handler's signature says whether it needs
//! an authenticated user ([`Authenticated`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
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

/// A JSON object body; refusals are `unsupported_media_type` (415), `payload_too_large` (413)
/// or `invalid_json` (400).
///
/// Every request body is an object: serde would also build a struct from an array of its
/// fields in order (`["x"]` as `{"display_name": "x"}`), so anything else is refused before
/// deserializing.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        if !is_json(req.headers()) {
            return Err(Error::invalid(ErrorCode::UnsupportedMediaType, "expected Content-Type: application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Error::invalid(ErrorCode::PayloadTooLarge, "request body is too large"),
            _ => Error::invalid(ErrorCode::InvalidJson, r.body_text()),
        })?;
        if bytes.trim_ascii_start().first() != Some(&b'{') {
            return Err(Error::invalid(ErrorCode::InvalidJson, "the request body must be a JSON object"));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(Error::invalid(ErrorCode::InvalidJson, rejection.body_text())),
        }
    }
}

/// `application/json`, or a `+json` type, parameters allowed (as axum's own check).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
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
