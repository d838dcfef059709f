//! PLACEHOLDER until the external-auth module lands (being written in parallel).
use crate::config::{ConfigError, ExternalAuthConfig};
use crate::error::Error;
pub struct ExternalIdentity {
    pub issuer: String,
    pub subject: String,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub expires_at: Option<i64>,
}
pub struct ExternalAuth;
impl ExternalAuth {
    pub fn new(_config: &ExternalAuthConfig, _http: reqwest::Client) -> Result<ExternalAuth, ConfigError> {
        Ok(ExternalAuth)
    }
    pub async fn verify(&self, _token: &str) -> Result<ExternalIdentity, Error> {
        Err(Error::Internal("external auth not built yet".into()))
    }
}
