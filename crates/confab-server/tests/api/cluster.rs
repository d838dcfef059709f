//! Several nodes, one PostgreSQL, one Redis: users notice nothing but capacity. These run when
//! `CONFAB_TEST_DATABASE_URL` and `CONFAB_TEST_REDIS_URL` are set (as `.ci/run` does).

use std::time::Duration;

use confab_client::Connection;
use confab_proto::frames::{Event, SendMessage, close_code};
use confab_proto::rest::{CreateConversationRequest, HistoryQuery, Message};
use confab_proto::{ConversationId, ErrorCode};

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(10);

async fn next_message(ws: &mut Connection) -> Message {
    loop {
        if let Event::MessageCreated(m) = ws.next_event_timeout(WAIT).await.expect("a message").event {
            return m;
        }
    }
}

async fn group(owner: &TestUser, members: &[&TestUser]) -> ConversationId {
    let req = CreateConversationRequest::group("Across nodes", members.iter().map(|m| m.id()).collect());
    owner.client.create_conversation(&req).await.unwrap().id
}

#[tokio::test]
async fn users_on_different_nodes_chat_and_one_user_spans_nodes() {
    let Some(nodes) = spawn_cluster(3).await else { return };
    let alice = nodes[0].user("alice").await;
    let bob = nodes[1].login_or_register("bob").await;
    let carol = nodes[2].login_or_register("carol").await;
    let id = group(&alice, &[&bob, &carol]).await;

    let mut bob_on_b = bob.connect().await;
    let mut carol_on_c = carol.connect().await;
    let carol_on_a_login = nodes[0].login("carol").await;
    let mut carol_on_a = carol_on_a_login.connect().await;

    let sent = alice.client.send_message(id, &text("hello from node A")).await.unwrap();
    for ws in [&mut bob_on_b, &mut carol_on_c, &mut carol_on_a] {
        assert_eq!(next_message(ws).await, sent);
    }
    let mut over_ws = bob_on_b;
    let reply = over_ws
        .send_message(SendMessage {
            conversation_id: id,
            body: "hi from B".into(),
            client_id: None,
            reply_to: None,
            attachments: vec![],
            tones: vec![],
            literal: false,
            sticker_id: None,
        })
        .await
        .unwrap();
    assert_eq!(next_message(&mut carol_on_c).await.id, reply.id);
    assert_eq!(next_message(&mut carol_on_a).await.id, reply.id);
}

