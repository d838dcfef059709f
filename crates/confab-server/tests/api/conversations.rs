//! Direct conversations (one per pair) and the membership rule: outsiders learn nothing.

use confab_proto::rest::{ConversationKind, CreateConversationRequest, HistoryQuery, SendMessageRequest};
use confab_proto::{ConversationId, ErrorCode, UserId};

use crate::helpers::*;

#[tokio::test]
async fn a_pair_has_exactly_one_direct_conversation() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;

    let first = alice.dm_with(&bob).await;
    assert_eq!(first.kind, ConversationKind::Direct);
    let mut members: Vec<UserId> = first.members.iter().map(|m| m.user.id).collect();
    members.sort();
    let mut expected = vec![alice.id(), bob.id()];
    expected.sort();
    assert_eq!(members, expected);

    let from_bob = bob.dm_with(&alice).await;
    assert_eq!(from_bob.id, first.id, "the other side opens the same conversation");
    let again = alice.dm_with(&bob).await;
    assert_eq!(again.id, first.id);

    let listed = alice.client.conversations().await.unwrap().conversations;
    assert_eq!(listed.len(), 1);
}

#[tokio::test]
async fn concurrent_opens_create_one_conversation() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (me, other) = if i % 2 == 0 { (&alice, &bob) } else { (&bob, &alice) };
        let client = me.client.clone();
        let other = other.id();
        tasks.push(tokio::spawn(async move { client.open_direct(other).await.unwrap().id }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
}

#[tokio::test]
async fn duplicate_members_are_collapsed_and_bad_member_lists_refused() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;

    // [bob, bob, alice] for a DM is still just bob.
    let dm = alice
        .client
        .create_conversation(&CreateConversationRequest::Direct { members: vec![bob.id(), bob.id(), alice.id()] })
        .await
        .unwrap();
    assert_eq!(dm.members.len(), 2);

    let cases = [
        (vec![], ErrorCode::InvalidMembers),
        (vec![alice.id()], ErrorCode::InvalidMembers),
        (vec![bob.id(), carol.id()], ErrorCode::InvalidMembers),
        (vec![UserId(424242)], ErrorCode::UnknownUser),
    ];
    for (members, code) in cases {
        let r = alice.client.create_conversation(&CreateConversationRequest::Direct { members }).await;
        assert_api_error(r, 400, code);
    }
    assert_eq!(alice.client.conversations().await.unwrap().conversations.len(), 1, "nothing else was created");

    let group = alice
        .client
        .create_conversation(&CreateConversationRequest::group(
            "Pong club",
            vec![bob.id(), carol.id(), bob.id(), carol.id()],
        ))
        .await
        .unwrap();
    assert_eq!(group.members.len(), 3, "each member stored once");
}

#[tokio::test]
async fn outsiders_get_the_same_not_found_as_for_a_missing_conversation() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let eve = app.user("eve").await;
    let dm = alice.dm_with(&bob).await;
    alice
        .client
        .send_message(dm.id, &SendMessageRequest { body: "secret".into(), ..Default::default() })
        .await
        .unwrap();
    let missing = ConversationId(dm.id.0 + 1);

    for id in [dm.id, missing] {
        assert_api_error(eve.client.conversation(id).await, 404, ErrorCode::NotFound);
        assert_api_error(eve.client.history(id, &HistoryQuery::default()).await, 404, ErrorCode::NotFound);
        let post = eve.client.send_message(id, &SendMessageRequest { body: "hi".into(), ..Default::default() }).await;
        assert_api_error(post, 404, ErrorCode::NotFound);
    }
    assert!(eve.client.conversations().await.unwrap().conversations.is_empty());

    // Over the WebSocket too, and nothing was stored.
    let mut ws = eve.connect().await;
    let sent = ws
        .send_message(confab_proto::frames::SendMessage {
            conversation_id: dm.id,
            body: "hi".into(),
            client_id: None,
            reply_to: None,
            attachments: vec![],
            tones: vec![],
            literal: false,
            sticker_id: None,
        })
        .await;
    match sent {
        Err(confab_client::ClientError::Command(e)) => assert_eq!(e.code, ErrorCode::NotFound),
        other => panic!("expected not_found, got {other:?}"),
    }
    let history = alice.client.history(dm.id, &HistoryQuery::default()).await.unwrap();
    assert_eq!(history.messages.len(), 1);
}
