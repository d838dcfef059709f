//! A NATS user of the load engine: one WebSocket, subscribed to its own subject (direct) or
//! its group's (fan-out), publishing to its target subject.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::proto::{self, Op, Parser};
use crate::dial::Dialer;
use crate::stats::Tally;
use crate::traffic::{Action, Inbound, LoadClient, parse_stamp};
use crate::wire::socket_config;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

pub struct NatsUser {
    ws: WebSocketStream<TcpStream>,
    parser: Parser,
    /// Subjects this user publishes to, by target index.
    targets: Vec<String>,
    out: Vec<u8>,
}

impl NatsUser {
    /// Connects, subscribes to `listen`, and waits for the `PONG` that proves the subscription
    /// is registered (NATS handles a connection's operations in order).
    pub async fn open(dialer: &Dialer, index: usize, listen: &str, target: String) -> Result<NatsUser, String> {
        tokio::time::timeout(CONNECT_TIMEOUT, NatsUser::open_untimed(dialer, index, listen, target))
            .await
            .unwrap_or_else(|_| Err("connect_timeout".into()))
    }

    async fn open_untimed(dialer: &Dialer, index: usize, listen: &str, target: String) -> Result<NatsUser, String> {
        let stream = dialer.connect(index).await.map_err(|e| format!("tcp_{:?}", e.kind()).to_lowercase())?;
        let request = format!("ws://{}/", dialer.server).into_client_request().map_err(|e| e.to_string())?;
        let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(socket_config()))
            .await
            .map_err(|_| "websocket_error".to_string())?;
        let mut user = NatsUser { ws, parser: Parser::default(), targets: vec![target], out: Vec::new() };
        user.out.extend_from_slice(proto::CONNECT);
        proto::sub(&mut user.out, listen, 1);
        user.out.extend_from_slice(proto::PING);
        user.flush().await.map_err(|_| "send_failed".to_string())?;
        loop {
            match user.next_op().await? {
                Op::Pong => return Ok(user),
                Op::Err(e) => return Err(format!("nats_err_{e}")),
                _ => continue,
            }
        }
    }

    async fn flush(&mut self) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        let bytes = std::mem::take(&mut self.out);
        self.ws.send(Message::binary(bytes)).await
    }

    /// The next whole operation; `PING`s are answered here. Cancel-safe: bytes are pushed into
    /// the parser in the same poll that reads them.
    async fn next_op(&mut self) -> Result<Op, String> {
        loop {
            match self.parser.next_op() {
                Ok(Some(Op::Ping)) => {
                    self.ws.send(Message::binary(proto::PONG.to_vec())).await.map_err(|_| "send_failed".to_string())?;
                    continue;
                }
                Ok(Some(op)) => return Ok(op),
                Ok(None) => {}
                Err(e) => return Err(format!("nats_protocol_error: {}", e.0)),
            }
            match self.ws.next().await {
                Some(Ok(Message::Binary(bytes))) => self.parser.push(&bytes),
                Some(Ok(Message::Text(text))) => self.parser.push(text.as_bytes()),
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

impl LoadClient for NatsUser {
    async fn next_inbound(&mut self) -> Inbound {
        match self.next_op().await {
            Ok(Op::Msg { payload, .. }) => parse_stamp(&payload).map_or(Inbound::Other, Inbound::Delivery),
            Ok(Op::Err(e)) => Inbound::Error(format!("nats_err_{e}")),
            Ok(_) => Inbound::Other,
            Err(reason) => Inbound::Closed(reason),
        }
    }

    async fn perform(&mut self, action: Action, body: &str, _: &mut Tally) -> Result<(), String> {
        let Action::Send { target } = action else { return Err("unsupported_on_nats".into()) };
        proto::publish(&mut self.out, &self.targets[target], body.as_bytes());
        self.flush().await.map_err(|_| "send_failed".into())
    }
}