#[tokio::test]
async fn concurrent_sends_from_every_node_keep_a_gap_free_seq() {
    let Some(nodes) = spawn_cluster(3).await else { return };
    let owner = nodes[0].user("owner").await;
    let mut writers = vec![owner];
    for (i, node) in nodes.iter().enumerate().skip(1) {
        writers.push(node.login_or_register(&format!("writer{i}")).await);
    }
    let others: Vec<&TestUser> = writers.iter().skip(1).collect();
    let id = group(&writers[0], &others).await;
    let mut watcher = writers[2].connect().await;

    let mut tasks = Vec::new();
    for writer in &writers {
        let client = writer.client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                client.send_message(id, &text(&format!("m{i}"))).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut seqs = Vec::new();
    let mut after = 0;
    loop {
        let page = writers[1]
            .client
            .history(id, &HistoryQuery { limit: Some(100), after: Some(after), before: None })
            .await
            .unwrap();
        seqs.extend(page.messages.iter().map(|m| m.seq));
        after = seqs.last().copied().unwrap_or(0);
        if !page.has_more {
            break;
        }
    }
    assert_eq!(seqs, (1..=76).collect::<Vec<_>>(), "the group entry and 75 messages, no gap, no duplicate");
    let mut live = 0;
    while live < 75 {
        if let Event::MessageCreated(m) = watcher.next_event_timeout(WAIT).await.unwrap().event
            && m.kind == confab_proto::rest::MessageKind::Text
        {
            live += 1;
        }
    }
}

/// Retries `attempt` until it fails with `code`: other nodes drop their cached copies when the
/// invalidation crosses the bus, a few milliseconds after the change.
async fn refused_within_a_second<
    T: std::fmt::Debug,
    F: std::future::Future<Output = Result<T, confab_client::ClientError>>,
>(
    mut attempt: impl FnMut() -> F,
    code: ErrorCode,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        match attempt().await {
            Err(e) if e.code() == Some(code) => return,
            other if tokio::time::Instant::now() > deadline => panic!("still not refused with {code:?}: {other:?}"),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

#[tokio::test]
async fn group_changes_and_blocks_take_effect_on_every_node() {
    let Some(nodes) = spawn_cluster(2).await else { return };
    let alice = nodes[0].user("alice").await;
    let bob = nodes[1].login_or_register("bob").await;
    let id = group(&alice, &[&bob]).await;
    // Node B has now cached the membership.
    bob.client.send_message(id, &text("I am in")).await.unwrap();
    alice.client.remove_member(id, bob.id()).await.unwrap();
    let still = text("still?");
    refused_within_a_second(|| bob.client.send_message(id, &still), ErrorCode::NotFound).await;

    let dm = alice.dm_with(&bob).await.id;
    bob.client.send_message(dm, &text("hi")).await.unwrap(); // node B caches the block sets
    alice.client.block(bob.id()).await.unwrap();
    let hello = text("hello?");
    refused_within_a_second(|| bob.client.send_message(dm, &hello), ErrorCode::Blocked).await;
    alice.client.unblock(bob.id()).await.unwrap();
    bob.client.send_message(dm, &text("thanks")).await.unwrap();
}

#[tokio::test]
async fn revoking_a_session_on_one_node_closes_its_socket_on_another() {
    let Some(nodes) = spawn_cluster(2).await else { return };
    let laptop = nodes[0].user("alice").await;
    let phone = nodes[1].login("alice").await;
    let mut phone_ws = phone.connect().await;
    laptop.client.revoke_session(phone.auth.session_id).await.unwrap();
    let (code, _) = phone_ws.expect_closed(WAIT).await.unwrap();
    assert_eq!(code, close_code::SESSION_REVOKED);
}

#[tokio::test]
async fn presence_counts_sessions_on_every_node() {
    use confab_proto::rest::PresenceStatus::{Offline, Online};
    let Some(nodes) = spawn_cluster(3).await else { return };
    let alice = nodes[0].user("alice").await;
    let watcher = nodes[2].login_or_register("watcher").await;
    alice.dm_with(&watcher).await;
    let mut watching = watcher.connect().await;
    let alice_on_b = nodes[1].login("alice").await;

    let tab_a = alice.connect().await;
    let tab_b = alice_on_b.connect().await;
    assert_eq!(presence_of(&mut watching, alice.id(), Duration::from_millis(600)).await, vec![Online]);
    drop(tab_a);
    assert!(
        presence_of(&mut watching, alice.id(), Duration::from_millis(800)).await.is_empty(),
        "still online on node B"
    );
    let seen = alice.client.conversations().await.unwrap().conversations[0].clone();
    let on_a = seen.members.iter().find(|m| m.user.id == watcher.id()).unwrap().presence.clone().unwrap();
    assert_eq!(on_a.status, Online, "node A sees node C's user online");
    drop(tab_b);
    assert_eq!(presence_of(&mut watching, alice.id(), Duration::from_millis(1500)).await, vec![Offline]);
}

#[tokio::test]
async fn a_ticket_from_one_node_opens_a_socket_on_another_once() {
    let Some(nodes) = spawn_cluster(2).await else { return };
    let alice = nodes[0].user("alice").await;
    let ticket = alice.client.ws_ticket().await.unwrap();
    let on_b = nodes[1].anonymous().with_token(alice.token());
    let ws = on_b.connect_with_ticket(&ticket.ticket).await.unwrap();
    assert_eq!(ws.ready().user.id, alice.id());
    assert!(on_b.connect_with_ticket(&ticket.ticket).await.is_err(), "a ticket works once, cluster-wide");
    assert!(alice.client.connect_with_ticket(&ticket.ticket).await.is_err());
}

/// A node as a separate `confab` process of the cluster `of`, so that it can be killed for real.
async fn process_node(of: &TestApp, node_id: u16) -> (tokio::process::Child, String, tempfile::TempDir) {
    use tokio::io::AsyncBufReadExt;
    let config = &of.server.app.config;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\ndatabase_url = {:?}\nredis_url = {:?}\nredis_channel = {:?}\nnode_id = {node_id}\n\
         [presence]\ngrace_ms = 200\nnode_ttl_secs = 2\n[auth]\nlogin_attempts_per_ip_per_minute = 10000\n",
        dir.path().display().to_string(),
        config.database_url.clone().unwrap(),
        config.redis_url.clone().unwrap(),
        config.redis_channel,
    );
    let path = dir.path().join("confab.toml");
    std::fs::write(&path, toml).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_confab"))
        .arg("--config")
        .arg(&path)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the confab binary starts");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line =
            tokio::time::timeout(WAIT, lines.next_line()).await.expect("it prints its address").unwrap().unwrap();
        if let Some(at) = line.find("http://") {
            break line[at..].trim().to_owned();
        }
    };
    (child, base, dir)
}

#[tokio::test]
async fn a_killed_node_loses_nothing_acked_and_its_users_go_offline() {
    use confab_proto::frames::{SyncPosition, SyncRequest};
    use confab_proto::rest::PresenceStatus::{Offline, Online};
    let Some(nodes) = spawn_cluster(1).await else { return };
    let node_a = &nodes[0];
    let (mut node_b, b_url, _b_dir) = process_node(node_a, 7).await;

    let watcher = node_a.user("watcher").await;
    let alice_on_a = node_a.user("alice").await;
    let dm = alice_on_a.dm_with(&watcher).await.id;
    let mut watching = watcher.connect().await;
    let alice_b = confab_client::Client::new(&b_url).unwrap().with_token(alice_on_a.token());
    let mut alice_ws = alice_b.connect().await.unwrap();
    assert_eq!(presence_of(&mut watching, alice_on_a.id(), Duration::from_secs(2)).await, vec![Online]);

    // Traffic through node B, acknowledged, then kill -9.
    let mut acked = Vec::new();
    for i in 0..20 {
        let sent = alice_ws
            .send_message(SendMessage {
                conversation_id: dm,
                body: format!("via B {i}"),
                client_id: Some(format!("b-{i}")),
                reply_to: None,
                attachments: vec![],
                tones: vec![],
                literal: false,
                sticker_id: None,
            })
            .await
            .unwrap();
        acked.push(sent.id);
    }
    node_b.start_kill().unwrap();
    let _ = node_b.wait().await;
    // Events already received are still readable; then the socket reports it is gone.
    let gone = loop {
        match alice_ws.next_event_timeout(WAIT).await {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert!(!matches!(gone, confab_client::ClientError::Timeout), "the socket on the dead node is gone: {gone:?}");

    // Her presence converges: offline within the node TTL plus the sweep interval (2 s + ⅔ s
    // here), with room for a loaded machine.
    let seen = presence_of(&mut watching, alice_on_a.id(), Duration::from_secs(12)).await;
    assert_eq!(seen, vec![Offline], "killed node's user goes offline");

    // Nothing acknowledged was lost.
    let history = watcher.client.history(dm, &HistoryQuery { limit: Some(100), ..Default::default() }).await.unwrap();
    for id in &acked {
        assert!(history.messages.iter().any(|m| m.id == *id), "acked message {id} survived the kill");
    }

    // Meanwhile the watcher writes; Alice reconnects to node A and resumes exactly.
    let missed = watcher.client.send_message(dm, &text("while you were away")).await.unwrap();
    let mut again = alice_on_a.connect().await;
    let version_before = history.messages.iter().map(|m| m.version).max().unwrap_or(0);
    let resumed = again
        .sync(SyncRequest { conversations: vec![SyncPosition { id: dm, version: version_before }], limit: None })
        .await
        .unwrap();
    let ids: Vec<_> = resumed.conversations.iter().flat_map(|c| c.messages.iter().map(|m| m.id)).collect();
    assert_eq!(ids, vec![missed.id]);
}

#[tokio::test]
async fn login_attempts_are_counted_across_nodes() {
    use confab_proto::rest::LoginRequest;
    let Some(nodes) = spawn_cluster(2).await else { return };
    nodes[0].user("target").await;
    let guess = LoginRequest { username: "target".into(), password: "not the password at all".into() };
    let limit = nodes[0].server.app.config.auth.login_attempts_per_username_per_minute;
    // Alternate nodes: each alone would still allow attempts; together they reach the limit.
    for attempt in 0..limit {
        let node = &nodes[(attempt % 2) as usize];
        assert_api_error(node.anonymous().login(&guess).await, 401, ErrorCode::InvalidCredentials);
    }
    assert_api_error(nodes[1].anonymous().login(&guess).await, 429, ErrorCode::RateLimited);
    assert_api_error(nodes[0].anonymous().login(&guess).await, 429, ErrorCode::RateLimited);
}

#[tokio::test]
async fn each_node_reports_its_own_metrics_and_bus_traffic() {
    let Some(nodes) = spawn_cluster(2).await else { return };
    let alice = nodes[0].user("alice").await;
    let bob = nodes[1].login_or_register("bob").await;
    let dm = alice.dm_with(&bob).await.id;
    let mut bob_ws = bob.connect().await;
    let received = r#"confab_bus_envelopes_received_total{node="2"}"#;
    let before = metric(&scrape(&nodes[1]).await, received);

    let sent = alice.client.send_message(dm, &text("across the bus")).await.unwrap();
    assert_eq!(next_message(&mut bob_ws).await.id, sent.id);
    let (on_a, on_b) = (scrape(&nodes[0]).await, scrape(&nodes[1]).await);
    assert!(on_a.contains(r#"confab_node_info{node="1","#) && !on_a.contains(r#"node="2""#), "{on_a}");
    assert!(on_b.contains(r#"confab_node_info{node="2","#) && !on_b.contains(r#"node="1""#), "{on_b}");
    assert!(on_a.contains(r#"cluster="true""#));
    assert!(metric(&on_b, received) > before, "the delivery arrived over the bus");
    assert!(metric(&on_b, r#"confab_event_deliveries_total{node="2"}"#) >= 1.0);
    assert_eq!(metric(&on_b, r#"confab_websocket_connections{node="2"}"#), 1.0);
    assert_eq!(metric(&on_a, r#"confab_websocket_connections{node="1"}"#), 0.0);
}

/// A node configured like `of`'s, with `node_id`, not started.
fn node_config_like(of: &TestApp, node_id: Option<u16>) -> (confab_server::Config, tempfile::TempDir) {
    let base = &of.server.app.config;
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path(), base.database_url.clone());
    config.redis_url = base.redis_url.clone();
    config.redis_channel = base.redis_channel.clone();
    config.presence.node_ttl_secs = base.presence.node_ttl_secs;
    config.node_id = node_id;
    (config, dir)
}

#[tokio::test]
async fn a_node_id_held_by_a_live_node_is_refused_and_unset_ids_are_leased_apart() {
    let Some(nodes) = spawn_cluster(1).await else { return };
    let (mut twin, _twin_dir) = node_config_like(&nodes[0], Some(1));
    twin.validate().unwrap();
    let refused = confab_server::Application::build(twin).await.err().expect("a second node 1 is refused");
    assert!(refused.to_string().contains("node_id 1 is held by another live node"), "{refused}");

    let (mut too_big, _dir) = node_config_like(&nodes[0], Some(1024));
    assert!(too_big.validate().is_err(), "ids keep 10 bits of the node id: 1024 would be node 0");

    let mut started = Vec::new();
    for _ in 0..2 {
        let (config, dir) = node_config_like(&nodes[0], None);
        started.push((confab_server::Application::build(config).await.expect("a node without an id starts"), dir));
    }
    let mut ids: Vec<u16> = started.iter().map(|(node, _)| node.app().node_id).collect();
    ids.push(nodes[0].server.app.node_id);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3, "every live node has its own id: {ids:?}");
}

#[tokio::test]
async fn a_user_connected_on_another_node_is_not_notified_as_away() {
    use confab_proto::rest::{NotificationKind, NotificationQuery};
    let host = crate::host_app::start().await;
    let hook = format!("{}/hooks/notify", host.url);
    let Some(nodes) = spawn_cluster_with(2, |c| {
        c.notifications.webhook_url = Some(hook.clone());
        c.notifications.secret = Some(crate::host_app::NOTIFY_SECRET.into());
        c.notifications.batch_window_ms = 200;
    })
    .await
    else {
        return;
    };
    let alice = nodes[0].user("alice").await;
    let bob = nodes[1].login_or_register("bob").await;
    let dm = alice.dm_with(&bob).await.id;
    let mut alice_ws = alice.connect().await;
    let bob_on_b = bob.connect().await;
    assert_eq!(
        presence_of(&mut alice_ws, bob.id(), Duration::from_millis(600)).await,
        vec![confab_proto::rest::PresenceStatus::Online]
    );

    alice.client.send_message(dm, &text("are you there?")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let feed = bob.client.notifications(&NotificationQuery::default()).await.unwrap();
    assert!(feed.notifications.is_empty(), "online on node B is online: {:?}", feed.notifications);
    assert!(host.received().is_empty(), "no offline webhook for a connected user");

    // Once Bob is gone everywhere (after the grace period), the same message notifies him.
    drop(bob_on_b);
    tokio::time::sleep(Duration::from_millis(900)).await;
    alice.client.send_message(dm, &text("gone?")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let feed = bob.client.notifications(&NotificationQuery::default()).await.unwrap();
    let kinds: Vec<_> = feed.notifications.iter().map(|n| n.kind).collect();
    assert_eq!(kinds, vec![NotificationKind::DirectMessage]);
    let pushed: Vec<_> = host.received().into_iter().filter(|(event, _)| event == "notifications.offline").collect();
    assert_eq!(pushed.len(), 1, "one offline push, for the message sent while away");
}

#[tokio::test]
async fn every_session_sees_a_conversation_in_order_while_both_nodes_write() {
    let Some(nodes) = spawn_cluster(2).await else { return };
    let alice = nodes[0].user("alice").await;
    let bob = nodes[1].login_or_register("bob").await;
    let carol = nodes[0].login_or_register("carol").await;
    let id = group(&alice, &[&bob, &carol]).await;
    let carol_on_b = nodes[1].login("carol").await;
    let alice_on_b = nodes[1].login("alice").await;
    let bob_on_a = nodes[0].login("bob").await;
    let mut watchers = Vec::new();
    for user in [&carol, &carol_on_b, &alice, &alice_on_b, &bob, &bob_on_a] {
        watchers.push(user.connect().await);
    }

    // Both nodes learn where the conversation stands (a node's first sight of a conversation
    // cannot know whether an earlier version is still on its way).
    let first = alice.client.send_message(id, &text("first")).await.unwrap();
    for ws in &mut watchers {
        assert_eq!(next_message(ws).await.id, first.id);
    }

    const PER_TASK: usize = 25;
    let mut tasks = Vec::new();
    for client in [&alice.client, &bob.client, &alice.client, &bob.client] {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_TASK {
                client.send_message(id, &text(&format!("m{i}"))).await.unwrap();
            }
        }));
    }
    let readers: Vec<_> = watchers
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let mut seqs = Vec::new();
                while seqs.len() < 4 * PER_TASK {
                    match ws.next_event_timeout(WAIT).await.expect("every message arrives").event {
                        Event::MessageCreated(m) if m.kind == confab_proto::rest::MessageKind::Text => seqs.push(m.seq),
                        Event::Resync(r) => panic!("no fault, yet a resync: {r:?}"),
                        _ => {}
                    }
                }
                seqs
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    for reader in readers {
        let seqs = reader.await.unwrap();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seqs out of order: {seqs:?}");
    }
}

#[tokio::test]
async fn one_users_message_budget_is_shared_by_the_nodes() {
    use confab_server::config::Rate;
    let Some(nodes) = spawn_cluster_with(2, |c| c.rate_limits.messages_per_user = Rate::per_secs(4, 60)).await else {
        return;
    };
    let alice = nodes[0].user("alice").await;
    let alice_on_b = nodes[1].login("alice").await;
    let bob = nodes[1].login_or_register("bob").await;
    let dm = alice.dm_with(&bob).await.id;
    // Two sends on each node: each alone is within its budget; together they spend it.
    for sender in [&alice, &alice_on_b, &alice, &alice_on_b] {
        sender.client.send_message(dm, &text("counted")).await.unwrap();
    }
    assert_api_error(alice_on_b.client.send_message(dm, &text("over")).await, 429, ErrorCode::RateLimited);
    assert_api_error(alice.client.send_message(dm, &text("over")).await, 429, ErrorCode::RateLimited);
    // Bob's budget is his own.
    bob.client.send_message(dm, &text("bob is fine")).await.unwrap();
}
