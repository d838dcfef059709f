//! People: contacts, blocking (every rule, and unblock restoring it), restriction, presence,
//! profiles and search.

use std::time::Duration;

use confab_client::{ClientError, Connection};
use confab_proto::frames::{Event, SendMessage, SyncPosition, SyncRequest};
use confab_proto::rest::{
    ChosenStatus, ContactState, CreateConversationRequest, HistoryQuery, PresenceStatus, SetPresenceRequest,
    UpdateProfileRequest, UserSearchQuery,
};
use confab_proto::{ConversationId, ErrorCode, UserId};

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(10);

fn command_error<T: std::fmt::Debug>(r: Result<T, ClientError>) -> ErrorCode {
    match r {
        Err(ClientError::Command(e)) => e.code,
        other => panic!("expected a refused command, got {other:?}"),
    }
}

async fn contact_event(ws: &mut Connection) -> (UserId, ContactState) {
    loop {
        if let Event::ContactUpdated(c) = ws.next_event_timeout(WAIT).await.unwrap().event {
            return (c.user.id, c.state);
        }
    }
}

async fn group(owner: &TestUser, members: &[&TestUser]) -> ConversationId {
    let req = CreateConversationRequest::group("Club", members.iter().map(|m| m.id()).collect());
    owner.client.create_conversation(&req).await.unwrap().id
}

#[tokio::test]
async fn contact_requests_are_live_on_every_session_of_both_users() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let mut alice_tab = alice.connect().await;
    let mut bob_phone = bob.connect().await;

    let sent = alice.client.request_contact(bob.id()).await.unwrap();
    assert_eq!(sent.state, ContactState::Outgoing);
    assert_eq!(contact_event(&mut alice_tab).await, (bob.id(), ContactState::Outgoing));
    assert_eq!(contact_event(&mut bob_phone).await, (alice.id(), ContactState::Incoming));
    assert_eq!(bob.client.contacts().await.unwrap().incoming.len(), 1);

    // Asking back accepts.
    let accepted = bob.client.request_contact(alice.id()).await.unwrap();
    assert_eq!(accepted.state, ContactState::Contact);
    assert_eq!(contact_event(&mut alice_tab).await, (bob.id(), ContactState::Contact));
    assert_eq!(contact_event(&mut bob_phone).await, (alice.id(), ContactState::Contact));
    let list = alice.client.contacts().await.unwrap();
    assert_eq!(list.contacts.iter().map(|c| c.user.id).collect::<Vec<_>>(), vec![bob.id()]);
    assert!(list.incoming.is_empty() && list.outgoing.is_empty());
    assert_eq!(
        list.contacts[0].presence.as_ref().map(|p| p.status),
        Some(PresenceStatus::Online),
        "contacts carry presence"
    );

    bob.client.remove_contact(alice.id()).await.unwrap();
    assert_eq!(contact_event(&mut alice_tab).await, (bob.id(), ContactState::None));
    assert!(alice.client.contacts().await.unwrap().contacts.is_empty());
}

#[tokio::test]
async fn decline_cancel_and_bad_contact_requests() {
    let app = spawn_app().await;
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    assert_api_error(alice.client.request_contact(alice.id()).await, 403, ErrorCode::Forbidden);
    assert_api_error(alice.client.request_contact(UserId(4242)).await, 404, ErrorCode::NotFound);

    alice.client.request_contact(bob.id()).await.unwrap();
    // A request meant for Bob cannot be accepted or declined by Carol, nor by its sender.
    assert_api_error(carol.client.accept_contact(alice.id()).await, 404, ErrorCode::NotFound);
    assert_api_error(alice.client.accept_contact(bob.id()).await, 404, ErrorCode::NotFound);
    assert_api_error(carol.client.decline_contact(alice.id()).await, 404, ErrorCode::NotFound);
    assert_eq!(bob.client.contacts().await.unwrap().incoming.len(), 1, "nothing changed");

    bob.client.decline_contact(alice.id()).await.unwrap();
    assert!(bob.client.contacts().await.unwrap().incoming.is_empty());
    alice.client.request_contact(carol.id()).await.unwrap();
    alice.client.remove_contact(carol.id()).await.unwrap(); // cancel
    assert!(carol.client.contacts().await.unwrap().incoming.is_empty());
    assert_api_error(alice.client.remove_contact(carol.id()).await, 404, ErrorCode::NotFound);
}

