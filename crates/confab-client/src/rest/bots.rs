//! Bot accounts: create one, list, change, rotate or revoke its token. A bot then signs in with
//! its token: `Client::new(url)?.with_token(&credentials.token)`, and `Connection` as any user.

use confab_proto::UserId;
use confab_proto::bots::{Bot, BotCredentials, BotList, CreateBotRequest, UpdateBotRequest};
use reqwest::Method;

use super::{Client, NO_BODY};
use crate::error::ClientError;

impl Client {
    /// `POST /api/v1/bots`: a bot owned by the caller, with its token (shown only here).
    pub async fn create_bot(&self, req: &CreateBotRequest) -> Result<BotCredentials, ClientError> {
        self.call(Method::POST, "/api/v1/bots", Some(req)).await
    }

    /// `GET /api/v1/bots`: the caller's bots.
    pub async fn bots(&self) -> Result<BotList, ClientError> {
        self.get("/api/v1/bots").await
    }

    /// `GET /api/v1/bots/{bot}`: one of the caller's bots, or (for a bot) itself.
    pub async fn bot(&self, bot: UserId) -> Result<Bot, ClientError> {
        self.get(&format!("/api/v1/bots/{bot}")).await
    }

    /// `PATCH /api/v1/bots/{bot}`.
    pub async fn update_bot(&self, bot: UserId, req: &UpdateBotRequest) -> Result<Bot, ClientError> {
        self.call(Method::PATCH, &format!("/api/v1/bots/{bot}"), Some(req)).await
    }

    /// `POST /api/v1/bots/{bot}/token`: a new token; the old one stops working.
    pub async fn rotate_bot_token(&self, bot: UserId) -> Result<BotCredentials, ClientError> {
        self.call(Method::POST, &format!("/api/v1/bots/{bot}/token"), NO_BODY).await
    }

    /// `DELETE /api/v1/bots/{bot}/token`: signs the bot out until a new token is issued.
    pub async fn revoke_bot_token(&self, bot: UserId) -> Result<(), ClientError> {
        self.call_no_content(Method::DELETE, &format!("/api/v1/bots/{bot}/token"), NO_BODY).await
    }
}
