//! Faults a cluster must ride out: Redis restarting, PostgreSQL unreachable for a while. Each test
//! owns the service it breaks (its own `redis-server`, a cuttable TCP proxy in front of
//! PostgreSQL), so that concurrent tests are not disturbed. They run when
//! `CONFAB_TEST_DATABASE_URL` and `CONFAB_TEST_REDIS_URL` are set.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use confab_client::{ClientError, Connection};
use confab_proto::ErrorCode;
use confab_proto::frames::{Command, Event, SendMessage, SyncPosition, SyncRequest};
use confab_proto::rest::HistoryQuery;
use reqwest::Method;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::helpers::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_redis(port: u16) -> tokio::process::Child {
    let child = tokio::process::Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server is installed (CONFAB_TEST_REDIS_URL is set, so the cluster suite must run)");
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis-server did not start");
}

async fn wait_for_body(ws: &mut Connection, body: &str, within: Duration) -> bool {
    first_event(ws, within, |event| matches!(event, Event::MessageCreated(m) if m.body == body).then_some(()))
        .await
        .is_some()
}

#[tokio::test]
async fn delivery_resumes_after_redis_restarts_and_sync_recovers_the_gap() {
    if std::env::var("CONFAB_TEST_REDIS_URL").is_err() || std::env::var("CONFAB_TEST_DATABASE_URL").is_err() {
        return eprintln!("fault test skipped: set CONFAB_TEST_DATABASE_URL and CONFAB_TEST_REDIS_URL to run it");
    }
    let port = free_port();
    let mut redis = start_redis(port).await;
    let Some(nodes) = spawn_cluster_on(2, &format!("redis://127.0.0.1:{port}")).await else { return };
    let alice = nodes[0].user("alice").await;
    let bob = nodes[1].login_or_register("bob").await;
    let dm = alice.dm_with(&bob).await.id;
    let mut alice_ws = alice.connect().await;
    bob.client.send_message(dm, &text("before")).await.unwrap();
    assert!(wait_for_body(&mut alice_ws, "before", Duration::from_secs(5)).await);

    redis.kill().await.unwrap();
    let during = bob.client.send_message(dm, &text("during the outage")).await.unwrap();
    redis = start_redis(port).await;

    // The nodes reconnect and resubscribe by themselves; delivery comes back.
    let mut back = false;
    for i in 0..40 {
        let probe = format!("probe {i}");
        bob.client.send_message(dm, &text(&probe)).await.unwrap();
        if wait_for_body(&mut alice_ws, &probe, Duration::from_millis(500)).await {
            back = true;
            break;
        }
    }
    assert!(back, "cross-node delivery resumed after Redis restarted");

    // What was published while Redis was down is recovered through sync.
    let resumed =
        alice_ws.sync(SyncRequest { conversations: vec![SyncPosition { id: dm, version: 0 }], limit: None }).await;
    let messages: Vec<_> = resumed.unwrap().conversations.into_iter().flat_map(|c| c.messages).collect();
    assert!(messages.iter().any(|m| m.id == during.id));
    drop(redis);
}

