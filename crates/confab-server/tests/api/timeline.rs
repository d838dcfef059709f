//! Replies, edits, deletions, reactions, mentions, pins, read state, typing, and the
//! conversation list — REST and WebSocket alike.

use std::time::Duration;

use confab_client::{ClientError, Connection};
use confab_proto::frames::Event;
use confab_proto::rest::{
    ConversationListQuery, CreateConversationRequest, HistoryQuery, Message, Role, SendMessageRequest,
};
use confab_proto::{ConversationId, ErrorCode};

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(10);

async fn send(user: &TestUser, id: ConversationId, body: &str) -> Message {
    user.client.send_message(id, &text(body)).await.unwrap()
}

async fn next_update(ws: &mut Connection) -> Message {
    loop {
        if let Event::MessageUpdated(m) = ws.next_event_timeout(WAIT).await.unwrap().event {
            return m;
        }
    }
}

fn command_error<T: std::fmt::Debug>(r: Result<T, ClientError>) -> ErrorCode {
    match r {
        Err(ClientError::Command(e)) => e.code,
        other => panic!("expected a refused command, got {other:?}"),
    }
}

#[tokio::test]
async fn replies_quote_the_original_and_show_when_it_is_deleted() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    let question = send(&bob, dm, "Pong tonight? Bring your paddle, the club has none left").await;
    let answer = alice
        .client
        .send_message(
            dm,
            &SendMessageRequest {
                body: "yes!".into(),
                client_id: None,
                reply_to: Some(question.id),
                attachments: vec![],
                tones: vec![],
                literal: false,
                sticker_id: None,
            },
        )
        .await
        .unwrap();
    let quote = answer.reply.clone().unwrap();
    assert_eq!((quote.message_id, quote.sender_id, quote.deleted), (question.id, bob.id(), false));
    assert!(question.body.starts_with(&quote.excerpt));

    bob.client.delete_message(dm, question.id).await.unwrap();
    let history = alice.client.history(dm, &HistoryQuery::default()).await.unwrap();
    let reply = history.messages.iter().find(|m| m.id == answer.id).unwrap().reply.clone().unwrap();
    assert!(reply.deleted);
    assert_eq!(reply.excerpt, "");
}

#[tokio::test]
async fn edits_keep_their_history_and_only_the_author_edits() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    let original = send(&alice, dm, "helo").await;
    let mut bob_ws = bob.connect().await;

    let edited = alice.client.edit_message(dm, original.id, "hello").await.unwrap();
    assert_eq!(edited.body, "hello");
    assert!(edited.edited_at.is_some());
    assert!(edited.version > original.version);
    assert_eq!(next_update(&mut bob_ws).await, edited);

    let mut alice_ws = alice.connect().await;
    let again = alice_ws.edit_message(dm, original.id, "hello, Bob").await.unwrap();
    assert_eq!(again.body, "hello, Bob");
    let edits = bob.client.edits(dm, original.id).await.unwrap().edits;
    assert_eq!(edits.iter().map(|e| e.previous_body.as_str()).collect::<Vec<_>>(), ["helo", "hello"]);

    assert_api_error(bob.client.edit_message(dm, original.id, "hijacked").await, 403, ErrorCode::Forbidden);
    let mut bob_ws2 = bob.connect().await;
    assert_eq!(command_error(bob_ws2.edit_message(dm, original.id, "hijacked").await), ErrorCode::Forbidden);
    assert_api_error(alice.client.edit_message(dm, original.id, " ").await, 400, ErrorCode::EmptyMessage);
    let history = bob.client.history(dm, &HistoryQuery::default()).await.unwrap();
    assert_eq!(history.messages[0].body, "hello, Bob", "refused edits changed nothing");
}

