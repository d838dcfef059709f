//! Signing in and out, the caller's own account, and its sessions (devices).

use confab_proto::SessionId;
use confab_proto::rest::{
    AuthResponse, LoginRequest, RefreshRequest, RegisterRequest, SessionList, UpdateProfileRequest, User, WsTicket,
};
use reqwest::Method;

use super::{Client, NO_BODY};
use crate::error::ClientError;

impl Client {
    /// `POST /api/v1/auth/register`: creates a built-in account and signs it in. This client is
    /// unchanged; see [`Client::sign_up`] for one that keeps the token.
    pub async fn register(&self, req: &RegisterRequest) -> Result<AuthResponse, ClientError> {
        self.call(Method::POST, "/api/v1/auth/register", Some(req)).await
    }

    /// `POST /api/v1/auth/login`: starts a new session.
    pub async fn login(&self, req: &LoginRequest) -> Result<AuthResponse, ClientError> {
        self.call(Method::POST, "/api/v1/auth/login", Some(req)).await
    }

    /// `POST /api/v1/auth/refresh`: trades a refresh token for a new pair. Each refresh token
    /// works once; using one twice revokes the whole session.
    pub async fn refresh(&self, req: &RefreshRequest) -> Result<AuthResponse, ClientError> {
        self.call(Method::POST, "/api/v1/auth/refresh", Some(req)).await
    }

    /// `POST /api/v1/auth/logout`: ends this client's session; its sockets close with 4009.
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.call_no_content(Method::POST, "/api/v1/auth/logout", NO_BODY).await
    }

    /// `GET /api/v1/me`: the signed-in user.
    pub async fn me(&self) -> Result<User, ClientError> {
        self.get("/api/v1/me").await
    }

    /// `PATCH /api/v1/me`: changes the caller's display name, avatar or bio.
    pub async fn update_profile(&self, req: &UpdateProfileRequest) -> Result<User, ClientError> {
        self.call(Method::PATCH, "/api/v1/me", Some(req)).await
    }

    /// `GET /api/v1/me/sessions`: the caller's signed-in devices.
    pub async fn sessions(&self) -> Result<SessionList, ClientError> {
        self.get("/api/v1/me/sessions").await
    }

    /// `DELETE /api/v1/me/sessions/{id}`: signs a device out; its sockets close with 4009.
    pub async fn revoke_session(&self, session: SessionId) -> Result<(), ClientError> {
        self.call_no_content(Method::DELETE, &format!("/api/v1/me/sessions/{session}"), NO_BODY).await
    }

    /// `POST /api/v1/ws-ticket`: a one-time credential for [`Client::connect_with_ticket`], for
    /// clients that cannot put a token in the handshake.
    pub async fn ws_ticket(&self) -> Result<WsTicket, ClientError> {
        self.call(Method::POST, "/api/v1/ws-ticket", NO_BODY).await
    }
}
