//! Notifications: what creates them, what silences them, the feed synced across sessions, and
//! offline delivery to the host app in batches.

use std::time::Duration;

use confab_client::Connection;
use confab_proto::frames::Event;
use confab_proto::rest::{
    ChosenStatus, NotificationKind, NotificationLevel, NotificationQuery, SendMessageRequest, SetPresenceRequest,
};
use confab_proto::{ConversationId, ErrorCode};

use crate::helpers::*;
use crate::host_app::{self, HostApp};

const WAIT: Duration = Duration::from_secs(10);

async fn kinds(user: &TestUser) -> Vec<NotificationKind> {
    // Notifications are created off the message path: give them a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let list = user.client.notifications(&NotificationQuery::default()).await.unwrap();
    list.notifications.iter().rev().map(|n| n.kind).collect()
}

async fn spawn_with_offline_hook() -> (TestApp, HostApp) {
    let host = host_app::start().await;
    let url = format!("{}/hooks/notify", host.url);
    let app = spawn_app_with(|c| {
        c.notifications.webhook_url = Some(url);
        c.notifications.secret = Some(host_app::NOTIFY_SECRET.into());
        c.notifications.batch_window_ms = 400;
    })
    .await;
    (app, host)
}

async fn group(owner: &TestUser, members: &[&TestUser]) -> ConversationId {
    let req = confab_proto::rest::CreateConversationRequest::group("Club", members.iter().map(|m| m.id()).collect());
    owner.client.create_conversation(&req).await.unwrap().id
}

#[tokio::test]
async fn mentions_replies_and_contact_requests_notify_live() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let id = group(&alice, &[&bob]).await;
    let mut bob_ws = bob.connect().await;

    alice.client.send_message(id, &text("@bob ping")).await.unwrap();
    let live = loop {
        if let Event::NotificationCreated(n) = bob_ws.next_event_timeout(WAIT).await.unwrap().event {
            break n;
        }
    };
    assert_eq!(
        (live.kind, live.actor_id, live.excerpt.as_str()),
        (NotificationKind::Mention, Some(alice.id()), "@bob ping")
    );
    assert!(!live.read && !live.silent);

    let mine = bob.client.send_message(id, &text("question")).await.unwrap();
    let reply = SendMessageRequest {
        body: "answer".into(),
        client_id: None,
        reply_to: Some(mine.id),
        attachments: vec![],
        tones: vec![],
        literal: false,
        sticker_id: None,
    };
    alice.client.send_message(id, &reply).await.unwrap();
    alice.client.send_message(id, &text("nothing for bob")).await.unwrap();
    // A message's notifications are worked out off the message path: wait for the reply's
    // before the contact request, whose notification is made at once, so the feed's order is
    // the order of the events.
    loop {
        if let Event::NotificationCreated(n) = bob_ws.next_event_timeout(WAIT).await.unwrap().event
            && n.kind == NotificationKind::Reply
        {
            break;
        }
    }
    alice.client.request_contact(bob.id()).await.unwrap();
    bob.client.accept_contact(alice.id()).await.unwrap();

    assert_eq!(
        kinds(&bob).await,
        [NotificationKind::Mention, NotificationKind::Reply, NotificationKind::ContactRequest]
    );
    assert_eq!(kinds(&alice).await, [NotificationKind::ContactAccepted]);
}

