//! The lean Confab client of the hot loops: one WebSocket over tokio-tungstenite with small
//! buffers, frames written by hand and read into borrowed views, so that thousands of sessions
//! fit in the bench and the bench is not what limits the server. Setup (REST) uses the SDK.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::Duration;

use confab_proto::{WS_BEARER_PREFIX, WS_SUBPROTOCOL};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::SEC_WEBSOCKET_PROTOCOL;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::dial::Dialer;
use crate::traffic::{Inbound, parse_stamp};

/// Handshake and `ready` together; a server that takes longer is counted as a failed connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// Read and write buffers of a few KiB instead of tungstenite's 128 KiB (zero-filled per socket):
/// bench frames are small, and a larger frame still arrives (the read buffer grows).
pub fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4 * 1024).write_buffer_size(4 * 1024).max_message_size(Some(16 << 20))
}

/// An authenticated gateway session.
pub struct Session {
    ws: WebSocketStream<TcpStream>,
    /// From the `ready` frame.
    pub user_id: String,
}

/// Why a session could not be opened, by kind for the report.
#[derive(Debug)]
pub enum ConnectError {
    Tcp(std::io::Error),
    /// The server refused the upgrade with this HTTP status.
    Refused(u16),
    WebSocket(tungstenite::Error),
    /// The first frame was not `ready`, or the socket closed first.
    NoReady,
    Timeout,
}

impl ConnectError {
    pub fn kind(&self) -> String {
        match self {
            ConnectError::Tcp(e) => format!("tcp_{:?}", e.kind()).to_lowercase(),
            ConnectError::Refused(status) => format!("http_{status}"),
            ConnectError::WebSocket(_) => "websocket_error".into(),
            ConnectError::NoReady => "no_ready".into(),
            ConnectError::Timeout => "connect_timeout".into(),
        }
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Tcp(e) => write!(f, "tcp: {e}"),
            ConnectError::WebSocket(e) => write!(f, "websocket: {e}"),
            other => f.write_str(&other.kind()),
        }
    }
}

impl Session {
    /// Opens connection number `index` (which picks the source address) as the bearer of `token`
    /// and waits for `ready`.
    pub async fn open(dialer: &Dialer, index: usize, token: &str) -> Result<Session, ConnectError> {
        tokio::time::timeout(CONNECT_TIMEOUT, Session::open_untimed(dialer, index, token))
            .await
            .unwrap_or(Err(ConnectError::Timeout))
    }

    async fn open_untimed(dialer: &Dialer, index: usize, token: &str) -> Result<Session, ConnectError> {
        let stream = dialer.connect(index).await.map_err(ConnectError::Tcp)?;
        let mut request =
            format!("ws://{}/api/v1/ws", dialer.server).into_client_request().map_err(ConnectError::WebSocket)?;
        let protocols = format!("{WS_SUBPROTOCOL}, {WS_BEARER_PREFIX}{token}");
        let protocols = HeaderValue::from_str(&protocols).map_err(|_| ConnectError::Refused(0))?;
        request.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, protocols);
        let (mut ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(socket_config()))
            .await
            .map_err(|e| match e {
                tungstenite::Error::Http(response) => ConnectError::Refused(response.status().as_u16()),
                other => ConnectError::WebSocket(other),
            })?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    return match ready_user(&text) {
                        Some(user_id) => Ok(Session { ws, user_id }),
                        None => Err(ConnectError::NoReady),
                    };
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Err(e)) => return Err(ConnectError::WebSocket(e)),
                _ => return Err(ConnectError::NoReady),
            }
        }
    }

    /// `message.send` number `n` of this user, with an id so that the server answers with an
    /// `ack`; `n` also makes the `client_id`, so it must not repeat for the user.
    pub async fn send_message(&mut self, n: u64, conversation_id: &str, body: &str) -> Result<(), tungstenite::Error> {
        let frame = send_frame(n, conversation_id, body);
        self.ws.send(Message::text(frame)).await
    }

    /// `typing`, without an id: nothing comes back unless it fails.
    pub async fn send_typing(&mut self, conversation_id: &str) -> Result<(), tungstenite::Error> {
        let frame = format!(r#"{{"type":"typing","data":{{"conversation_id":"{conversation_id}"}}}}"#);
        self.ws.send(Message::text(frame)).await
    }

    /// Sends any prepared JSON frame (the history scenario's `sync`).
    pub async fn send_raw(&mut self, frame: String) -> Result<(), tungstenite::Error> {
        self.ws.send(Message::text(frame)).await
    }

    /// The next text frame as it came (pings are answered underneath), or the reason the
    /// connection ended.
    pub async fn next_text(&mut self) -> Result<tungstenite::Utf8Bytes, String> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => return Ok(text),
                Some(Ok(Message::Close(frame))) => {
                    return Err(frame.map_or("close_none".into(), |f| format!("close_{}", u16::from(f.code))));
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(format!("ws_error_{}", error_kind(&e))),
                None => return Err("eof".into()),
            }
        }
    }

    /// The next frame, reduced to what the load engine counts. Cancel-safe.
    pub async fn next_inbound(&mut self) -> Inbound {
        match self.next_text().await {
            Ok(text) => classify(&text),
            Err(reason) => Inbound::Closed(reason),
        }
    }

    /// A normal close (1000), waiting briefly for the server's answer.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), async { while self.ws.next().await.is_some() {} }).await;
    }
}

