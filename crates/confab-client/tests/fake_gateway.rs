//! The SDK's own WebSocket behaviour, against a scripted stand-in for the gateway: what it
//! offers in the handshake, how `request` keeps the events it reads past, and how a close is
//! reported. The real gateway is exercised by confab-server's integration suite.

#![expect(clippy::result_large_err, reason = "tungstenite's handshake callback returns its response by value")]

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use confab_client::{Client, ClientError, ConnectOptions, Connection};
use confab_proto::frames::{Ack, Command, Event, close_code};
use confab_proto::{SessionId, UserId};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Bounds every wait, so that a regression fails instead of hanging the suite.
const WAIT: Duration = Duration::from_secs(5);

type ServerSocket = WebSocketStream<TcpStream>;

/// What the client put in its upgrade request.
#[derive(Clone, Debug, Default)]
struct Upgrade {
    uri: String,
    protocols: Option<String>,
}

/// A one-connection gateway: it accepts the upgrade (answering `confab.v1` when offered),
/// sends `ready`, and hands the socket to `script`. Returns the base URL.
async fn fake_gateway<F, Fut>(script: F) -> (String, Arc<Mutex<Upgrade>>, JoinHandle<()>)
where
    F: FnOnce(ServerSocket) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let upgrade = Arc::new(Mutex::new(Upgrade::default()));
    let seen = Arc::clone(&upgrade);
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let callback = move |request: &Request, mut response: Response| {
            let protocols = request.headers().get("sec-websocket-protocol").map(|v| v.to_str().unwrap().to_owned());
            if protocols.as_deref().is_some_and(|p| p.starts_with("confab.v1")) {
                response.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("confab.v1"));
            }
            *seen.lock().unwrap() = Upgrade { uri: request.uri().to_string(), protocols };
            Ok(response)
        };
        let mut socket = tokio_tungstenite::accept_hdr_async(stream, callback).await.unwrap();
        socket.send(Message::text(ready_frame())).await.unwrap();
        tokio::time::timeout(WAIT, script(socket)).await.expect("the script timed out");
    });
    (base_url, upgrade, server)
}

fn ready_frame() -> String {
    serde_json::json!({"type": "ready", "data": {
        "user": {"id": "1", "username": "alice", "display_name": "Alice", "created_at": "2026-01-01T00:00:00Z"},
        "session_id": "7", "heartbeat_ms": 30000, "idle_timeout_ms": 90000, "max_frame_bytes": 65536,
    }})
    .to_string()
}

fn typing_frame(user: u32) -> Message {
    let frame = serde_json::json!({"type": "typing", "data": {
        "conversation_id": "10", "user_id": user.to_string(), "expires_in_ms": 5000}});
    Message::text(frame.to_string())
}

/// Reads the client's next command frame as JSON.
async fn next_command(socket: &mut ServerSocket) -> serde_json::Value {
    loop {
        match socket.next().await.unwrap().unwrap() {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a command, got {other:?}"),
        }
    }
}

/// Closes from the server side and waits for the client's answering close.
async fn close_with(socket: &mut ServerSocket, code: u16, reason: &str) {
    let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
    socket.close(Some(frame)).await.unwrap();
    while let Some(Ok(_)) = socket.next().await {}
}

async fn finish(server: JoinHandle<()>) {
    tokio::time::timeout(WAIT, server).await.expect("the fake gateway did not finish").unwrap();
}

#[tokio::test]
async fn connect_offers_the_token_as_a_subprotocol_and_keeps_ready() {
    let (base_url, upgrade, server) = fake_gateway(|mut socket| async move {
        close_with(&mut socket, 1000, "bye").await;
    })
    .await;
    let client = Client::new(&base_url).unwrap().with_token("access.token");
    let mut connection = client.connect().await.unwrap();

    assert_eq!(connection.protocol(), Some("confab.v1"));
    assert_eq!(connection.ready().user.id, UserId(1));
    assert_eq!(connection.ready().session_id, Some(SessionId(7)));
    let upgrade = upgrade.lock().unwrap().clone();
    assert_eq!(upgrade.uri, "/api/v1/ws");
    assert_eq!(upgrade.protocols.as_deref(), Some("confab.v1, bearer.access.token"));

    // The server's close completes: the client answers it without being asked to write.
    assert_eq!(connection.expect_closed(WAIT).await.unwrap(), (1000, "bye".to_owned()));
    finish(server).await;
}