/// A TCP proxy in front of PostgreSQL that the test can cut (every connection dropped, new ones
/// refused) and restore.
struct Gate {
    port: u16,
    open: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Gate {
    async fn start(upstream: String) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (gate_open, gate_links) = (open.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !gate_open.load(Ordering::SeqCst) {
                    continue; // dropped: the database is "down"
                }
                let upstream = upstream.clone();
                gate_links.lock().await.push(tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Gate { port, open, links }
    }

    async fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for link in self.links.lock().await.drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_database_outage_fails_sends_clearly_loses_nothing_and_heals() {
    let Some(admin) = std::env::var("CONFAB_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        return eprintln!("fault test skipped: set CONFAB_TEST_DATABASE_URL to run it");
    };
    // The test's own database, reached through the gate.
    let probe = spawn_app().await;
    let real = probe.database.as_ref().expect("a PostgreSQL database").url.clone();
    let upstream =
        admin.split('@').nth(1).and_then(|rest| rest.split('/').next()).unwrap_or("127.0.0.1:5432").to_owned();
    let gate = Gate::start(upstream.clone()).await;
    let through_gate = real.replacen(&upstream, &format!("127.0.0.1:{}", gate.port), 1);
    let app = spawn_app_with(|c| c.database_url = Some(through_gate)).await;

    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await.id;
    let acked = alice.client.send_message(dm, &text("safe before the outage")).await.unwrap();

    gate.cut().await;
    let refused = alice.client.send_message(dm, &text("while the database is down")).await;
    match refused {
        Err(confab_client::ClientError::Api { status, error }) => {
            assert_eq!((status, error.code), (503, ErrorCode::Unavailable), "{}", error.message);
        }
        other => panic!("expected 503 unavailable, got {other:?}"),
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    gate.restore();

    // The service heals by itself.
    let mut healed = None;
    for _ in 0..40 {
        match alice.client.send_message(dm, &text("after the outage")).await {
            Ok(m) => {
                healed = Some(m);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
    assert!(healed.is_some(), "sends work again once the database is back");
    let history = bob.client.history(dm, &HistoryQuery::default()).await.unwrap();
    assert!(history.messages.iter().any(|m| m.id == acked.id), "nothing acknowledged was lost");
    assert!(!history.messages.iter().any(|m| m.body == "while the database is down"), "the refused send left nothing");
    drop(probe);
}

/// The next `resync` event within `within`, skipping everything else.
async fn next_resync(ws: &mut Connection, within: Duration) -> Option<confab_proto::frames::Resync> {
    first_event(ws, within, |event| match event {
        Event::Resync(resync) => Some(resync),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn a_redis_outage_tells_sessions_to_resync_and_never_holds_up_sync() {
    if std::env::var("CONFAB_TEST_REDIS_URL").is_err() || std::env::var("CONFAB_TEST_DATABASE_URL").is_err() {
        return eprintln!("fault test skipped: set CONFAB_TEST_DATABASE_URL and CONFAB_TEST_REDIS_URL to run it");
    }
    let port = free_port();
    let mut redis = start_redis(port).await;
    let Some(nodes) = spawn_cluster_on(2, &format!("redis://127.0.0.1:{port}")).await else { return };
    let alice = nodes[0].user("alice").await;
    let bob = nodes[1].login_or_register("bob").await;
    let dm = alice.dm_with(&bob).await.id;
    let mut alice_ws = alice.connect().await;
    bob.client.send_message(dm, &text("before")).await.unwrap();
    assert!(wait_for_body(&mut alice_ws, "before", Duration::from_secs(5)).await);
    let position = alice.client.conversations().await.unwrap().conversations[0].version;

    redis.kill().await.unwrap();
    let _ = redis.wait().await;
    let during = bob.client.send_message(dm, &text("during the outage")).await.unwrap();
    assert!(!wait_for_body(&mut alice_ws, "during the outage", Duration::from_millis(300)).await, "Redis is down");

    // Sync answers from the database while Redis is away, over REST and over the socket (and
    // so does what is queued behind it on that socket).
    let request = SyncRequest { conversations: vec![SyncPosition { id: dm, version: position }], limit: None };
    for _ in 0..3 {
        let started = tokio::time::Instant::now();
        let over_rest = alice.client.sync(&request).await.unwrap();
        let over_ws = alice_ws.sync(request.clone()).await.unwrap();
        assert!(started.elapsed() < Duration::from_millis(1500), "sync waited on Redis: {:?}", started.elapsed());
        for result in [over_rest, over_ws] {
            assert!(result.conversations.iter().flat_map(|c| &c.messages).any(|m| m.id == during.id));
        }
    }

    // When Redis is back, the session is told that it may have missed something.
    redis = start_redis(port).await;
    let resync = next_resync(&mut alice_ws, Duration::from_secs(10)).await.expect("a resync event");
    let mut positions = vec![SyncPosition { id: dm, version: position }];
    let resumed = alice_ws.resync(&resync, &mut positions).await.unwrap();
    let ids: Vec<_> = resumed.conversations.iter().flat_map(|c| c.messages.iter().map(|m| m.id)).collect();
    assert!(ids.contains(&during.id), "what was lost comes back through sync");

    let lost = |app: &TestApp, text: &str, reason: &str| {
        let series = format!("confab_bus_errors_total{{node=\"{}\",reason=\"{reason}\"}}", app.server.app.node_id);
        metric(text, &series)
    };
    let (on_a, on_b) = (scrape(&nodes[0]).await, scrape(&nodes[1]).await);
    assert!(lost(&nodes[0], &on_a, "interrupted") >= 1.0, "node A counts its interrupted subscription");
    assert!(lost(&nodes[1], &on_b, "publish") >= 1.0, "node B counts the envelope it could not publish");
    drop(redis);
}

/// SQLite only: a full disk, simulated with a page cap on the write connection.
#[tokio::test]
async fn a_full_disk_fails_writes_retryably_and_they_resume_once_space_is_freed() {
    if std::env::var("CONFAB_TEST_DATABASE_URL").is_ok() {
        return eprintln!("SQLite fault test skipped on PostgreSQL");
    }
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await.id;
    let acked = alice.client.send_message(dm, &text("before the disk filled")).await.unwrap();
    let store = &app.server.app.store;
    store.limit_pages_for_tests(Some(1)).await.unwrap(); // held at its current size

    // Sends fill what room is left; the first that finds none is refused, retryably.
    let filler = "x".repeat(3_000);
    let mut refused = None;
    for i in 0..500 {
        if let Err(e) = alice.client.send_message(dm, &text(&format!("{i} {filler}"))).await {
            refused = Some(e);
            break;
        }
    }
    let expect_unavailable = |e: Option<ClientError>| match e {
        Some(ClientError::Api { status, error }) => {
            assert_eq!((status, error.code), (503, ErrorCode::Unavailable), "{}", error.message)
        }
        other => panic!("expected 503 unavailable, got {other:?}"),
    };
    expect_unavailable(refused);
    // Still full: the same answer again (not a wedged 500), on REST and on the WebSocket, and
    // the node says it is not ready.
    // (A short message may still fit in a page's free space: these are as large as the filler.)
    let still = format!("still full {filler}");
    expect_unavailable(alice.client.send_message(dm, &text(&still)).await.err());
    let mut ws = alice.connect().await;
    let send = SendMessage {
        conversation_id: dm,
        body: still.clone(),
        client_id: None,
        reply_to: None,
        attachments: vec![],
        tones: vec![],
        literal: false,
        sticker_id: None,
    };
    let answer = ws.request(Command::SendMessage(send)).await;
    assert_eq!(answer.as_ref().err().and_then(ClientError::code), Some(ErrorCode::Unavailable), "{answer:?}");
    let ready = app.anonymous().raw(Method::GET, "/readyz", None).await.unwrap();
    assert_eq!((ready.status, ready.json["error"]["code"].as_str()), (503, Some("unavailable")));

    // Space comes back: writes resume by themselves, and the node is ready again.
    store.limit_pages_for_tests(None).await.unwrap();
    let after = alice.client.send_message(dm, &text("after the disk was freed")).await.unwrap();
    assert!(after.seq > acked.seq);
    app.login("alice").await; // a session row: another write
    let ready = app.anonymous().raw(Method::GET, "/readyz", None).await.unwrap();
    assert_eq!(ready.status, 200);
    let history = bob.client.history(dm, &HistoryQuery { limit: Some(100), ..Default::default() }).await.unwrap();
    assert!(history.messages.iter().all(|m| !m.body.starts_with("still full")), "refused sends left nothing");
    assert!(history.messages.iter().any(|m| m.id == acked.id));
}

/// SQLite only: a writer that cannot get the write lock (held by the test). The send is
/// answered within the gateway's command deadline, with a retryable error.
#[tokio::test]
async fn a_websocket_send_is_answered_within_the_deadline_while_the_writer_is_stalled() {
    if std::env::var("CONFAB_TEST_DATABASE_URL").is_ok() {
        return eprintln!("SQLite fault test skipped on PostgreSQL");
    }
    let app = spawn_app_with(|c| c.gateway.command_timeout_secs = 1).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await.id;
    let mut ws = alice.connect().await;
    let held = app.server.app.store.hold_writes_for_tests().await.unwrap();

    let started = std::time::Instant::now();
    let send = SendMessage {
        conversation_id: dm,
        body: "stalled".into(),
        client_id: Some("c1".into()),
        reply_to: None,
        attachments: vec![],
        tones: vec![],
        literal: false,
        sticker_id: None,
    };
    let answer = tokio::time::timeout(Duration::from_secs(3), ws.request(Command::SendMessage(send.clone())))
        .await
        .expect("answered within the 1 s deadline and some slack");
    assert_eq!(answer.as_ref().err().and_then(ClientError::code), Some(ErrorCode::Unavailable), "{answer:?}");
    assert!(started.elapsed() < Duration::from_secs(3));

    // Once the writer is free, the retry with the same client id gets one message.
    drop(held);
    let mut acked = None;
    for _ in 0..20 {
        if let Ok(ack) = ws.request(Command::SendMessage(send.clone())).await {
            acked = Some(ack);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(acked.is_some(), "the retry succeeded");
    let history = bob.client.history(dm, &HistoryQuery::default()).await.unwrap();
    assert_eq!(history.messages.iter().filter(|m| m.body == "stalled").count(), 1);
}