#[tokio::test]
async fn a_block_stops_direct_messages_both_ways_on_rest_and_websocket_until_unblocked() {
    let app = spawn_app().await;
    let (alice, mallory) = (app.user("alice").await, app.user("mallory").await);
    let dm = alice.dm_with(&mallory).await.id;
    mallory.client.send_message(dm, &text("hi")).await.unwrap();
    let earlier = mallory.client.send_message(dm, &text("earlier")).await.unwrap();

    assert_api_error(alice.client.block(alice.id()).await, 403, ErrorCode::Forbidden);
    alice.client.block(mallory.id()).await.unwrap();

    assert_api_error(mallory.client.open_direct(alice.id()).await, 403, ErrorCode::Blocked);
    assert_api_error(mallory.client.send_message(dm, &text("let me in")).await, 403, ErrorCode::Blocked);
    assert_api_error(alice.client.send_message(dm, &text("bye")).await, 403, ErrorCode::Blocked);
    assert_api_error(mallory.client.edit_message(dm, earlier.id, "edited").await, 403, ErrorCode::Blocked);
    let mut ws = mallory.connect().await;
    let over_ws = ws
        .send_message(SendMessage {
            conversation_id: dm,
            body: "ws".into(),
            client_id: None,
            reply_to: None,
            attachments: vec![],
            tones: vec![],
            literal: false,
            sticker_id: None,
        })
        .await;
    assert_eq!(command_error(over_ws), ErrorCode::Blocked);
    assert_eq!(command_error(ws.react(dm, earlier.id, "👎", true).await), ErrorCode::Blocked);
    assert_eq!(
        alice.client.history(dm, &HistoryQuery::default()).await.unwrap().messages.len(),
        2,
        "nothing was stored"
    );

    // The blocker's list is theirs alone.
    assert_eq!(
        alice.client.blocks().await.unwrap().blocked.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![mallory.id()]
    );
    assert!(mallory.client.blocks().await.unwrap().blocked.is_empty());

    alice.client.unblock(mallory.id()).await.unwrap();
    mallory.client.send_message(dm, &text("sorry")).await.unwrap();
    ws.send_message(SendMessage {
        conversation_id: dm,
        body: "ws works".into(),
        client_id: None,
        reply_to: None,
        attachments: vec![],
        tones: vec![],
        literal: false,
        sticker_id: None,
    })
    .await
    .unwrap();
    assert_api_error(alice.client.unblock(mallory.id()).await, 404, ErrorCode::NotFound);
}

#[tokio::test]
async fn a_blocked_user_cannot_add_the_blocker_to_groups_or_send_contact_requests() {
    let app = spawn_app().await;
    let (alice, bob, mallory) = (app.user("alice").await, app.user("bob").await, app.user("mallory").await);
    mallory.client.request_contact(alice.id()).await.unwrap();
    alice.client.block(mallory.id()).await.unwrap();
    assert!(alice.client.contacts().await.unwrap().incoming.is_empty(), "the pending request was dropped");

    assert_api_error(mallory.client.request_contact(alice.id()).await, 403, ErrorCode::Blocked);
    let with_alice = CreateConversationRequest::group("Trap", vec![alice.id(), bob.id()]);
    assert_api_error(mallory.client.create_conversation(&with_alice).await, 403, ErrorCode::Blocked);
    let own = group(&mallory, &[&bob]).await;
    assert_api_error(mallory.client.add_members(own, vec![alice.id()]).await, 403, ErrorCode::Blocked);
    assert!(alice.client.conversations().await.unwrap().conversations.is_empty());

    alice.client.unblock(mallory.id()).await.unwrap();
    mallory.client.add_members(own, vec![alice.id()]).await.unwrap();
    mallory.client.request_contact(alice.id()).await.unwrap();
}

#[tokio::test]
async fn you_cannot_befriend_block_or_restrict_yourself_and_the_refusal_is_forbidden() {
    // 403, not 400: the request is well formed (schema-valid); what forbids it is who asks.
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    assert_api_error(alice.client.request_contact(alice.id()).await, 403, ErrorCode::Forbidden);
    assert_api_error(alice.client.block(alice.id()).await, 403, ErrorCode::Forbidden);
    assert_api_error(alice.client.restrict(alice.id()).await, 403, ErrorCode::Forbidden);
    assert_api_error(alice.client.unrestrict(alice.id()).await, 403, ErrorCode::Forbidden);
    let contacts = alice.client.contacts().await.unwrap();
    assert!(contacts.incoming.is_empty() && contacts.outgoing.is_empty(), "no request was made");
    let blocks = alice.client.blocks().await.unwrap();
    assert!(blocks.blocked.is_empty() && blocks.restricted.is_empty(), "nothing changed");
}

