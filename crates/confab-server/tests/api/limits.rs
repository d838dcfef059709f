//! Limits on what one user or one client sends: a flood is refused with `rate_limited` and
//! `retry_after` (REST: 429 and `Retry-After`; WebSocket: an `error` frame for the command), and
//! the same client succeeds again once it waited. Silent connections are dropped.

use std::time::Duration;

use confab_client::ClientError;
use confab_proto::ErrorCode;
use confab_proto::frames::SendMessage;
use confab_proto::rest::SendMessageRequest;
use confab_server::config::Rate;
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

fn body(text: &str) -> SendMessageRequest {
    SendMessageRequest { body: text.into(), ..Default::default() }
}

#[tokio::test]
async fn one_user_flooding_sends_is_limited_on_rest_and_websocket_and_recovers() {
    let app = spawn_app_with(|c| c.rate_limits.messages_per_user = Rate::per_secs(5, 2)).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await;
    let path = format!("/api/v1/conversations/{}/messages", dm.id);
    let request = || Some(confab_client::RawBody::json_bytes(br#"{"body": "flood"}"#.to_vec()));

    for _ in 0..5 {
        assert_eq!(alice.client.raw(Method::POST, &path, request()).await.unwrap().status, 201);
    }
    let refused = alice.client.raw(Method::POST, &path, request()).await.unwrap();
    assert_eq!((refused.status, refused.error_code()), (429, Some("rate_limited")));
    let retry_after = refused.json.pointer("/error/retry_after").and_then(|v| v.as_u64()).expect("retry_after");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(refused.header("retry-after"), Some(retry_after.to_string().as_str()));

    // The WebSocket spends the same budget, and says which command was refused.
    let mut ws = alice.connect().await;
    let send = SendMessage {
        conversation_id: dm.id,
        body: "ws flood".into(),
        client_id: None,
        reply_to: None,
        attachments: vec![],
        tones: vec![],
        literal: false,
        sticker_id: None,
    };
    match ws.send_message(send.clone()).await {
        Err(ClientError::Command(error)) => {
            assert_eq!(error.code, ErrorCode::RateLimited);
            assert!(error.retry_after.is_some_and(|s| s >= 1), "{error:?}");
        }
        other => panic!("expected rate_limited, got {other:?}"),
    }
    // Bob is not limited by Alice's flood.
    bob.client.send_message(dm.id, &body("unaffected")).await.unwrap();

    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(ws.send_message(send).await.unwrap().body, "ws flood");
    alice.client.send_message(dm.id, &body("later")).await.unwrap();
    let history = alice.client.history(dm.id, &Default::default()).await.unwrap().messages;
    assert_eq!(history.len(), 5 + 3, "five, then Bob's and the two after the wait: refused sends stored nothing");
}

#[tokio::test]
async fn websocket_commands_over_the_limit_get_rate_limited_error_frames() {
    let app = spawn_app_with(|c| c.rate_limits.commands_per_user = Rate::per_secs(3, 60)).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await;
    let mut ws = alice.connect().await;
    for _ in 0..3 {
        ws.typing(dm.id).await.unwrap();
    }
    match ws.typing(dm.id).await {
        Err(ClientError::Command(error)) => {
            assert_eq!(error.code, ErrorCode::RateLimited);
            assert!(error.retry_after.is_some_and(|s| (1..=20).contains(&s)), "{error:?}");
        }
        other => panic!("expected rate_limited, got {other:?}"),
    }
    // REST is not a WebSocket command.
    alice.client.send_message(dm.id, &body("still possible")).await.unwrap();
}

#[tokio::test]
async fn websocket_tickets_are_limited_per_user() {
    let app = spawn_app_with(|c| c.rate_limits.tickets_per_user = Rate::per_secs(2, 60)).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let ticket = alice.client.ws_ticket().await.unwrap();
    alice.client.ws_ticket().await.unwrap();
    match alice.client.ws_ticket().await {
        Err(ClientError::Api { status: 429, error }) => {
            assert_eq!(error.code, ErrorCode::RateLimited);
            assert!(error.retry_after.is_some_and(|s| (1..=60).contains(&s)));
        }
        other => panic!("expected 429, got {other:?}"),
    }
    bob.client.ws_ticket().await.expect("another user has a budget of their own");
    alice.client.connect_with_ticket(&ticket.ticket).await.expect("tickets issued before still work");
}

#[tokio::test]
async fn sockets_per_user_are_capped_and_a_closed_one_frees_its_place() {
    let app = spawn_app_with(|c| c.rate_limits.sockets_per_user = 2).await;
    let alice = app.user("alice").await;
    let first = alice.connect().await;
    let _second = alice.connect().await;
    match alice.client.connect().await {
        Err(ClientError::Handshake { status, body }) => {
            assert_eq!(status, 429);
            assert!(body.contains("rate_limited"), "{body}");
        }
        Err(other) => panic!("expected a 429 handshake, got {other:?}"),
        Ok(_) => panic!("a third socket was accepted"),
    }
    app.user("bob").await.connect().await; // other users are not affected

    drop(first);
    let mut reconnected = None;
    for _ in 0..50 {
        if let Ok(ws) = alice.client.connect().await {
            reconnected = Some(ws);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reconnected.is_some(), "the closed socket's place is free again");
}

#[tokio::test]
async fn silent_and_half_sent_connections_are_closed_within_the_header_timeout() {
    let app = spawn_app_with(|c| c.limits.header_read_timeout_secs = 1).await;
    let addr = app.server.addr;
    let silent = TcpStream::connect(addr).await.unwrap();
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: confab\r\n").await.unwrap();
    for (name, mut stream) in [("silent", silent), ("half-sent", half)] {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "{name}: still open after 5 s");
    }
    // A prompt client is served as before.
    assert_eq!(app.anonymous().raw(Method::GET, "/healthz", None).await.unwrap().status, 200);
}
