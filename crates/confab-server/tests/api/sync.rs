//! Resume without loss: a client that was away syncs and gets exactly what it missed.

use std::collections::{BTreeMap, HashMap, HashSet};

use confab_proto::frames::{SyncPosition, SyncRequest};
use confab_proto::rest::{CreateConversationRequest, HistoryQuery, Message, SendMessageRequest};
use confab_proto::{ConversationId, ErrorCode, MessageId};

use crate::helpers::*;

/// What a client holds: per conversation, its version and its messages by id.
#[derive(Default)]
struct Replica {
    versions: BTreeMap<ConversationId, i64>,
    messages: HashMap<ConversationId, BTreeMap<i64, Message>>,
}

impl Replica {
    fn positions(&self) -> SyncRequest {
        let conversations =
            self.versions.iter().map(|(id, version)| SyncPosition { id: *id, version: *version }).collect();
        SyncRequest { conversations, limit: Some(100) }
    }

    /// Syncs until nothing is left; returns every message id received, in order.
    async fn catch_up(&mut self, ws: &mut confab_client::Connection) -> Vec<MessageId> {
        let mut received = Vec::new();
        loop {
            let result = ws.sync(self.positions()).await.unwrap();
            for id in &result.removed {
                self.versions.remove(id);
                self.messages.remove(id);
            }
            for entry in result.conversations {
                let id = entry.conversation.id;
                let known = self.messages.entry(id).or_default();
                for m in entry.messages {
                    received.push(m.id);
                    known.insert(m.seq, m);
                }
                assert!(entry.version >= self.versions.get(&id).copied().unwrap_or(0), "positions never go back");
                self.versions.insert(id, entry.version);
            }
            if !result.has_more {
                return received;
            }
        }
    }
}

async fn full_history(user: &TestUser, id: ConversationId) -> BTreeMap<i64, Message> {
    let mut all = BTreeMap::new();
    let mut after = 0;
    loop {
        let page = user
            .client
            .history(id, &HistoryQuery { limit: Some(100), after: Some(after), before: None })
            .await
            .unwrap();
        for m in page.messages {
            after = m.seq;
            all.insert(m.seq, m);
        }
        if !page.has_more {
            return all;
        }
    }
}

