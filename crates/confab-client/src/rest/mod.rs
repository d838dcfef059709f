//! The REST half of the SDK: [`Client`], with one method per endpoint, typed with
//! `confab-proto`. The endpoints are grouped by domain in the submodules; this one holds the
//! client itself and the plumbing they share.

mod accounts;
mod bots;
mod conversations;
mod expression;
mod invitations;
mod media;
mod messages;
mod notifications;
mod people;

use std::sync::{Arc, Once};

use confab_proto::rest::{AuthResponse, RegisterRequest};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, RequestBuilder, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ClientError;
use crate::gateway::Connection;
use crate::handshake::ConnectOptions;
use crate::response::{self, RawBody, RawResponse};
pub use media::{DEFAULT_CHUNK, NewUpload};

/// A handle on a Confab server, signed in or not. Cloning is cheap and shares the connection
/// pool, so one `Client` per server and [`Client::with_token`] per user is the intended use.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    /// Normalized, without a trailing slash: paths are appended as they are.
    base_url: Arc<str>,
    token: Option<Arc<str>>,
}

/// For calls without a request body.
const NO_BODY: Option<&()> = None;

static CRYPTO_PROVIDER: Once = Once::new();

impl Client {
    /// A client for the server at `base_url` (`http://host:port`, with or without a trailing
    /// slash, optionally with a path prefix when the server sits behind a proxy).
    pub fn new(base_url: &str) -> Result<Client, ClientError> {
        let base_url = normalize_base_url(base_url)?;
        // reqwest is built with `rustls-no-provider` and panics without a provider; ring is the
        // one compiled in. Another crate may have installed it already, which is just as good.
        CRYPTO_PROVIDER.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let http =
            reqwest::Client::builder().user_agent(concat!("confab-client/", env!("CARGO_PKG_VERSION"))).build()?;
        Ok(Client { http, base_url: base_url.into(), token: None })
    }

    /// Registers an account and returns a client signed in as it, with the tokens.
    pub async fn sign_up(
        base_url: &str,
        username: &str,
        password: &str,
    ) -> Result<(Client, AuthResponse), ClientError> {
        let client = Client::new(base_url)?;
        let auth = client
            .register(&RegisterRequest { username: username.into(), password: password.into(), display_name: None })
            .await?;
        Ok((client.with_token(&auth.access_token), auth))
    }

    /// The same client, authenticated with `access_token` (Confab's own or the host app's).
    pub fn with_token(&self, access_token: &str) -> Client {
        Client { token: Some(access_token.into()), ..self.clone() }
    }

    /// The access token this client sends, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The server's base URL, normalized and without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The WebSocket URL of this server (`ws://…/api/v1/ws`; `wss://` for an `https` base).
    pub fn ws_url(&self) -> String {
        websocket_url(&self.base_url)
    }

    /// Opens the WebSocket, authenticated with this client's token as a subprotocol.
    pub async fn connect(&self) -> Result<Connection, ClientError> {
        let bearer = self.token().map(str::to_owned);
        Connection::open(&self.ws_url(), ConnectOptions { bearer, ..ConnectOptions::default() }).await
    }

    /// Opens the WebSocket with a one-time ticket from [`Client::ws_ticket`], as a browser does.
    pub async fn connect_with_ticket(&self, ticket: &str) -> Result<Connection, ClientError> {
        let options = ConnectOptions { ticket: Some(ticket.to_owned()), ..ConnectOptions::default() };
        Connection::open(&self.ws_url(), options).await
    }

    /// Any request to `path` (`/api/v1/…`), with any body, answered whatever the status: for
    /// tests of what the server does with malformed input. Carries the token like other calls.
    pub async fn raw(&self, method: Method, path: &str, body: Option<RawBody>) -> Result<RawResponse, ClientError> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, body.content_type).body(body.bytes);
        }
        response::raw(request.send().await?).await
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base_url));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// `GET path`, decoded.
    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call(Method::GET, path, NO_BODY).await
    }

    /// `GET path?query`, decoded.
    async fn get_query<Q: Serialize, T: DeserializeOwned>(&self, path: &str, query: &Q) -> Result<T, ClientError> {
        response::decode(self.request(Method::GET, path).query(query).send().await?).await
    }

    /// A call with an optional JSON body and a JSON answer.
    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        response::decode(self.with_body(method, path, body).send().await?).await
    }

    /// A call with an optional JSON body and no answer body (`204 No Content`).
    async fn call_no_content<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(), ClientError> {
        response::expect_success(self.with_body(method, path, body).send().await?).await
    }

    fn with_body<B: Serialize>(&self, method: Method, path: &str, body: Option<&B>) -> RequestBuilder {
        let request = self.request(method, path);
        match body {
            Some(body) => request.json(body),
            None => request,
        }
    }
}

/// Checks that `base_url` is an absolute http(s) URL that paths can be appended to, and returns
/// it normalized (lowercase scheme and host) without a trailing slash.
fn normalize_base_url(base_url: &str) -> Result<String, ClientError> {
    let invalid = |why: &str| ClientError::InvalidUrl(format!("{base_url:?}: {why}"));
    let url = Url::parse(base_url.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("not an http(s) URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a base URL takes no query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials go in tokens, not in the URL"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// `http` becomes `ws` and `https` becomes `wss`; the rest of the base URL is kept.
fn websocket_url(base_url: &str) -> String {
    match base_url.strip_prefix("https://") {
        Some(rest) => format!("wss://{rest}/api/v1/ws"),
        None => format!("ws://{}/api/v1/ws", base_url.strip_prefix("http://").unwrap_or(base_url)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_work_with_or_without_trailing_slash() {
        for given in ["http://127.0.0.1:8080", "http://127.0.0.1:8080/", " HTTP://127.0.0.1:8080// "] {
            let client = Client::new(given).unwrap();
            assert_eq!(client.base_url(), "http://127.0.0.1:8080", "from {given:?}");
            assert_eq!(client.ws_url(), "ws://127.0.0.1:8080/api/v1/ws");
        }
    }

    #[test]
    fn websocket_urls_follow_the_scheme_and_keep_a_path_prefix() {
        assert_eq!(Client::new("https://Chat.Example").unwrap().ws_url(), "wss://chat.example/api/v1/ws");
        assert_eq!(Client::new("http://proxy/confab/").unwrap().ws_url(), "ws://proxy/confab/api/v1/ws");
    }

    #[test]
    fn unusable_base_urls_are_refused() {
        for bad in ["ftp://x", "127.0.0.1:8080", "", "http://", "http://h/?a=1", "http://h/#top", "http://u:p@h"] {
            assert!(matches!(Client::new(bad), Err(ClientError::InvalidUrl(_))), "{bad:?} was accepted");
        }
    }

    #[test]
    fn tokens_do_not_leak_between_clones() {
        let anonymous = Client::new("http://h").unwrap();
        let signed_in = anonymous.with_token("t");
        assert_eq!(signed_in.token(), Some("t"));
        assert_eq!(anonymous.token(), None);
    }
}
