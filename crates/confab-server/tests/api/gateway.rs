//! The WebSocket gateway: authentication, live delivery to every session, order, and the
//! ways a connection ends (revoked, slow, idle, abusive).

use std::time::Duration;

use confab_client::{ClientError, ConnectOptions, Connection};
use confab_proto::ErrorCode;
use confab_proto::frames::{Command, Event, SendMessage, close_code};
use confab_proto::rest::{Message, SendMessageRequest};

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(10);

async fn next_message(ws: &mut Connection) -> Message {
    loop {
        let frame = ws.next_event_timeout(WAIT).await.expect("an event");
        if let Event::MessageCreated(m) = frame.event {
            return m;
        }
    }
}

fn ws_url(app: &TestApp) -> String {
    format!("{}/api/v1/ws", app.base_url.replace("http://", "ws://"))
}

#[tokio::test]
async fn every_session_of_both_users_receives_every_message() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await;
    let alice2 = app.login("alice").await;

    let mut sessions = Vec::new();
    for user in [&alice, &alice, &alice2, &bob, &bob, &bob] {
        sessions.push(user.connect().await);
    }
    // Alice sends from her first socket; all six sockets, hers included, see it.
    let sent = sessions[0]
        .send_message(SendMessage {
            conversation_id: dm.id,
            body: "hello".into(),
            client_id: None,
            reply_to: None,
            attachments: vec![],
            tones: vec![],
            literal: false,
            sticker_id: None,
        })
        .await
        .unwrap();
    for ws in &mut sessions {
        assert_eq!(next_message(ws).await, sent);
    }
    // And a REST send from Bob reaches them all the same way.
    let reply = SendMessageRequest { body: "hi!".into(), ..Default::default() };
    let reply = bob.client.send_message(dm.id, &reply).await.unwrap();
    for ws in &mut sessions {
        assert_eq!(next_message(ws).await, reply);
    }
}

#[tokio::test]
async fn concurrent_senders_are_seen_in_the_same_gap_free_order_everywhere() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await;
    let mut watchers = vec![alice.connect().await, bob.connect().await, bob.connect().await];

    const PER_SENDER: i64 = 30;
    let mut tasks = Vec::new();
    for sender in [&alice, &bob, &alice, &bob] {
        let client = sender.client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_SENDER {
                let req = SendMessageRequest { body: format!("m{i}"), ..Default::default() };
                client.send_message(dm.id, &req).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let total = 4 * PER_SENDER;
    for ws in &mut watchers {
        let mut seqs = Vec::new();
        for _ in 0..total {
            seqs.push(next_message(ws).await.seq);
        }
        assert_eq!(seqs, (1..=total).collect::<Vec<_>>());
    }
}

/// Messages wait for their commits without holding up the conversation, while edits commit on
/// their own: every session still sees each change once, in the order of its version.
#[tokio::test]
async fn sends_racing_edits_are_seen_in_version_order_everywhere() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await;
    let first = alice.client.send_message(dm.id, &text("edit me")).await.unwrap();
    let mut watchers = vec![alice.connect().await, bob.connect().await];

    const SENDERS: usize = 8;
    const SENDS: usize = 25 * SENDERS;
    const EDITS: usize = 60;
    let mut tasks = Vec::new();
    for sender in [&alice, &bob].repeat(SENDERS / 2) {
        let client = sender.client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..SENDS / SENDERS {
                client
                    .send_message(dm.id, &SendMessageRequest { body: format!("m{i}"), ..Default::default() })
                    .await
                    .unwrap();
            }
        }));
    }
    for _ in 0..3 {
        let editor = alice.client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..EDITS / 3 {
                editor.edit_message(dm.id, first.id, &format!("edit {i}")).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for ws in &mut watchers {
        let mut versions = Vec::new();
        while versions.len() < SENDS + EDITS {
            match ws.next_event_timeout(WAIT).await.expect("an event").event {
                Event::MessageCreated(m) | Event::MessageUpdated(m) => versions.push(m.version),
                _ => {}
            }
        }
        let sorted = {
            let mut v = versions.clone();
            v.sort();
            v.dedup();
            v
        };
        assert_eq!(versions, sorted, "changes out of version order (or repeated)");
    }
}

#[tokio::test]
async fn the_server_answers_confab_v1_and_never_the_token() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let ws = alice.connect().await;
    assert_eq!(ws.protocol(), Some("confab.v1"));
    assert_eq!(ws.ready().user.id, alice.id());
    assert_eq!(ws.ready().session_id, Some(alice.auth.session_id));
}

#[tokio::test]
async fn bad_tokens_are_refused_at_the_handshake() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let url = ws_url(&app);
    let expired = expired_token(&app, &alice).await;
    for (token, code) in [("garbage", ErrorCode::InvalidToken), (expired.as_str(), ErrorCode::TokenExpired)] {
        let r = Connection::open(&url, ConnectOptions { bearer: Some(token.into()), ..Default::default() }).await;
        match r {
            Err(ClientError::Handshake { status, body }) => {
                assert_eq!(status, 401);
                assert!(body.contains(code.as_str()), "{body}");
            }
            other => panic!("expected a refused handshake, got {:?}", other.map(|_| ())),
        }
    }
    let none = Connection::open(&url, ConnectOptions::default()).await;
    assert!(matches!(none, Err(ClientError::Handshake { status: 401, .. })));
}