#[tokio::test]
async fn levels_restrict_and_do_not_disturb_are_respected() {
    let (app, host) = spawn_with_offline_hook().await;
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    let id = group(&alice, &[&bob, &carol]).await;

    // A muted conversation: not even a mention.
    let muted = bob.client.set_notification_level(id, NotificationLevel::None).await.unwrap();
    assert_eq!(muted.notification_level, Some(NotificationLevel::None));
    alice.client.send_message(id, &text("@bob are you there?")).await.unwrap();
    assert!(kinds(&bob).await.is_empty());
    bob.client.set_notification_level(id, NotificationLevel::Mentions).await.unwrap();
    alice.client.send_message(id, &text("@bob now?")).await.unwrap();
    assert_eq!(kinds(&bob).await, [NotificationKind::Mention]);

    // Restricted: silence, without the restricted user being refused anything.
    carol.client.restrict(alice.id()).await.unwrap();
    alice.client.send_message(id, &text("@carol hello")).await.unwrap();
    assert!(kinds(&carol).await.is_empty());

    // Do not disturb: listed, but silent and never pushed to the host app.
    carol.client.unrestrict(alice.id()).await.unwrap();
    carol.client.set_presence(&SetPresenceRequest { status: ChosenStatus::Dnd, status_text: None }).await.unwrap();
    alice.client.send_message(id, &text("@carol urgent")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    let list = carol.client.notifications(&NotificationQuery::default()).await.unwrap();
    assert_eq!(list.notifications.len(), 1);
    assert!(list.notifications[0].silent);
    let pushed_for_carol =
        host.received().iter().filter(|(_, body)| body["user_id"] == serde_json::json!(carol.id())).count();
    assert_eq!(pushed_for_carol, 0, "DND is not pushed");
}

#[tokio::test]
async fn offline_users_get_one_signed_batch_per_window() {
    let (app, host) = spawn_with_offline_hook().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    for i in 0..3 {
        alice.client.send_message(dm, &text(&format!("are you up? {i}"))).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let batches: Vec<_> = host.received().into_iter().filter(|(event, _)| event == "notifications.offline").collect();
    assert_eq!(batches.len(), 1, "one request for the three messages");
    let body = &batches[0].1;
    assert_eq!(body["user_id"], serde_json::json!(bob.id()));
    let notifications = body["notifications"].as_array().unwrap();
    assert_eq!(notifications.len(), 3);
    assert!(notifications.iter().all(|n| n["kind"] == "direct_message"));
    assert_eq!(host.refused(), 0, "every request was correctly signed");

    // Online users are not pushed, and direct messages to them create no feed entry.
    let _bob_ws = bob.connect().await;
    alice.client.send_message(dm, &text("there you are")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(host.received().len(), 1);
    assert_eq!(bob.client.notifications(&NotificationQuery::default()).await.unwrap().notifications.len(), 3);
}

#[tokio::test]
async fn reading_notifications_syncs_across_sessions() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let id = group(&alice, &[&bob]).await;
    for i in 0..3 {
        alice.client.send_message(id, &text(&format!("@bob {i}"))).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut other_tab: Connection = bob.connect().await;
    let list = bob.client.notifications(&NotificationQuery::default()).await.unwrap();
    assert_eq!(list.unread_count, 3);
    let first = list.notifications[0].id.clone();
    let marked = bob.client.mark_notifications_read(Some(vec![first.clone()])).await.unwrap();
    assert_eq!((marked.ids, marked.unread_count), (vec![first], 2));
    loop {
        if let Event::NotificationsRead(r) = other_tab.next_event_timeout(WAIT).await.unwrap().event {
            assert_eq!(r.unread_count, 2);
            break;
        }
    }
    let all = bob.client.mark_notifications_read(None).await.unwrap();
    assert!(all.all && all.unread_count == 0);
    let bad = bob.client.mark_notifications_read(Some(vec!["not-an-id".into()])).await;
    assert_api_error(bad, 400, ErrorCode::InvalidParameter);

    let unread = bob.client.unread().await.unwrap();
    assert_eq!((unread.total_messages, unread.notifications), (3, 0));
    assert_eq!(unread.conversations[0].conversation_id, id);
}

#[tokio::test]
async fn open_offline_batches_are_sent_at_shutdown_not_dropped() {
    let host = host_app::start().await;
    let url = format!("{}/hooks/notify", host.url);
    let app = spawn_app_with(|c| {
        c.notifications.webhook_url = Some(url);
        c.notifications.secret = Some(host_app::NOTIFY_SECRET.into());
        c.notifications.batch_window_ms = 600_000; // would close long after the test
    })
    .await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    for i in 0..2 {
        alice.client.send_message(dm, &text(&format!("before the restart {i}"))).await.unwrap();
    }
    assert_eq!(kinds(&bob).await.len(), 2, "both notifications are made and batched");
    assert!(host.received().is_empty(), "the batch window is still open");

    let node = app.server.app.clone();
    let TestApp { server, data_dir: _data_dir, database: _database, .. } = app;
    server.stop().await;
    let batches: Vec<_> = host.received().into_iter().filter(|(event, _)| event == "notifications.offline").collect();
    assert_eq!(batches.len(), 1, "the open batch went out as the server stopped");
    assert_eq!(batches[0].1["notifications"].as_array().map(Vec::len), Some(2));
    assert!(node.tasks.is_empty(), "no background task outlives the server");
}
