//! Sending and reading messages: gap-free seq, history paging, idempotent retries, durability.

use confab_proto::ErrorCode;
use confab_proto::frames::SendMessage;
use confab_proto::rest::{HistoryQuery, SendMessageRequest};

use crate::helpers::*;

#[tokio::test]
async fn seq_is_gap_free_and_history_pages_both_ways() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await;
    for i in 1..=25 {
        let sender = if i % 2 == 0 { &alice } else { &bob };
        let m = sender.client.send_message(dm.id, &text(&format!("m{i}"))).await.unwrap();
        assert_eq!(m.seq, i);
    }

    let newest = alice.client.history(dm.id, &HistoryQuery { limit: Some(10), ..Default::default() }).await.unwrap();
    assert_eq!(newest.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), (16..=25).collect::<Vec<_>>());
    assert!(newest.has_more);

    let older = alice
        .client
        .history(dm.id, &HistoryQuery { limit: Some(10), before: Some(16), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(older.messages.first().map(|m| m.seq), Some(6));
    let oldest = alice
        .client
        .history(dm.id, &HistoryQuery { limit: Some(10), before: Some(6), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(oldest.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), (1..=5).collect::<Vec<_>>());
    assert!(!oldest.has_more);

    let missed = bob.client.history(dm.id, &HistoryQuery { after: Some(20), ..Default::default() }).await.unwrap();
    assert_eq!(missed.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), (21..=25).collect::<Vec<_>>());
    assert!(!missed.has_more);
    assert_eq!(missed.messages[0].body, "m21");

    for bad in [Some(0), Some(101)] {
        let r = alice.client.history(dm.id, &HistoryQuery { limit: bad, ..Default::default() }).await;
        assert_api_error(r, 400, ErrorCode::InvalidParameter);
    }
}

#[tokio::test]
async fn retrying_with_the_same_client_id_stores_one_message() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await;
    let req = SendMessageRequest {
        body: "once".into(),
        client_id: Some("c-1".into()),
        reply_to: None,
        attachments: vec![],
        tones: vec![],
        literal: false,
        sticker_id: None,
    };

    let first = alice.client.send_message(dm.id, &req).await.unwrap();
    let retry = alice.client.send_message(dm.id, &req).await.unwrap();
    assert_eq!(retry, first);

    // The same client id over the WebSocket is the same message too.
    let mut ws = alice.connect().await;
    let over_ws = ws
        .send_message(SendMessage {
            conversation_id: dm.id,
            body: "once".into(),
            client_id: Some("c-1".into()),
            reply_to: None,
            attachments: vec![],
            tones: vec![],
            literal: false,
            sticker_id: None,
        })
        .await
        .unwrap();
    assert_eq!(over_ws.id, first.id);

    // Concurrent retries race on the unique index; still one message.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = alice.client.clone();
        let req = SendMessageRequest {
            body: "race".into(),
            client_id: Some("c-2".into()),
            reply_to: None,
            attachments: vec![],
            tones: vec![],
            literal: false,
            sticker_id: None,
        };
        tasks.push(tokio::spawn(async move { client.send_message(dm.id, &req).await.unwrap().id }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);

    let history = bob.client.history(dm.id, &HistoryQuery::default()).await.unwrap();
    assert_eq!(history.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2], "no gap, no duplicate");

    // Another sender may use the same client id: ids are scoped to their sender.
    let bobs = bob.client.send_message(dm.id, &req).await.unwrap();
    assert_ne!(bobs.id, first.id);
}

#[tokio::test]
async fn an_acknowledged_message_survives_a_restart() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await;
    let mut ws = alice.connect().await;
    let acked = ws
        .send_message(SendMessage {
            conversation_id: dm.id,
            body: "durable".into(),
            client_id: None,
            reply_to: None,
            attachments: vec![],
            tones: vec![],
            literal: false,
            sticker_id: None,
        })
        .await
        .unwrap();
    drop(ws);

    let app = app.restart().await;
    let bob_again = app.login("bob").await;
    let history = bob_again.client.history(dm.id, &HistoryQuery::default()).await.unwrap();
    assert_eq!(history.messages, vec![acked]);
}

#[tokio::test]
async fn replies_must_point_into_the_same_conversation() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let dm = alice.dm_with(&bob).await;
    let other = alice.dm_with(&carol).await;
    let original = bob.client.send_message(dm.id, &text("question?")).await.unwrap();
    let elsewhere = carol.client.send_message(other.id, &text("unrelated")).await.unwrap();

    let reply = alice
        .client
        .send_message(
            dm.id,
            &SendMessageRequest {
                body: "answer".into(),
                client_id: None,
                reply_to: Some(original.id),
                attachments: vec![],
                tones: vec![],
                literal: false,
                sticker_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(reply.reply_to, Some(original.id));

    let cross = alice
        .client
        .send_message(
            dm.id,
            &SendMessageRequest {
                body: "x".into(),
                client_id: None,
                reply_to: Some(elsewhere.id),
                attachments: vec![],
                tones: vec![],
                literal: false,
                sticker_id: None,
            },
        )
        .await;
    assert_api_error(cross, 400, ErrorCode::InvalidReply);
}

#[tokio::test]
async fn the_length_limit_is_the_same_on_rest_and_websocket() {
    let app = spawn_app_with(|c| c.limits.max_message_chars = 20).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await;
    let at_limit = "é".repeat(20);
    let over = "é".repeat(21);

    alice.client.send_message(dm.id, &text(&at_limit)).await.unwrap();
    assert_api_error(alice.client.send_message(dm.id, &text(&over)).await, 400, ErrorCode::MessageTooLong);
    assert_api_error(alice.client.send_message(dm.id, &text("  \n ")).await, 400, ErrorCode::EmptyMessage);

    let mut ws = alice.connect().await;
    ws.send_message(SendMessage {
        conversation_id: dm.id,
        body: at_limit,
        client_id: None,
        reply_to: None,
        attachments: vec![],
        tones: vec![],
        literal: false,
        sticker_id: None,
    })
    .await
    .unwrap();
    for (body, code) in [(over, ErrorCode::MessageTooLong), (" ".into(), ErrorCode::EmptyMessage)] {
        let r = ws
            .send_message(SendMessage {
                conversation_id: dm.id,
                body,
                client_id: None,
                reply_to: None,
                attachments: vec![],
                tones: vec![],
                literal: false,
                sticker_id: None,
            })
            .await;
        match r {
            Err(confab_client::ClientError::Command(e)) => assert_eq!(e.code, code),
            other => panic!("expected {code:?}, got {other:?}"),
        }
    }
    let history = alice.client.history(dm.id, &HistoryQuery::default()).await.unwrap();
    assert_eq!(history.messages.len(), 2, "refused messages were not stored");
}