#[tokio::test]
async fn a_ticket_opens_one_connection_only() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let ticket = alice.client.ws_ticket().await.unwrap();
    assert_eq!(ticket.expires_in, 30);
    let ws = alice.client.connect_with_ticket(&ticket.ticket).await.unwrap();
    assert_eq!(ws.ready().user.id, alice.id());
    let again = alice.client.connect_with_ticket(&ticket.ticket).await;
    match again {
        Err(ClientError::Handshake { status, body }) => {
            assert_eq!(status, 401);
            assert!(body.contains("invalid_ticket"), "{body}");
        }
        other => panic!("a reused ticket was accepted: {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn foreign_origins_are_refused_and_allowed_ones_accepted() {
    let app = spawn_app_with(|c| c.gateway.allowed_origins = vec!["https://game.example".into()]).await;
    let alice = app.user("alice").await;
    let url = ws_url(&app);
    let open = |origin: &str| {
        Connection::open(
            &url,
            ConnectOptions { bearer: Some(alice.token().into()), origin: Some(origin.into()), ..Default::default() },
        )
    };
    match open("https://evil.example").await {
        Err(ClientError::Handshake { status, body }) => {
            assert_eq!(status, 403);
            assert!(body.contains("origin_not_allowed"), "{body}");
        }
        other => panic!("a foreign origin was accepted: {:?}", other.map(|_| ())),
    }
    open("https://game.example").await.unwrap();
    open("http://localhost:3000").await.unwrap();
}

#[tokio::test]
async fn revoking_a_session_closes_its_sockets_only() {
    let app = spawn_app().await;
    let laptop = app.user("alice").await;
    let phone = app.login("alice").await;
    let mut laptop_ws = laptop.connect().await;
    let mut phone_ws = phone.connect().await;
    laptop.client.revoke_session(phone.auth.session_id).await.unwrap();
    let (code, _) = phone_ws.expect_closed(WAIT).await.unwrap();
    assert_eq!(code, close_code::SESSION_REVOKED);
    // The laptop stays connected and working.
    let pong = laptop_ws.request(Command::Ping).await;
    assert!(pong.is_ok(), "{pong:?}");
}

#[tokio::test]
async fn a_slow_consumer_is_closed_without_slowing_anyone() {
    let app = spawn_app_with(|c| {
        c.gateway.outbound_queue = 8;
        c.limits.max_message_chars = 60_000;
    })
    .await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await;
    let mut stalled = bob.connect().await; // never reads until the end
    let mut attentive = bob.connect().await;
    let reader = tokio::spawn(async move {
        let mut arrivals = Vec::new();
        while arrivals.len() < 200 {
            if let Event::MessageCreated(m) = attentive.next_event_timeout(WAIT).await.unwrap().event {
                arrivals.push((m.seq, std::time::Instant::now()));
            }
        }
        arrivals
    });

    let big = "x".repeat(50_000); // 200 × 50 KB overflows the socket buffers and the queue
    let mut sent_at = Vec::new();
    for _ in 0..200 {
        let started = std::time::Instant::now();
        let req = SendMessageRequest { body: big.clone(), ..Default::default() };
        sent_at.push((alice.client.send_message(dm.id, &req).await.unwrap().seq, started));
    }
    let arrivals = reader.await.unwrap();
    assert_eq!(arrivals.len(), 200, "the attentive session got everything");
    // Delivery to the attentive session stays in the millisecond range while the other stalls:
    // an order-of-magnitude bound, not a benchmark.
    let worst = sent_at
        .iter()
        .zip(&arrivals)
        .map(|((sent_seq, started), (seq, arrived))| {
            assert_eq!(sent_seq, seq);
            arrived.duration_since(*started)
        })
        .max()
        .unwrap();
    assert!(worst < Duration::from_secs(1), "worst send-to-delivery latency {worst:?}");
    // The close frame reaches a stalled client only if it fits behind what is already queued;
    // after the close grace the server drops the socket either way (socket.rs checks that).
    assert_eq!(app.server.app.metrics.websocket_closed_slow_consumer.get(), 1);
    match stalled.expect_closed(Duration::from_secs(30)).await {
        Ok((code, _)) => assert_eq!(code, close_code::SLOW_CONSUMER),
        Err(e) => assert!(!matches!(e, ClientError::Timeout), "the connection ended: {e:?}"),
    }
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let app = spawn_app_with(|c| {
        c.gateway.heartbeat_secs = 1;
        c.gateway.idle_timeout_secs = 2;
    })
    .await;
    let alice = app.user("alice").await;
    let mut ws = alice.connect().await;
    // Not reading means not answering pings.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (code, _) = ws.expect_closed(WAIT).await.unwrap();
    assert_eq!(code, close_code::IDLE_TIMEOUT);

    // A client that keeps reading answers the pings and stays.
    let mut alive = alice.connect().await;
    let quiet = next_frame(&mut alive, Duration::from_secs(4)).await;
    assert!(matches!(quiet, Err(ClientError::Timeout)), "{quiet:?}");
    alive.request(Command::Ping).await.unwrap();
}

pub async fn expired_token(app: &TestApp, user: &TestUser) -> String {
    let secret = app.server.app.store.secret_or_insert("access_token_hs256", b"").await.unwrap();
    let tokens = confab_server::auth::tokens::AccessTokens::new(&secret, 60);
    let an_hour_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
    tokens.issue(user.id(), user.auth.session_id, an_hour_ago).unwrap()
}

#[tokio::test]
async fn shutting_down_tells_clients_to_reconnect_elsewhere() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let mut ws = alice.connect().await;
    let TestApp { server, data_dir: _data_dir, database: _database, .. } = app;
    let stopping = tokio::spawn(server.stop());
    let (code, _) = ws.expect_closed(WAIT).await.unwrap();
    assert_eq!(code, 1001, "going away: reconnect to another node");
    stopping.await.unwrap();
}
