//! The life of one WebSocket: `ready`, then a writer task draining the hub's queue into the
//! socket (with heartbeats), and a reader loop running commands one at a time, in order.
//! Either side ends the connection through the hub's close request, so the close code sent to
//! the client is always the reason it was closed.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use confab_proto::frames::{Command, Event, Ready, ServerFrame, close_code};
use confab_proto::rest::User;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use super::commands::{self, BadFrame};
use crate::app::App;
use crate::auth::Principal;
use crate::hub::{Connection, Frame, encode};
use crate::limits::SocketPermit;

/// How long the writer may take to flush the final close frame. Then the socket is dropped
/// whatever its state: a slow consumer's kernel send queue may never drain, and a writer stuck
/// behind it would hold the socket and its file descriptor forever.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

pub async fn run(
    socket: WebSocket,
    app: Arc<App>,
    principal: Principal,
    user: User,
    ip: Option<IpAddr>,
    _permit: SocketPermit,
) {
    let gateway = &app.config.gateway;
    let heartbeat = Duration::from_secs(gateway.heartbeat_secs);
    let idle_timeout = Duration::from_secs(gateway.idle_timeout_secs);
    let (mut sink, mut stream) = socket.split();

    // Register before sending `ready`, so that nothing published in between is lost; events
    // wait in the queue until the writer starts.
    let (connection, queue) = app.hub.connect(principal, gateway.outbound_queue);
    let ready = encode(&ServerFrame {
        id: None,
        event: Event::Ready(Ready {
            user,
            session_id: principal.session_id,
            heartbeat_ms: heartbeat.as_millis() as u64,
            idle_timeout_ms: idle_timeout.as_millis() as u64,
            max_frame_bytes: gateway.max_frame_bytes,
        }),
    });
    if sink.send(text(ready)).await.is_err() {
        app.hub.disconnect(&connection);
        return;
    }
    tracing::debug!(connection = connection.id, user = %principal.user_id, "websocket connected");
    app.presence.connected(principal.user_id).await;

    let writer = tokio::spawn(write_loop(sink, queue, None, connection.clone(), heartbeat));
    read_loop(&mut stream, &app, &connection, idle_timeout, ip, None).await;

    app.hub.disconnect(&connection);
    app.presence.disconnected(principal.user_id);
    finish(writer, stream, &connection).await;
}

/// Ends a connection whose reader has returned: the writer gets [`CLOSE_GRACE`] to send the
/// close frame, then is stopped, and with both halves of the socket dropped the TCP connection
/// is closed.
async fn finish(
    mut writer: tokio::task::JoinHandle<()>,
    stream: futures_util::stream::SplitStream<WebSocket>,
    connection: &Connection,
) {
    connection.close(1000, "");
    if tokio::time::timeout(CLOSE_GRACE, &mut writer).await.is_err() {
        tracing::debug!(connection = connection.id, "writer did not finish in time; dropping the socket");
        writer.abort();
        let _ = writer.await; // returns once the task, and the socket half it owns, are dropped
    }
    drop(stream);
    tracing::debug!(connection = connection.id, "websocket closed");
}

/// A connection that sends every data frame back, through the same reader, writer and close
/// handling as [`run`]: what the Autobahn conformance suite (`.ci/autobahn`) talks to. Built
/// only with the `ws-echo` feature.
#[cfg(feature = "ws-echo")]
pub async fn echo(socket: WebSocket, app: Arc<App>) {
    let gateway = &app.config.gateway;
    let (sink, mut stream) = socket.split();
    let principal = Principal::person(confab_proto::UserId(0));
    let (connection, queue) = app.hub.connect(principal, gateway.outbound_queue);
    let (echoes, echoed) = mpsc::channel(16);
    let heartbeat = Duration::from_secs(gateway.heartbeat_secs);
    let writer = tokio::spawn(write_loop(sink, queue, Some(echoed), connection.clone(), heartbeat));
    read_loop(&mut stream, &app, &connection, Duration::from_secs(gateway.idle_timeout_secs), None, Some(&echoes))
        .await;
    app.hub.disconnect(&connection);
    finish(writer, stream, &connection).await;
}