#[tokio::test]
async fn deleting_leaves_a_tombstone_and_group_admins_may_delete_anything() {
    let app = spawn_app().await;
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    let dm = alice.dm_with(&bob).await.id;
    let mine = send(&alice, dm, "oops").await;
    bob.client.add_reaction(dm, mine.id, "👍").await.unwrap();
    assert_api_error(bob.client.delete_message(dm, mine.id).await, 403, ErrorCode::Forbidden);
    let tombstone = alice.client.delete_message(dm, mine.id).await.unwrap();
    assert!(tombstone.deleted_at.is_some());
    assert_eq!((tombstone.body.as_str(), tombstone.reactions.len()), ("", 0));
    let history = bob.client.history(dm, &HistoryQuery::default()).await.unwrap();
    assert_eq!(history.messages[0].id, mine.id, "the tombstone keeps its place in the timeline");
    assert!(history.messages[0].deleted_at.is_some());
    assert_api_error(alice.client.edit_message(dm, mine.id, "undo").await, 403, ErrorCode::Forbidden);

    let group = alice
        .client
        .create_conversation(&CreateConversationRequest::group("G", vec![bob.id(), carol.id()]))
        .await
        .unwrap()
        .id;
    let carols = send(&carol, group, "spam").await;
    assert_api_error(bob.client.delete_message(group, carols.id).await, 403, ErrorCode::Forbidden);
    alice.client.set_role(group, bob.id(), Role::Admin).await.unwrap();
    let removed = bob.client.delete_message(group, carols.id).await.unwrap();
    assert!(removed.deleted_at.is_some());
}

#[tokio::test]
async fn reactions_aggregate_per_emoji_live() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    let message = send(&alice, dm, "GG").await;
    let mut alice_ws = alice.connect().await;
    let mut bob_ws = bob.connect().await;

    bob_ws.react(dm, message.id, "🏓", true).await.unwrap();
    alice.client.add_reaction(dm, message.id, "🏓").await.unwrap();
    let both = alice.client.add_reaction(dm, message.id, "👍").await.unwrap();
    let pong = both.reactions.iter().find(|r| r.emoji == "🏓").unwrap();
    assert_eq!(pong.count, 2);
    assert!(pong.users.contains(&alice.id()) && pong.users.contains(&bob.id()));
    assert_eq!(both.reactions.len(), 2);
    // Reacting twice changes nothing.
    assert_eq!(alice.client.add_reaction(dm, message.id, "👍").await.unwrap().reactions, both.reactions);

    let mut last = None;
    for _ in 0..3 {
        last = Some(next_update(&mut alice_ws).await);
    }
    assert_eq!(last.unwrap().reactions, both.reactions, "each change arrived live");

    let fewer = bob.client.remove_reaction(dm, message.id, "🏓").await.unwrap();
    assert_eq!(fewer.reactions.iter().find(|r| r.emoji == "🏓").unwrap().count, 1);

    let kib = "😀".repeat(256);
    assert_api_error(bob.client.add_reaction(dm, message.id, &kib).await, 400, ErrorCode::InvalidEmoji);
    assert_eq!(command_error(bob_ws.react(dm, message.id, &kib, true).await), ErrorCode::InvalidEmoji);
    assert_eq!(command_error(bob_ws.react(dm, message.id, "a b", true).await), ErrorCode::InvalidEmoji);
}

#[tokio::test]
async fn mentions_name_members_only() {
    let app = spawn_app().await;
    let (alice, bob, _eve) = (app.user("alice").await, app.user("bob").await, app.user("eve").await);
    let dm = alice.dm_with(&bob).await.id;
    let m = send(&alice, dm, "hey @Bob, ask @eve and mail x@bob.example").await;
    assert_eq!(m.mentions, vec![bob.id()], "eve is no member here; an e-mail address is no mention");
    let edited = alice.client.edit_message(dm, m.id, "never mind").await.unwrap();
    assert!(edited.mentions.is_empty());
}

#[tokio::test]
async fn pins_are_listed_and_kept_in_the_timeline() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    let rules = send(&alice, dm, "house rules").await;
    assert!(bob.client.pin(dm, rules.id).await.unwrap().pinned);
    assert_eq!(alice.client.pins(dm).await.unwrap().messages.iter().map(|m| m.id).collect::<Vec<_>>(), vec![rules.id]);
    assert!(!alice.client.unpin(dm, rules.id).await.unwrap().pinned);
    assert!(alice.client.pins(dm).await.unwrap().messages.is_empty());
}