#[tokio::test]
async fn in_shared_groups_the_blocker_gets_collapsed_messages_everywhere() {
    let app = spawn_app().await;
    let (alice, bob, mallory) = (app.user("alice").await, app.user("bob").await, app.user("mallory").await);
    let id = group(&bob, &[&alice, &mallory]).await;
    alice.client.block(mallory.id()).await.unwrap();
    let mut alice_ws = alice.connect().await;
    let mut bob_ws = bob.connect().await;

    let sent = mallory.client.send_message(id, &text("you can't hide, @alice")).await.unwrap();
    let live_for_alice = loop {
        if let Event::MessageCreated(m) = alice_ws.next_event_timeout(WAIT).await.unwrap().event {
            break m;
        }
    };
    assert!(live_for_alice.collapsed && live_for_alice.body.is_empty() && live_for_alice.mentions.is_empty());
    assert_eq!((live_for_alice.id, live_for_alice.seq), (sent.id, sent.seq), "it keeps its place");
    let live_for_bob = loop {
        if let Event::MessageCreated(m) = bob_ws.next_event_timeout(WAIT).await.unwrap().event {
            break m;
        }
    };
    assert_eq!(live_for_bob.body, "you can't hide, @alice");

    let history = alice.client.history(id, &HistoryQuery::default()).await.unwrap();
    let stored = history.messages.iter().find(|m| m.id == sent.id).unwrap();
    assert!(stored.collapsed && stored.body.is_empty());
    let from_start = SyncRequest { conversations: vec![SyncPosition { id, version: 0 }], limit: None };
    let synced = alice.client.sync(&from_start).await.unwrap();
    let in_sync = synced.conversations[0].messages.iter().find(|m| m.id == sent.id).unwrap();
    assert!(in_sync.collapsed && in_sync.body.is_empty());

    alice.client.unblock(mallory.id()).await.unwrap();
    let history = alice.client.history(id, &HistoryQuery::default()).await.unwrap();
    assert_eq!(history.messages.iter().find(|m| m.id == sent.id).unwrap().body, "you can't hide, @alice");
}

#[tokio::test]
async fn a_blocked_user_sees_neither_presence_nor_typing_nor_search_results_of_the_blocker() {
    let app = spawn_app_with(|c| c.presence.grace_ms = 200).await;
    let (alice, mallory) = (app.user("alice").await, app.user("mallory").await);
    let id = group(&alice, &[&mallory]).await;
    let mut mallory_ws = mallory.connect().await;
    let alice_ws = alice.connect().await;
    assert_eq!(
        presence_of(&mut mallory_ws, alice.id(), Duration::from_millis(500)).await,
        vec![PresenceStatus::Online]
    );

    alice.client.block(mallory.id()).await.unwrap();
    assert_eq!(
        presence_of(&mut mallory_ws, alice.id(), Duration::from_millis(500)).await,
        vec![PresenceStatus::Offline]
    );
    let member = mallory.client.conversation(id).await.unwrap();
    let alice_there = member.members.iter().find(|m| m.user.id == alice.id()).unwrap();
    assert_eq!(alice_there.presence, None, "no presence for the blocker in REST either");

    // Alice's comings and goings and her typing do not reach Mallory.
    drop(alice_ws);
    let mut alice_ws = alice.connect().await;
    alice_ws.typing(id).await.unwrap();
    assert!(presence_of(&mut mallory_ws, alice.id(), Duration::from_millis(700)).await.is_empty());
    let frames = next_frame(&mut mallory_ws, Duration::from_millis(300)).await;
    assert!(matches!(frames, Err(ClientError::Timeout)), "no typing: {frames:?}");

    let search = UserSearchQuery { q: "ali".into(), limit: None, cursor: None };
    assert!(mallory.client.search_users(&search).await.unwrap().users.is_empty());
    let bob = app.user("bob").await;
    assert_eq!(bob.client.search_users(&search).await.unwrap().users.len(), 1, "others still find her");

    alice.client.unblock(mallory.id()).await.unwrap();
    assert_eq!(
        presence_of(&mut mallory_ws, alice.id(), Duration::from_millis(500)).await,
        vec![PresenceStatus::Online]
    );
    assert_eq!(mallory.client.search_users(&search).await.unwrap().users.len(), 1);
    tokio::time::sleep(Duration::from_millis(2100)).await; // past the typing throttle
    alice_ws.typing(id).await.unwrap();
    match next_frame(&mut mallory_ws, WAIT).await.unwrap().event {
        Event::Typing(t) => assert_eq!(t.user_id, alice.id()),
        other => panic!("expected typing, got {other:?}"),
    }
}