#[tokio::test]
async fn request_keeps_the_events_it_reads_past_in_order() {
    let (base_url, _, server) = fake_gateway(|mut socket| async move {
        let command = next_command(&mut socket).await;
        assert_eq!(command["type"], "ping");
        let id = command["id"].as_str().unwrap().to_owned();
        socket.send(typing_frame(2)).await.unwrap();
        // The answer to some other command must not settle this one.
        socket.send(Message::text(r#"{"type": "ack", "id": "elsewhere", "data": {}}"#)).await.unwrap();
        socket.send(typing_frame(3)).await.unwrap();
        socket.send(Message::text(serde_json::json!({"type": "ack", "id": id, "data": {}}).to_string())).await.unwrap();
        socket.send(typing_frame(4)).await.unwrap();
        close_with(&mut socket, 1000, "").await;
    })
    .await;
    let ws_url = Client::new(&base_url).unwrap().ws_url();
    let mut connection = Connection::open(&ws_url, ConnectOptions::default()).await.unwrap();

    assert_eq!(connection.request(Command::Ping).await.unwrap(), Ack::Empty {});

    let mut seen = Vec::new();
    for _ in 0..4 {
        let frame = connection.next_event_timeout(WAIT).await.unwrap();
        seen.push(match frame.event {
            Event::Typing(typing) => format!("typing {}", typing.user_id),
            Event::Ack(_) => format!("ack {}", frame.id.unwrap_or_default()),
            other => panic!("{other:?}"),
        });
    }
    assert_eq!(seen, ["typing 2", "ack elsewhere", "typing 3", "typing 4"]);
    assert_eq!(connection.expect_closed(WAIT).await.unwrap().0, 1000);
    finish(server).await;
}

#[tokio::test]
async fn a_close_is_reported_on_every_later_read() {
    let (base_url, _, server) = fake_gateway(|mut socket| async move {
        next_command(&mut socket).await;
        socket.send(typing_frame(2)).await.unwrap();
        close_with(&mut socket, close_code::SESSION_REVOKED, "session revoked").await;
    })
    .await;
    let mut connection = Client::new(&base_url).unwrap().with_token("t").connect().await.unwrap();

    let revoked =
        |e: &ClientError| matches!(e, ClientError::Closed { code: 4009, reason } if reason == "session revoked");
    let refused = connection.request(Command::Ping).await.unwrap_err();
    assert!(revoked(&refused), "{refused:?}");
    // The event read before the close is still delivered, then the same close again.
    assert!(matches!(connection.next_event().await.unwrap().event, Event::Typing(_)));
    let again = connection.next_event().await.unwrap_err();
    assert!(revoked(&again), "{again:?}");
    assert_eq!(connection.expect_closed(WAIT).await.unwrap(), (4009, "session revoked".to_owned()));
    assert!(connection.send_text("late".into()).await.is_err());
    finish(server).await;
}

#[tokio::test]
async fn a_refused_handshake_gives_status_and_body() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/api/v1/ws", listener.local_addr().unwrap());
    let body = r#"{"error": {"code": "invalid_token", "message": "bad signature"}}"#;
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let refuse = |_: &Request, _: Response| {
            let mut refusal = ErrorResponse::new(Some(body.to_owned()));
            *refusal.status_mut() = StatusCode::UNAUTHORIZED;
            Err(refusal)
        };
        assert!(tokio_tungstenite::accept_hdr_async(stream, refuse).await.is_err());
    });

    let options = ConnectOptions { bearer: Some("forged".into()), ..ConnectOptions::default() };
    match tokio::time::timeout(WAIT, Connection::open(&url, options)).await.unwrap() {
        Err(ClientError::Handshake { status: 401, body: got }) => assert_eq!(got, body),
        other => panic!("{other:?}"),
    }
    finish(server).await;
}

#[tokio::test]
async fn tickets_go_in_the_query_and_close_is_clean() {
    let (base_url, upgrade, server) = fake_gateway(|mut socket| async move {
        socket.send(Message::binary(vec![1, 2, 3])).await.unwrap();
        socket.send(typing_frame(2)).await.unwrap();
        match socket.next().await {
            Some(Ok(Message::Close(_))) => {}
            other => panic!("expected the client's close, got {other:?}"),
        }
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
    let mut connection = Client::new(&base_url).unwrap().connect_with_ticket("a b+c").await.unwrap();
    let upgrade = upgrade.lock().unwrap().clone();
    assert_eq!(upgrade.uri, "/api/v1/ws?ticket=a%20b%2Bc");
    assert_eq!(upgrade.protocols.as_deref(), Some("confab.v1"));

    // A binary frame breaks the protocol but not the connection.
    assert!(matches!(connection.next_event().await, Err(ClientError::Protocol(_))));
    assert!(matches!(connection.next_event().await.unwrap().event, Event::Typing(_)));
    tokio::time::timeout(WAIT, connection.close()).await.unwrap().unwrap();
    finish(server).await;
}