fn error_kind(e: &tungstenite::Error) -> &'static str {
    match e {
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => "closed",
        tungstenite::Error::Io(_) => "io",
        tungstenite::Error::Protocol(_) => "protocol",
        tungstenite::Error::Capacity(_) => "capacity",
        _ => "other",
    }
}

/// `{"type":"message.send","id":"<n>","data":{…}}`. The conversation id is digits and the
/// body is a stamped bench body, so neither needs JSON escaping.
fn send_frame(id: u64, conversation_id: &str, body: &str) -> String {
    debug_assert!(body.bytes().all(|b| b != b'"' && b != b'\\' && b >= 0x20), "bench bodies need no escaping");
    let mut frame = String::with_capacity(body.len() + 128);
    let _ = write!(
        frame,
        r#"{{"type":"message.send","id":"{id}","data":{{"conversation_id":"{conversation_id}","body":"{body}","client_id":"m{id}"}}}}"#
    );
    frame
}

/// Only the fields the bench reads; serde skips the rest without building it.
#[derive(Deserialize)]
struct FrameView<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    data: Option<DataView<'a>>,
}

#[derive(Deserialize, Default)]
struct DataView<'a> {
    #[serde(default, borrow)]
    body: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    user: Option<UserView<'a>>,
}

#[derive(Deserialize)]
struct UserView<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
}

/// What a server frame means to the load engine. Frames it cannot read are `Other`, never a panic.
pub fn classify(text: &str) -> Inbound {
    let Ok(frame) = serde_json::from_str::<FrameView>(text) else {
        return Inbound::Other;
    };
    let data = frame.data.unwrap_or_default();
    let stamp = || data.body.as_deref().and_then(|body| parse_stamp(body.as_bytes()));
    match frame.kind.as_ref() {
        "message.created" => stamp().map_or(Inbound::Other, Inbound::Delivery),
        "ack" => Inbound::Ack(stamp()),
        "typing" => Inbound::Typing,
        "error" => Inbound::Error(data.code.map_or("error".into(), Cow::into_owned)),
        _ => Inbound::Other,
    }
}

/// The user id of a `ready` frame.
fn ready_user(text: &str) -> Option<String> {
    let frame: FrameView = serde_json::from_str(text).ok()?;
    if frame.kind != "ready" {
        return None;
    }
    Some(frame.data?.user?.id.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::Stamp;

    #[test]
    fn send_frames_are_the_protocols_message_send() {
        let frame = send_frame(7, "3835", "t=1 s=2 xx");
        let value: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(value["type"], "message.send");
        assert_eq!(value["id"], "7");
        assert_eq!(value["data"]["conversation_id"], "3835");
        assert_eq!(value["data"]["body"], "t=1 s=2 xx");
        assert_eq!(value["data"]["client_id"], "m7");
    }

    #[test]
    fn server_frames_are_classified() {
        let created = r#"{"type":"message.created","data":{"id":"1","seq":3,"sender_id":"9","body":"t=5 s=1 xxx","reactions":[]}}"#;
        assert_eq!(classify(created), Inbound::Delivery(Stamp { intended_us: 5, sender: 1 }));
        let ack = r#"{"type":"ack","id":"4","data":{"id":"1","body":"t=6 s=2 x"}}"#;
        assert_eq!(classify(ack), Inbound::Ack(Some(Stamp { intended_us: 6, sender: 2 })));
        assert_eq!(classify(r#"{"type":"ack","id":"5","data":{}}"#), Inbound::Ack(None));
        let error = r#"{"type":"error","id":"4","data":{"code":"not_found","message":"no"}}"#;
        assert_eq!(classify(error), Inbound::Error("not_found".into()));
        let system =
            r#"{"type":"message.created","data":{"kind":"system","body":"","system":{"action":"group_created"}}}"#;
        assert_eq!(classify(system), Inbound::Other);
        assert_eq!(classify(r#"{"type":"typing","data":{"user_id":"1"}}"#), Inbound::Typing);
        assert_eq!(classify("not json"), Inbound::Other);
        assert_eq!(classify(r#"{"type":"presence.updated","data":{"user":"odd shape"}}"#), Inbound::Other);
    }

    #[test]
    fn ready_names_the_user() {
        let ready = r#"{"type":"ready","data":{"user":{"id":"383","username":"b1"},"heartbeat_ms":25000}}"#;
        assert_eq!(ready_user(ready).as_deref(), Some("383"));
        assert_eq!(ready_user(r#"{"type":"ack","data":{}}"#), None);
    }
}