#[tokio::test]
async fn restricting_refuses_nothing() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    alice.client.restrict(bob.id()).await.unwrap();
    let dm = bob.dm_with(&alice).await.id;
    bob.client.send_message(dm, &text("still reaching you")).await.unwrap();
    assert_eq!(
        alice.client.blocks().await.unwrap().restricted.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![bob.id()]
    );
    alice.client.unrestrict(bob.id()).await.unwrap();
    assert!(alice.client.blocks().await.unwrap().restricted.is_empty());
    assert_api_error(alice.client.restrict(alice.id()).await, 403, ErrorCode::Forbidden);
}

#[tokio::test]
async fn presence_is_pushed_to_small_groups_and_read_in_large_ones() {
    let app = spawn_app_with(|c| c.presence.push_group_limit = 2).await;
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    let large = group(&alice, &[&bob, &carol]).await;
    let mut carol_ws = carol.connect().await;
    let _alice_ws = alice.connect().await;
    assert!(
        presence_of(&mut carol_ws, alice.id(), Duration::from_millis(500)).await.is_empty(),
        "a group above the limit gets no pushed presence"
    );
    let members = carol.client.conversation(large).await.unwrap().members;
    let alice_there = members.iter().find(|m| m.user.id == alice.id()).unwrap();
    assert_eq!(alice_there.presence.as_ref().map(|p| p.status), Some(PresenceStatus::Online), "read on demand");

    // Bob shares a group of two with Alice: within the limit, pushed as before.
    group(&alice, &[&bob]).await;
    let mut bob_ws = bob.connect().await;
    alice.client.set_presence(&SetPresenceRequest { status: ChosenStatus::Away, status_text: None }).await.unwrap();
    assert_eq!(presence_of(&mut bob_ws, alice.id(), Duration::from_millis(500)).await, vec![PresenceStatus::Away]);
    assert!(presence_of(&mut carol_ws, alice.id(), Duration::from_millis(300)).await.is_empty());
}

#[tokio::test]
async fn presence_follows_sessions_with_a_grace_period() {
    let app = spawn_app_with(|c| c.presence.grace_ms = 300).await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    alice.client.request_contact(bob.id()).await.unwrap();
    bob.client.request_contact(alice.id()).await.unwrap();
    let mut watcher = bob.connect().await;

    let tab1 = alice.connect().await;
    let tab2 = alice.connect().await;
    assert_eq!(presence_of(&mut watcher, alice.id(), Duration::from_millis(400)).await, vec![PresenceStatus::Online]);
    drop(tab1);
    assert!(
        presence_of(&mut watcher, alice.id(), Duration::from_millis(800)).await.is_empty(),
        "one tab left: still online"
    );
    drop(tab2);
    assert_eq!(presence_of(&mut watcher, alice.id(), Duration::from_millis(1200)).await, vec![PresenceStatus::Offline]);
    let contact = bob.client.contacts().await.unwrap().contacts.remove(0);
    let presence = contact.presence.unwrap();
    assert_eq!(presence.status, PresenceStatus::Offline);
    assert!(presence.last_seen_at.is_some(), "last seen is recorded");

    // A quick reconnect (a page reload) causes no flap.
    let tab = alice.connect().await;
    assert_eq!(presence_of(&mut watcher, alice.id(), Duration::from_millis(400)).await, vec![PresenceStatus::Online]);
    drop(tab);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _tab = alice.connect().await;
    assert!(
        presence_of(&mut watcher, alice.id(), Duration::from_millis(1000)).await.is_empty(),
        "no offline/online flap"
    );
}