/// `echoed`: frames to send back, in echo mode only.
async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut queue: mpsc::Receiver<Frame>,
    mut echoed: Option<mpsc::Receiver<Message>>,
    connection: Arc<Connection>,
    heartbeat: Duration,
) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    let close_requested = connection.close_requested();
    tokio::pin!(close_requested);
    loop {
        tokio::select! {
            biased;
            request = &mut close_requested => {
                if let Some(echoed) = echoed.as_mut() {
                    while let Ok(frame) = echoed.try_recv() {
                        let _ = sink.feed(frame).await;
                    }
                }
                let frame = CloseFrame { code: request.code, reason: Utf8Bytes::from_static(request.reason) };
                // After the client's Close, tungstenite refuses to send another but holds its
                // answer (the client's code echoed, or 1002 for a code not allowed on the wire,
                // RFC 6455 §5.5.1, §7.4) until the socket is flushed: `close` flushes it.
                let _ = sink.send(Message::Close(Some(frame))).await;
                let _ = sink.close().await;
                break;
            }
            Some(frame) = next_echo(&mut echoed) => {
                if sink.send(frame).await.is_err() {
                    break;
                }
            }
            frame = queue.recv() => match frame {
                Some(frame) => {
                    if write_queued(&mut sink, &mut queue, frame).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            _ = ticker.tick() => {
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
        }
    }
}

async fn next_echo(echoed: &mut Option<mpsc::Receiver<Message>>) -> Option<Message> {
    match echoed {
        Some(echoed) => echoed.recv().await,
        None => std::future::pending().await,
    }
}

/// Writes `first` and whatever else is queued already, then flushes once: under load a busy
/// connection costs one write per burst of events rather than one per event.
async fn write_queued(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    queue: &mut mpsc::Receiver<Frame>,
    first: Frame,
) -> Result<(), axum::Error> {
    sink.feed(text(first)).await?;
    while let Ok(frame) = queue.try_recv() {
        sink.feed(text(frame)).await?;
    }
    sink.flush().await
}

/// A hub frame as a text message: no copy; axum checks the UTF-8 again (it offers no unchecked
/// way in), a linear scan that is small beside the write itself.
fn text(frame: Frame) -> Message {
    match Utf8Bytes::try_from(frame.into_bytes()) {
        Ok(text) => Message::Text(text),
        // Unreachable: a `Frame` is UTF-8 by construction.
        Err(_) => Message::Text(Utf8Bytes::from_static(
            r#"{"type":"error","data":{"code":"internal","message":"internal error"}}"#,
        )),
    }
}

async fn read_loop(
    stream: &mut futures_util::stream::SplitStream<WebSocket>,
    app: &Arc<App>,
    connection: &Arc<Connection>,
    idle_timeout: Duration,
    ip: Option<IpAddr>,
    echo: Option<&mpsc::Sender<Message>>,
) {
    let mut abuse = AbuseMeter::new(app.config.gateway.max_bad_frames_per_minute);
    loop {
        let next = tokio::select! {
            _ = connection.close_requested() => return,
            next = tokio::time::timeout(idle_timeout, stream.next()) => next,
        };
        let message = match next {
            Err(_) => return connection.close(close_code::IDLE_TIMEOUT, "idle timeout"),
            Ok(None) => return,
            Ok(Some(Err(error))) => return close_on_read_error(connection, &error),
            Ok(Some(Ok(message))) => message,
        };
        if let (Some(echo), Message::Text(_) | Message::Binary(_)) = (echo, &message) {
            if echo.send(message).await.is_err() {
                return;
            }
            continue;
        }
        match message {
            Message::Text(text) => match commands::decode(text.as_str()) {
                Ok((id, command)) => {
                    let sends = matches!(command, Command::SendMessage(_));
                    let allowed = app.traffic.command(connection.principal, ip, sends).await;
                    let executed = match allowed {
                        // Boxed: the command's future is large and only lives while it runs;
                        // inline, it would sit in every idle connection's task.
                        Ok(()) => Box::pin(commands::execute(app, connection.principal, command)).await,
                        Err(limited) => Err(limited),
                    };
                    let answer = match executed {
                        Ok(ack) => id.as_ref().map(|_| Event::Ack(ack)),
                        Err(error) => Some(Event::Error(error.to_api())),
                    };
                    if let Some(event) = answer {
                        connection.push(encode(&ServerFrame { id, event }));
                    }
                }
                Err(bad) => {
                    if !reject(connection, bad, &mut abuse) {
                        return;
                    }
                }
            },
            Message::Binary(_) => {
                let bad = BadFrame {
                    id: None,
                    error: confab_proto::ApiError::new(
                        confab_proto::ErrorCode::InvalidJson,
                        "binary frames are not supported; send JSON text frames",
                    ),
                };
                if !reject(connection, bad, &mut abuse) {
                    return;
                }
            }
            Message::Ping(_) | Message::Pong(_) => {} // proof of life; tungstenite answers pings
            Message::Close(_) => return,
        }
    }
}

/// Answers a bad frame; false when the connection was closed for sustained abuse.
fn reject(connection: &Connection, bad: BadFrame, abuse: &mut AbuseMeter) -> bool {
    connection.push(encode(&ServerFrame { id: bad.id, event: Event::Error(bad.error) }));
    if abuse.record() {
        connection.close(close_code::ABUSE, "too many bad frames");
        return false;
    }
    true
}

/// Closes with the code that names a failed read. axum wraps tungstenite's error; the source
/// chain still holds it.
fn close_on_read_error(connection: &Connection, error: &axum::Error) {
    let inner = std::error::Error::source(error).and_then(|e| e.downcast_ref::<tungstenite::Error>());
    match inner {
        Some(tungstenite::Error::Utf8(_)) => connection.close(1007, "invalid UTF-8 in a text frame"),
        Some(tungstenite::Error::Capacity(_)) => connection.close(1009, "frame too big"),
        _ => connection.close(1002, "protocol error"),
    }
}

/// Counts bad frames over a sliding minute.
struct AbuseMeter {
    limit: u32,
    window_start: Instant,
    count: u32,
}

impl AbuseMeter {
    fn new(limit: u32) -> AbuseMeter {
        AbuseMeter { limit, window_start: Instant::now(), count: 0 }
    }

    /// Records one bad frame; true when the limit is exceeded.
    fn record(&mut self) -> bool {
        if self.window_start.elapsed() > Duration::from_secs(60) {
            self.window_start = Instant::now();
            self.count = 0;
        }
        self.count += 1;
        self.count > self.limit
    }
}
