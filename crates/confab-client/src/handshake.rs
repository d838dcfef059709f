//! The WebSocket opening handshake: which credentials go where (subprotocol or `?ticket=`), which
//! headers a test may forge, and how a refusal becomes [`ClientError::Handshake`].

use confab_proto::{WS_BEARER_PREFIX, WS_SUBPROTOCOL};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::{ORIGIN, SEC_WEBSOCKET_PROTOCOL};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite};

use crate::error::ClientError;

/// The socket type of a [`crate::Connection`]. Only `ws://` is usable for now: `wss://` needs one
/// of tokio-tungstenite's TLS features, which this crate does not enable yet.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How to open a connection. [`crate::Client::connect`] fills it in; tests use it directly to
/// present bad credentials, a foreign `Origin`, or unusual subprotocols.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// An access token, offered as the subprotocol `bearer.<token>` next to `confab.v1`.
    /// Browsers cannot set `Authorization` on a WebSocket, so the gateway reads it from there.
    pub bearer: Option<String>,
    /// A one-time ticket from `POST /api/v1/ws-ticket`, sent as `?ticket=`.
    pub ticket: Option<String>,
    /// An `Origin` header, as a browser would send; the server checks it against its allowlist.
    pub origin: Option<String>,
    /// Replaces the offered subprotocols entirely (`bearer` is then ignored); an empty list
    /// offers none.
    pub subprotocols: Option<Vec<String>>,
}

/// Buffers of a few KiB instead of tungstenite's 128 KiB: the load generator opens tens of
/// thousands of connections, and larger frames still arrive (the read buffer grows as needed).
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4 * 1024).write_buffer_size(4 * 1024).max_message_size(Some(16 << 20))
}

/// Opens the socket and returns it with the subprotocol the server chose. The `ready` frame is
/// still unread.
pub(crate) async fn open(url: &str, options: &ConnectOptions) -> Result<(Socket, Option<String>), ClientError> {
    let request = handshake_request(url, options)?;
    let (socket, response) =
        match tokio_tungstenite::connect_async_with_config(request, Some(socket_config()), false).await {
            Ok(opened) => opened,
            Err(tungstenite::Error::Http(response)) => {
                let status = response.status().as_u16();
                let body = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default().into_owned();
                return Err(ClientError::Handshake { status, body });
            }
            Err(e) => return Err(e.into()),
        };
    let protocol = response.headers().get(SEC_WEBSOCKET_PROTOCOL).and_then(|v| v.to_str().ok()).map(str::to_owned);
    Ok((socket, protocol))
}

/// The upgrade request for `url` with the credentials and headers of `options`.
fn handshake_request(url: &str, options: &ConnectOptions) -> Result<Request, ClientError> {
    let url = match &options.ticket {
        Some(ticket) => with_ticket(url, ticket),
        None => url.to_owned(),
    };
    let mut request = url.as_str().into_client_request().map_err(|e| ClientError::InvalidUrl(format!("{url}: {e}")))?;
    let offered = offered_subprotocols(options);
    let headers = request.headers_mut();
    if !offered.is_empty() {
        let value = HeaderValue::from_str(&offered.join(", "))
            .map_err(|_| ClientError::InvalidOption("a subprotocol is not a valid header value".into()))?;
        headers.insert(SEC_WEBSOCKET_PROTOCOL, value);
    }
    if let Some(origin) = &options.origin {
        let value = HeaderValue::from_str(origin)
            .map_err(|_| ClientError::InvalidOption(format!("{origin:?} is not a valid Origin header")))?;
        headers.insert(ORIGIN, value);
    }
    Ok(request)
}

/// `url` with `ticket=<ticket>` added to its query. Tickets are opaque, so they are encoded.
fn with_ticket(url: &str, ticket: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}ticket={}", crate::encode_component(ticket))
}

fn offered_subprotocols(options: &ConnectOptions) -> Vec<String> {
    if let Some(subprotocols) = &options.subprotocols {
        return subprotocols.clone();
    }
    let mut offered = vec![WS_SUBPROTOCOL.to_owned()];
    if let Some(token) = &options.bearer {
        offered.push(format!("{WS_BEARER_PREFIX}{token}"));
    }
    offered
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "ws://127.0.0.1:8080/api/v1/ws";

    fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
        request.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn bearer_tokens_travel_as_a_subprotocol() {
        let options = ConnectOptions { bearer: Some("abc.def".into()), ..ConnectOptions::default() };
        let request = handshake_request(URL, &options).unwrap();
        assert_eq!(request.uri().to_string(), URL);
        assert_eq!(header(&request, "sec-websocket-protocol"), Some("confab.v1, bearer.abc.def"));
        assert_eq!(header(&request, "origin"), None);
    }

    #[test]
    fn tickets_travel_encoded_in_the_query() {
        let options = ConnectOptions { ticket: Some("a+b/c=".into()), ..ConnectOptions::default() };
        let request = handshake_request(URL, &options).unwrap();
        assert_eq!(request.uri().query(), Some("ticket=a%2Bb%2Fc%3D"));
        assert_eq!(header(&request, "sec-websocket-protocol"), Some("confab.v1"));
        assert_eq!(with_ticket("ws://h/ws?debug=1", "t"), "ws://h/ws?debug=1&ticket=t");
    }

    #[test]
    fn tests_may_forge_origin_and_subprotocols() {
        let options = ConnectOptions {
            bearer: Some("ignored".into()),
            origin: Some("https://evil.example".into()),
            subprotocols: Some(vec!["chat".into(), "superchat".into()]),
            ..ConnectOptions::default()
        };
        let request = handshake_request(URL, &options).unwrap();
        assert_eq!(header(&request, "sec-websocket-protocol"), Some("chat, superchat"));
        assert_eq!(header(&request, "origin"), Some("https://evil.example"));

        let none = ConnectOptions { subprotocols: Some(Vec::new()), ..ConnectOptions::default() };
        assert_eq!(header(&handshake_request(URL, &none).unwrap(), "sec-websocket-protocol"), None);
    }

    #[test]
    fn unsendable_options_are_refused_before_connecting() {
        let options = ConnectOptions { origin: Some("https://a\nb".into()), ..ConnectOptions::default() };
        assert!(matches!(handshake_request(URL, &options), Err(ClientError::InvalidOption(_))));
        assert!(matches!(handshake_request("not a url", &ConnectOptions::default()), Err(ClientError::InvalidUrl(_))));
    }
}