#[tokio::test]
async fn statuses_invisibility_and_who_may_see_presence() {
    let app = spawn_app_with(|c| c.presence.grace_ms = 200).await;
    let (alice, bob, stranger) = (app.user("alice").await, app.user("bob").await, app.user("stranger").await);
    alice.dm_with(&bob).await;
    let mut bob_ws = bob.connect().await;
    let mut stranger_ws = stranger.connect().await;
    let _alice_ws = alice.connect().await;
    assert_eq!(presence_of(&mut bob_ws, alice.id(), Duration::from_millis(400)).await, vec![PresenceStatus::Online]);

    let dnd = SetPresenceRequest { status: ChosenStatus::Dnd, status_text: Some("in a match".into()) };
    let own = alice.client.set_presence(&dnd).await.unwrap();
    assert_eq!((own.status, own.seen_as), (ChosenStatus::Dnd, PresenceStatus::Dnd));
    assert_eq!(presence_of(&mut bob_ws, alice.id(), Duration::from_millis(400)).await, vec![PresenceStatus::Dnd]);

    let invisible = SetPresenceRequest { status: ChosenStatus::Invisible, status_text: None };
    assert_eq!(alice.client.set_presence(&invisible).await.unwrap().seen_as, PresenceStatus::Offline);
    assert_eq!(presence_of(&mut bob_ws, alice.id(), Duration::from_millis(400)).await, vec![PresenceStatus::Offline]);
    let dm = bob.client.conversations().await.unwrap().conversations.remove(0);
    let seen = dm.members.iter().find(|m| m.user.id == alice.id()).unwrap().presence.clone().unwrap();
    assert_eq!((seen.status, seen.last_seen_at), (PresenceStatus::Offline, None), "invisible reveals nothing");

    assert!(
        presence_of(&mut stranger_ws, alice.id(), Duration::from_millis(300)).await.is_empty(),
        "strangers see nothing"
    );
    let long = SetPresenceRequest { status: ChosenStatus::Online, status_text: Some("x".repeat(141)) };
    assert_api_error(alice.client.set_presence(&long).await, 400, ErrorCode::InvalidParameter);
}

#[tokio::test]
async fn a_changed_profile_reaches_those_who_see_the_user_but_not_whom_they_blocked() {
    let app = spawn_app().await;
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    alice.dm_with(&bob).await;
    alice.dm_with(&carol).await;
    alice.client.block(carol.id()).await.unwrap();
    let (mut bob_ws, mut carol_ws, mut alice_ws) = (bob.connect().await, carol.connect().await, alice.connect().await);
    let update = UpdateProfileRequest { display_name: Some("Alice P.".into()), ..Default::default() };
    alice.client.update_profile(&update).await.unwrap();
    let renamed = |e: Event| match e {
        Event::UserUpdated(user) if user.id == alice.id() => Some(user.display_name),
        _ => None,
    };
    assert_eq!(first_event(&mut bob_ws, WAIT, renamed).await.as_deref(), Some("Alice P."));
    assert_eq!(first_event(&mut alice_ws, WAIT, renamed).await.as_deref(), Some("Alice P."), "her own sessions");
    assert_eq!(first_event(&mut carol_ws, Duration::from_millis(500), renamed).await, None, "carol is blocked");
}

#[tokio::test]
async fn profiles_are_validated_and_link_to_the_host_app() {
    let app = spawn_app_with(|c| c.profiles.link_template = Some("https://game.example/users/{username}".into())).await;
    let alice = app.user("alice").await;
    assert_eq!(alice.auth.user.profile_url.as_deref(), Some("https://game.example/users/alice"));
    let update = UpdateProfileRequest {
        display_name: Some("Alice P.".into()),
        avatar_url: Some("https://cdn.example/a.png".into()),
        bio: Some("Pong since 1972".into()),
    };
    let me = alice.client.update_profile(&update).await.unwrap();
    assert_eq!((me.display_name.as_str(), me.bio.as_deref()), ("Alice P.", Some("Pong since 1972")));

    let js = UpdateProfileRequest { avatar_url: Some("javascript:alert(1)".into()), ..Default::default() };
    assert_api_error(alice.client.update_profile(&js).await, 400, ErrorCode::InvalidParameter);
    let long_bio = UpdateProfileRequest { bio: Some("b".repeat(1001)), ..Default::default() };
    assert_api_error(alice.client.update_profile(&long_bio).await, 400, ErrorCode::InvalidParameter);
    let mib_bio = UpdateProfileRequest { bio: Some("b".repeat(1024 * 1024)), ..Default::default() };
    assert_api_error(alice.client.update_profile(&mib_bio).await, 413, ErrorCode::PayloadTooLarge);
    let after = alice.client.me().await.unwrap();
    assert_eq!(
        (after.avatar_url.as_deref(), after.bio.as_deref()),
        (Some("https://cdn.example/a.png"), Some("Pong since 1972"))
    );

    let clear = UpdateProfileRequest { bio: Some(String::new()), ..Default::default() };
    assert_eq!(alice.client.update_profile(&clear).await.unwrap().bio, None);
}