#[tokio::test]
async fn resume_returns_exactly_the_missed_changes() {
    let app = spawn_app().await;
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    let mut conversations = vec![alice.dm_with(&bob).await.id, carol.dm_with(&bob).await.id];
    for name in ["Club", "Team", "Doomed"] {
        let req = CreateConversationRequest::group(name, vec![bob.id(), carol.id()]);
        conversations.push(alice.client.create_conversation(&req).await.unwrap().id);
    }
    for (i, id) in conversations.iter().enumerate() {
        let author = if i == 0 { &alice } else { &carol };
        author
            .client
            .send_message(*id, &SendMessageRequest { body: format!("before {i}"), ..Default::default() })
            .await
            .unwrap();
    }

    // Bob is up to date, then goes away.
    let mut replica = Replica::default();
    let mut ws = bob.connect().await;
    replica.catch_up(&mut ws).await;
    assert_eq!(replica.versions.len(), 5);
    drop(ws);
    let positions_before = replica.versions.clone();

    // While he is away: 500 changes across the 5 conversations (messages, reactions, edits,
    // deletions), a new conversation, and a group deleted.
    let mut sent: Vec<(ConversationId, MessageId, &TestUser)> = Vec::new();
    for i in 0..500usize {
        let id = conversations[i % 5];
        // Alice's DM with Bob, Carol's DM with Bob, then groups where both write.
        let author = match i % 5 {
            0 => &alice,
            1 => &carol,
            _ if i % 2 == 0 => &carol,
            _ => &alice,
        };
        match i % 10 {
            6 | 7 if !sent.is_empty() => {
                let (conv, target, who) = sent[(i * 7) % sent.len()];
                who.client.add_reaction(conv, target, if i % 10 == 6 { "🏓" } else { "👍" }).await.unwrap();
            }
            8 => {
                if let Some(&(conv, target, who)) = sent.iter().rev().find(|(c, ..)| *c == id) {
                    who.client.edit_message(conv, target, &format!("edited {i}")).await.unwrap();
                }
            }
            9 => {
                if let Some(&(conv, target, who)) = sent.iter().find(|(c, ..)| *c == id) {
                    who.client.delete_message(conv, target).await.unwrap();
                    sent.retain(|(_, m, _)| *m != target);
                }
            }
            _ => {
                let req = SendMessageRequest { body: format!("away {i}"), ..Default::default() };
                let m = author.client.send_message(id, &req).await.unwrap();
                sent.push((id, m.id, author));
            }
        }
    }
    let doomed = conversations[4];
    alice
        .client
        .send_message(doomed, &SendMessageRequest { body: "last words".into(), ..Default::default() })
        .await
        .unwrap();
    alice.client.delete_conversation(doomed).await.unwrap();
    let fresh =
        carol.client.create_conversation(&CreateConversationRequest::group("New", vec![bob.id()])).await.unwrap().id;
    carol
        .client
        .send_message(fresh, &SendMessageRequest { body: "welcome".into(), ..Default::default() })
        .await
        .unwrap();

    // Bob comes back and syncs.
    let mut ws = bob.connect().await;
    let received = replica.catch_up(&mut ws).await;

    let unique: HashSet<MessageId> = received.iter().copied().collect();
    assert_eq!(unique.len(), received.len(), "no message twice");
    assert!(!replica.versions.contains_key(&doomed), "the deleted group is reported removed");
    assert!(replica.versions.contains_key(&fresh), "the new conversation arrives");

    let mut expected_changes = HashSet::new();
    for id in conversations.iter().take(4).chain([&fresh]) {
        // The deleted group's history is gone; the others must match the server exactly.
        let truth = full_history(&bob, *id).await;
        let before = positions_before.get(id).copied().unwrap_or(0);
        expected_changes.extend(truth.values().filter(|m| m.version > before).map(|m| m.id));
        let held = replica.messages.get(id).cloned().unwrap_or_default();
        assert_eq!(
            held.keys().copied().collect::<Vec<_>>(),
            (1..=truth.len() as i64).collect::<Vec<_>>(),
            "no gap in {id}"
        );
        assert_eq!(held, truth, "conversation {id} is exactly as the server has it");
    }
    assert_eq!(unique, expected_changes, "exactly the changes made while away");

    // Nothing more to fetch.
    let again = ws.sync(replica.positions()).await.unwrap();
    assert!(again.conversations.is_empty() && again.removed.is_empty() && !again.has_more);
}

#[tokio::test]
async fn positions_from_the_future_and_garbage_are_refused() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    alice.client.send_message(dm, &SendMessageRequest { body: "x".into(), ..Default::default() }).await.unwrap();
    let future = SyncRequest { conversations: vec![SyncPosition { id: dm, version: 999 }], limit: None };
    assert_api_error(bob.client.sync(&future).await, 400, ErrorCode::InvalidParameter);
    let mut ws = bob.connect().await;
    match ws.sync(future).await {
        Err(confab_client::ClientError::Command(e)) => assert_eq!(e.code, ErrorCode::InvalidParameter),
        other => panic!("{other:?}"),
    }
    let twice = SyncRequest {
        conversations: vec![SyncPosition { id: dm, version: 0 }, SyncPosition { id: dm, version: 1 }],
        limit: None,
    };
    assert_api_error(bob.client.sync(&twice).await, 400, ErrorCode::InvalidParameter);
    ws.send_text(r#"{"type":"sync","id":"s1","data":{"conversations":"garbage"}}"#.into()).await.unwrap();
    // Other events (a notification, presence) may come first; the answer carries the id.
    let frame = loop {
        let frame = next_frame(&mut ws, std::time::Duration::from_secs(5)).await.unwrap();
        if frame.id.is_some() {
            break frame;
        }
    };
    assert_eq!(frame.id.as_deref(), Some("s1"));
    assert!(matches!(frame.event, confab_proto::frames::Event::Error(e) if e.code == ErrorCode::InvalidJson));
    // A conversation the user never belonged to is simply reported as removed.
    let stranger =
        SyncRequest { conversations: vec![SyncPosition { id: ConversationId(12345), version: 3 }], limit: None };
    assert_eq!(bob.client.sync(&stranger).await.unwrap().removed, vec![ConversationId(12345)]);
}
