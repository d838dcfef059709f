//! A Socket.IO user of the load engine over the WebSocket transport: Engine.IO v4 packets, one
//! per WebSocket text frame (`0` open, `2`/`3` ping/pong, `4` message), carrying Socket.IO v5
//! packets (`0` connect, `2` event, `4` connect error). The user names the room it listens on in
//! its connect payload and sends `m` events `[room, body]`; the app relays each to the room.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::dial::Dialer;
use crate::stats::Tally;
use crate::traffic::{Action, Inbound, LoadClient, parse_stamp};
use crate::wire::socket_config;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

pub struct SocketIoUser {
    ws: WebSocketStream<TcpStream>,
    /// The room this user sends to.
    target: String,
}

/// What one WebSocket frame from the app says.
#[derive(Debug, PartialEq, Eq)]
enum Packet<'a> {
    /// Engine.IO `open`: the handshake's session parameters.
    Open,
    /// Engine.IO `ping`, to be answered with a pong.
    Ping,
    /// Socket.IO `connect`: the namespace accepted us.
    Connected,
    /// Socket.IO `connect_error`, with its payload.
    Refused(&'a str),
    /// An `m` event: the body relayed to us.
    Event(&'a [u8]),
    /// Engine.IO `close`.
    Close,
    Other,
}

/// The prefix of an `m` event relayed by the app: `42["m","`, then the body (bench bodies need
/// no JSON escaping), then `"]`.
const EVENT_PREFIX: &str = "42[\"m\",\"";

fn parse(frame: &str) -> Packet<'_> {
    if let Some(rest) = frame.strip_prefix(EVENT_PREFIX) {
        return Packet::Event(rest.strip_suffix("\"]").unwrap_or(rest).as_bytes());
    }
    match frame.as_bytes() {
        [b'0', ..] => Packet::Open,
        [b'2'] => Packet::Ping,
        [b'1', ..] => Packet::Close,
        [b'4', b'0', ..] => Packet::Connected,
        [b'4', b'4', ..] => Packet::Refused(&frame[2..]),
        _ => Packet::Other,
    }
}

/// `42["m","<room>","<body>"]`: an event to the app. Room and body are the bench's own ASCII.
fn event(room: &str, body: &str) -> String {
    format!("42[\"m\",\"{room}\",\"{body}\"]")
}

impl SocketIoUser {
    /// Connects, joins `listen` and returns once the app has accepted the connection (it joins
    /// the room before it answers).
    pub async fn open(dialer: &Dialer, index: usize, listen: &str, target: String) -> Result<SocketIoUser, String> {
        tokio::time::timeout(CONNECT_TIMEOUT, SocketIoUser::open_untimed(dialer, index, listen, target))
            .await
            .unwrap_or_else(|_| Err("connect_timeout".into()))
    }

    async fn open_untimed(dialer: &Dialer, index: usize, listen: &str, target: String) -> Result<SocketIoUser, String> {
        let stream = dialer.connect(index).await.map_err(|e| format!("tcp_{:?}", e.kind()).to_lowercase())?;
        let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", dialer.server);
        let request = url.into_client_request().map_err(|e| e.to_string())?;
        let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(socket_config()))
            .await
            .map_err(|_| "websocket_error".to_string())?;
        let mut user = SocketIoUser { ws, target };
        let mut asked = false;
        loop {
            let frame = user.next_frame().await?;
            match parse(&frame) {
                Packet::Open if !asked => {
                    asked = true;
                    user.send(format!("40{{\"listen\":\"{listen}\"}}")).await?;
                }
                Packet::Connected => return Ok(user),
                Packet::Refused(why) => return Err(format!("socketio_refused: {why}")),
                Packet::Close => return Err("closed_at_connect".into()),
                _ => continue,
            }
        }
    }

    async fn send(&mut self, frame: String) -> Result<(), String> {
        self.ws.send(Message::text(frame)).await.map_err(|_| "send_failed".to_string())
    }

    /// The next text frame; pings are answered here. Cancel-safe: a frame is handled in the poll
    /// that reads it.
    async fn next_frame(&mut self) -> Result<String, String> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) if text.as_str() == "2" => self.send("3".into()).await?,
                Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
                Some(Ok(Message::Close(frame))) => {
                    return Err(frame.map_or("close_none".into(), |f| format!("close_{}", u16::from(f.code))));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) => return Err("ws_error".into()),
                None => return Err("eof".into()),
            }
        }
    }
}

impl LoadClient for SocketIoUser {
    async fn next_inbound(&mut self) -> Inbound {
        match self.next_frame().await {
            Ok(frame) => match parse(&frame) {
                Packet::Event(body) => parse_stamp(body).map_or(Inbound::Other, Inbound::Delivery),
                Packet::Close => Inbound::Closed("socketio_close".into()),
                _ => Inbound::Other,
            },
            Err(reason) => Inbound::Closed(reason),
        }
    }

    async fn perform(&mut self, action: Action, body: &str, _: &mut Tally) -> Result<(), String> {
        let Action::Send { .. } = action else { return Err("unsupported_on_socketio".into()) };
        let frame = event(&self.target, body);
        self.send(frame).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_frames_are_told_apart() {
        assert_eq!(parse("0{\"sid\":\"x\",\"pingInterval\":25000}"), Packet::Open);
        assert_eq!(parse("2"), Packet::Ping);
        assert_eq!(parse("40{\"sid\":\"y\"}"), Packet::Connected);
        assert_eq!(parse("44{\"message\":\"no\"}"), Packet::Refused("{\"message\":\"no\"}"));
        assert_eq!(parse("42[\"m\",\"t=5 s=1 xx\"]"), Packet::Event(b"t=5 s=1 xx"));
        assert_eq!(parse("1"), Packet::Close);
        assert_eq!(parse("42[\"other\",1]"), Packet::Other);
    }

    #[test]
    fn events_name_the_room_then_the_body() {
        assert_eq!(event("g.1", "t=5 s=1 xx"), "42[\"m\",\"g.1\",\"t=5 s=1 xx\"]");
        assert_eq!(
            parse_stamp(match parse("42[\"m\",\"t=5 s=1 xx\"]") {
                Packet::Event(body) => body,
                other => panic!("{other:?}"),
            }),
            Some(crate::traffic::Stamp { intended_us: 5, sender: 1 })
        );
    }
}