#[tokio::test]
async fn search_finds_by_prefix_pages_and_is_rate_limited() {
    let app = spawn_app().await;
    let searcher = app.user("searcher").await;
    for name in ["pongo", "pongmaster", "pong_99", "ping"] {
        app.user(name).await;
    }
    app.anonymous()
        .register(&confab_proto::rest::RegisterRequest {
            username: "zed".into(),
            password: PASSWORD.into(),
            display_name: Some("Pong Queen".into()),
        })
        .await
        .unwrap();
    let mut found = Vec::new();
    let mut cursor = None;
    loop {
        let page =
            searcher.client.search_users(&UserSearchQuery { q: "PONG".into(), limit: Some(2), cursor }).await.unwrap();
        found.extend(page.users.into_iter().map(|u| u.username));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(found, ["pong_99", "pongmaster", "pongo", "zed"]);
    let wildcard = UserSearchQuery { q: "%".into(), limit: None, cursor: None };
    assert!(searcher.client.search_users(&wildcard).await.unwrap().users.is_empty(), "LIKE wildcards are literal");
    let empty = UserSearchQuery { q: " ".into(), limit: None, cursor: None };
    assert_api_error(searcher.client.search_users(&empty).await, 400, ErrorCode::InvalidParameter);

    let mut limited = false;
    for _ in 0..40 {
        match searcher.client.search_users(&UserSearchQuery { q: "p".into(), limit: None, cursor: None }).await {
            Err(ClientError::Api { status: 429, .. }) => {
                limited = true;
                break;
            }
            other => {
                other.unwrap();
            }
        }
    }
    assert!(limited, "search is rate limited");
}

/// Every frame `ws` receives up to (and including) the `message.created` whose body is `marker`.
async fn frames_until(ws: &mut Connection, marker: &str) -> Vec<Event> {
    let mut seen = Vec::new();
    loop {
        let event = ws.next_event_timeout(WAIT).await.unwrap().event;
        let done = matches!(&event, Event::MessageCreated(m) if m.body == marker);
        seen.push(event);
        if done {
            return seen;
        }
    }
}

/// Whether `events` show `user`'s typing or read position.
fn shows_live_state_of(events: &[Event], user: UserId) -> bool {
    events.iter().any(|e| match e {
        Event::Typing(t) => t.user_id == user,
        Event::ReadUpdated(r) => r.user_id == user,
        _ => false,
    })
}

fn read_seq_of(conversation: &confab_proto::rest::Conversation, user: UserId) -> i64 {
    conversation.members.iter().find(|m| m.user.id == user).map(|m| m.read_seq).unwrap()
}

#[tokio::test]
async fn typing_and_read_receipts_do_not_cross_a_block_either_way() {
    let app = spawn_app().await;
    let (alice, bob, mallory) = (app.user("alice").await, app.user("bob").await, app.user("mallory").await);
    let dm = alice.dm_with_id(mallory.id()).await;
    let id = group(&bob, &[&alice, &mallory]).await;
    bob.client.send_message(id, &text("one")).await.unwrap();
    let two = bob.client.send_message(id, &text("two")).await.unwrap();
    alice.client.block(mallory.id()).await.unwrap();
    let mut alice_ws = alice.connect().await;
    let mut mallory_ws = mallory.connect().await;
    let mut bob_ws = bob.connect().await;

    // In their direct conversation typing is refused like writing, to both, on REST and WS.
    assert_api_error(mallory.client.typing(dm).await, 403, ErrorCode::Blocked);
    assert_eq!(command_error(mallory_ws.typing(dm).await), ErrorCode::Blocked);
    assert_api_error(alice.client.typing(dm).await, 403, ErrorCode::Blocked);

    // In the group both may type and read; neither sees the other's, everyone else sees both.
    mallory.client.typing(id).await.unwrap();
    alice_ws.typing(id).await.unwrap();
    mallory_ws.mark_read(id, two.seq).await.unwrap();
    alice.client.mark_read(id, two.seq).await.unwrap();
    bob.client.send_message(id, &text("marker")).await.unwrap();

    let to_alice = frames_until(&mut alice_ws, "marker").await;
    assert!(!shows_live_state_of(&to_alice, mallory.id()), "Alice saw Mallory's: {to_alice:?}");
    assert!(
        to_alice.iter().any(|e| matches!(e, Event::ReadUpdated(r) if r.user_id == alice.id())),
        "her own read position still reaches her sessions"
    );
    let to_mallory = frames_until(&mut mallory_ws, "marker").await;
    assert!(!shows_live_state_of(&to_mallory, alice.id()), "Mallory saw Alice's: {to_mallory:?}");
    let to_bob = frames_until(&mut bob_ws, "marker").await;
    assert!(shows_live_state_of(&to_bob, alice.id()) && shows_live_state_of(&to_bob, mallory.id()));
    let typists: Vec<UserId> =
        to_bob.iter().filter_map(|e| if let Event::Typing(t) = e { Some(t.user_id) } else { None }).collect();
    assert_eq!(typists.len(), 2, "{to_bob:?}");

    // Receipts in REST answers, the list and sync follow the same rule.
    assert_eq!(read_seq_of(&alice.client.conversation(id).await.unwrap(), mallory.id()), 0);
    assert_eq!(read_seq_of(&mallory.client.conversation(id).await.unwrap(), alice.id()), 0);
    let seen_by_bob = bob.client.conversation(id).await.unwrap();
    assert_eq!((read_seq_of(&seen_by_bob, alice.id()), read_seq_of(&seen_by_bob, mallory.id())), (two.seq, two.seq));
    let listed = mallory.client.conversations().await.unwrap().conversations;
    let in_list = listed.iter().find(|c| c.id == id).unwrap();
    assert_eq!(read_seq_of(in_list, alice.id()), 0);
    let from_start = SyncRequest { conversations: vec![SyncPosition { id, version: 0 }], limit: None };
    let synced = mallory.client.sync(&from_start).await.unwrap();
    assert_eq!(read_seq_of(&synced.conversations[0].conversation, alice.id()), 0);

    // And so does the conversation in `conversation.updated`.
    let rename = confab_proto::rest::UpdateConversationRequest { name: Some("Club 2".into()), ..Default::default() };
    bob.client.update_conversation(id, &rename).await.unwrap();
    for (ws, other) in [(&mut alice_ws, mallory.id()), (&mut mallory_ws, alice.id())] {
        let updated = loop {
            if let Event::ConversationUpdated(c) = ws.next_event_timeout(WAIT).await.unwrap().event {
                break c;
            }
        };
        assert_eq!(read_seq_of(&updated, other), 0);
    }
    let updated_for_bob = loop {
        if let Event::ConversationUpdated(c) = bob_ws.next_event_timeout(WAIT).await.unwrap().event {
            break c;
        }
    };
    assert_eq!(read_seq_of(&updated_for_bob, mallory.id()), two.seq);

    // Unblocking restores receipts.
    alice.client.unblock(mallory.id()).await.unwrap();
    assert_eq!(read_seq_of(&alice.client.conversation(id).await.unwrap(), mallory.id()), two.seq);
    mallory.client.typing(dm).await.unwrap();
}

#[tokio::test]
async fn quotes_of_a_blocked_user_carry_no_excerpt_live_or_stored() {
    let app = spawn_app().await;
    let (alice, bob, mallory) = (app.user("alice").await, app.user("bob").await, app.user("mallory").await);
    let id = group(&bob, &[&alice, &mallory]).await;
    let original = mallory.client.send_message(id, &text("secret plans")).await.unwrap();
    alice.client.block(mallory.id()).await.unwrap();
    let mut alice_ws = alice.connect().await;
    let mut bob_ws = bob.connect().await;

    let quoting = confab_proto::rest::SendMessageRequest {
        body: "about that".into(),
        client_id: None,
        reply_to: Some(original.id),
        attachments: vec![],
        tones: vec![],
        literal: false,
        sticker_id: None,
    };
    let reply = bob.client.send_message(id, &quoting).await.unwrap();
    assert_eq!(reply.reply.as_ref().unwrap().excerpt, "secret plans", "Bob sees what he quotes");
    let created = loop {
        if let Event::MessageCreated(m) = alice_ws.next_event_timeout(WAIT).await.unwrap().event {
            break m;
        }
    };
    let quote = created.reply.as_ref().unwrap();
    assert_eq!((quote.message_id, quote.excerpt.as_str()), (original.id, ""), "live: {created:?}");
    assert_eq!(created.body, "about that", "Bob's own text is not collapsed");
    let for_bob = loop {
        if let Event::MessageCreated(m) = bob_ws.next_event_timeout(WAIT).await.unwrap().event {
            break m;
        }
    };
    assert_eq!(for_bob.reply.unwrap().excerpt, "secret plans");

    bob.client.edit_message(id, reply.id, "about that, again").await.unwrap();
    let updated = loop {
        if let Event::MessageUpdated(m) = alice_ws.next_event_timeout(WAIT).await.unwrap().event {
            break m;
        }
    };
    assert_eq!((updated.body.as_str(), updated.reply.unwrap().excerpt.as_str()), ("about that, again", ""));
    let reacted = alice.client.add_reaction(id, reply.id, "👍").await.unwrap();
    assert_eq!(reacted.reply.unwrap().excerpt, "", "Alice's own answer follows the same rule");

    // History, sync and the list agree with the live events.
    let history = alice.client.history(id, &HistoryQuery::default()).await.unwrap();
    let stored = history.messages.iter().find(|m| m.id == reply.id).unwrap();
    assert_eq!(stored.reply.as_ref().unwrap().excerpt, "");
    let from_start = SyncRequest { conversations: vec![SyncPosition { id, version: 0 }], limit: None };
    let synced = alice.client.sync(&from_start).await.unwrap();
    let in_sync = synced.conversations[0].messages.iter().find(|m| m.id == reply.id).unwrap();
    assert_eq!(in_sync.reply.as_ref().unwrap().excerpt, "");
    let listed = alice.client.conversation(id).await.unwrap();
    assert_eq!(listed.last_message.unwrap().reply.unwrap().excerpt, "");

    alice.client.unblock(mallory.id()).await.unwrap();
    let history = alice.client.history(id, &HistoryQuery::default()).await.unwrap();
    let restored = history.messages.iter().find(|m| m.id == reply.id).unwrap();
    assert_eq!(restored.reply.as_ref().unwrap().excerpt, "secret plans");
}

#[tokio::test]
async fn names_bios_and_statuses_that_reorder_or_hide_text_are_refused() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let mallory = app.user("mallory").await;
    let spoof = "\u{202E}ecila"; // renders as "alice"
    let as_name = UpdateProfileRequest { display_name: Some(spoof.into()), ..Default::default() };
    assert_api_error(mallory.client.update_profile(&as_name).await, 400, ErrorCode::InvalidParameter);
    let hidden = UpdateProfileRequest { bio: Some("hi\u{200B}there".into()), ..Default::default() };
    assert_api_error(mallory.client.update_profile(&hidden).await, 400, ErrorCode::InvalidParameter);
    let me = mallory.client.me().await.unwrap();
    assert_eq!((me.display_name.as_str(), me.bio), ("mallory", None), "nothing changed");

    let register = confab_proto::rest::RegisterRequest {
        username: "eve".into(),
        password: "correct horse battery".into(),
        display_name: Some(format!("{spoof}\u{2069}")),
    };
    assert_api_error(app.anonymous().register(&register).await, 400, ErrorCode::InvalidParameter);

    let status = SetPresenceRequest { status: ChosenStatus::Online, status_text: Some("\u{2066}afk".into()) };
    assert_api_error(mallory.client.set_presence(&status).await, 400, ErrorCode::InvalidParameter);
    assert_eq!(mallory.client.presence().await.unwrap().status_text, None);

    let named = CreateConversationRequest::group("\u{202E}buLC", vec![alice.id()]);
    assert_api_error(mallory.client.create_conversation(&named).await, 400, ErrorCode::InvalidParameter);
    assert!(mallory.client.conversations().await.unwrap().conversations.is_empty());
    let id = group(&mallory, &[&alice]).await;
    for bad in [
        confab_proto::rest::UpdateConversationRequest { name: Some("Cl\u{FEFF}ub".into()), ..Default::default() },
        confab_proto::rest::UpdateConversationRequest { topic: Some("\u{202D}pong".into()), ..Default::default() },
    ] {
        assert_api_error(mallory.client.update_conversation(id, &bad).await, 400, ErrorCode::InvalidParameter);
    }
    let group_now = mallory.client.conversation(id).await.unwrap();
    assert_eq!((group_now.name.as_deref(), group_now.topic), (Some("Club"), None));

    // Scripts and emoji that need joiners and direction marks still pass.
    let fine =
        UpdateProfileRequest { display_name: Some("👩\u{200D}💻 مريم\u{200F}".into()), ..Default::default() };
    assert_eq!(mallory.client.update_profile(&fine).await.unwrap().display_name, "👩\u{200D}💻 مريم\u{200F}");
}