#[tokio::test]
async fn read_state_is_shared_by_sessions_shown_as_receipts_and_counts_unread() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    for i in 0..5 {
        send(&alice, dm, &format!("m{i}")).await;
    }
    let listed = bob.client.conversations().await.unwrap().conversations;
    assert_eq!(listed[0].unread_count, Some(5));
    assert_eq!(
        alice.client.conversations().await.unwrap().conversations[0].unread_count,
        Some(0),
        "own messages are read"
    );

    let mut bob_other_tab = bob.connect().await;
    let mut alice_ws = alice.connect().await;
    let mut bob_ws = bob.connect().await;
    bob_ws.mark_read(dm, 3).await.unwrap();
    for ws in [&mut bob_other_tab, &mut alice_ws] {
        loop {
            if let Event::ReadUpdated(r) = ws.next_event_timeout(WAIT).await.unwrap().event {
                assert_eq!((r.conversation_id, r.user_id, r.seq), (dm, bob.id(), 3));
                break;
            }
        }
    }
    let bob_view = bob.client.conversation(dm).await.unwrap();
    assert_eq!(bob_view.unread_count, Some(2));
    let receipt = bob_view.members.iter().find(|m| m.user.id == bob.id()).unwrap().read_seq;
    assert_eq!(receipt, 3);

    // Going back is ignored; going past the end is refused.
    bob.client.mark_read(dm, 1).await.unwrap();
    assert_eq!(bob.client.conversation(dm).await.unwrap().unread_count, Some(2));
    assert_api_error(bob.client.mark_read(dm, 99).await, 400, ErrorCode::InvalidParameter);
    assert_eq!(command_error(bob_ws.mark_read(dm, 0).await), ErrorCode::InvalidParameter);
}

#[tokio::test]
async fn typing_reaches_the_others_throttled_and_is_never_stored() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    let mut bob_ws = bob.connect().await;
    let mut alice_ws = alice.connect().await;
    for _ in 0..5 {
        alice_ws.typing(dm).await.unwrap();
    }
    let first = next_frame(&mut bob_ws, WAIT).await.unwrap();
    match first.event {
        Event::Typing(t) => {
            assert_eq!((t.conversation_id, t.user_id), (dm, alice.id()));
            assert!(t.expires_in_ms >= 3000);
        }
        other => panic!("expected typing, got {other:?}"),
    }
    let more = next_frame(&mut bob_ws, Duration::from_millis(500)).await;
    assert!(matches!(more, Err(ClientError::Timeout)), "repeats within the interval are dropped: {more:?}");
    let own = next_frame(&mut alice_ws, Duration::from_millis(200)).await;
    assert!(matches!(own, Err(ClientError::Timeout)), "the typist is not told: {own:?}");
    assert_eq!(bob.client.conversation(dm).await.unwrap().version, 0, "nothing was stored");
}

#[tokio::test]
async fn the_conversation_list_pages_by_activity_with_last_messages() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let mut peers = Vec::new();
    for i in 0..5 {
        let peer = app.user(&format!("peer{i}")).await;
        let dm = alice.dm_with(&peer).await.id;
        send(&peer, dm, &format!("from peer{i}")).await;
        peers.push(dm);
    }
    let first = alice.client.conversations_page(&ConversationListQuery { limit: Some(2), cursor: None }).await.unwrap();
    assert_eq!(first.conversations.iter().map(|c| c.id).collect::<Vec<_>>(), vec![peers[4], peers[3]]);
    assert_eq!(first.conversations[0].last_message.as_ref().unwrap().body, "from peer4");
    let mut seen: Vec<ConversationId> = first.conversations.iter().map(|c| c.id).collect();
    let mut cursor = first.next_cursor;
    while let Some(c) = cursor {
        let page =
            alice.client.conversations_page(&ConversationListQuery { limit: Some(2), cursor: Some(c) }).await.unwrap();
        seen.extend(page.conversations.iter().map(|c| c.id));
        cursor = page.next_cursor;
    }
    peers.reverse();
    assert_eq!(seen, peers, "every conversation once, most recent first");
    let garbage = ConversationListQuery { limit: None, cursor: Some("nope".into()) };
    assert_api_error(alice.client.conversations_page(&garbage).await, 400, ErrorCode::InvalidParameter);
}
