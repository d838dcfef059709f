//! Micro-benchmarks of the pieces a message passes through: the decoding of a client frame, the
//! serialization of an event, the fan-out of one event to many connections, and the store's
//! group commit.
//!
//! `cargo bench -p confab-server --bench message_path` (figures in docs/benchmarks.md).

use std::sync::Arc;

use confab_proto::frames::{Event, ServerFrame};
use confab_proto::rest::{ConversationKind, Message, MessageKind, Role};
use confab_proto::{ConversationId, MessageId, SessionId, UserId};
use confab_server::auth::Principal;
use confab_server::hub::{self, Hub};
use confab_server::store::{NewConversation, NewMessage, NewUser, Store};
use divan::Bencher;

fn main() {
    divan::main();
}

fn message(body: &str) -> Message {
    Message {
        id: MessageId(7_300_000_000_000_000_001),
        conversation_id: ConversationId(7_300_000_000_000_000_002),
        seq: 4242,
        sender_id: UserId(7_300_000_000_000_000_003),
        kind: MessageKind::Text,
        body: body.to_owned(),
        client_id: Some("c-8f14e45f".to_owned()),
        reply_to: None,
        reply: None,
        mentions: Vec::new(),
        tones: Vec::new(),
        attachments: Vec::new(),
        previews: Vec::new(),
        sticker: None,
        reactions: Vec::new(),
        system: None,
        invitation: None,
        edited_at: None,
        deleted_at: None,
        pinned: false,
        collapsed: false,
        version: 9000,
        created_at: time::OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time"),
    }
}

/// A `message.send` frame from a client, decoded into its command.
#[divan::bench(args = [50, 1000])]
fn decode_send_frame(bencher: Bencher, body_len: usize) {
    let frame = format!(
        r#"{{"type":"message.send","id":"17","data":{{"conversation_id":"7300000000000000002","body":"{}","client_id":"c-8f14e45f"}}}}"#,
        "x".repeat(body_len)
    );
    bencher.bench(|| confab_server::http::ws::commands::decode(divan::black_box(&frame)).is_ok());
}

/// One `message.created` frame, serialized once per publish whatever the number of recipients.
#[divan::bench(args = [50, 1000])]
fn encode_message_created(bencher: Bencher, body_len: usize) {
    let body = "x".repeat(body_len);
    bencher.bench(|| hub::encode(&ServerFrame { id: None, event: Event::MessageCreated(message(&body)) }));
}

/// Publishing one event to `n` connected sessions (one per user): serialize once, queue the same
/// bytes on every connection.
#[divan::bench(args = [1, 100, 1000, 10_000])]
fn fan_out(bencher: Bencher, n: i64) {
    let hub = Hub::default();
    let recipients: Vec<UserId> = (1..=n).map(UserId).collect();
    let mut queues: Vec<_> = recipients
        .iter()
        .map(|&user_id| {
            let principal = Principal { user_id, session_id: Some(SessionId(user_id.0)), bot: false };
            hub.connect(principal, 4).1
        })
        .collect();
    let event = message("hello, all of you");
    bencher.counter(divan::counter::ItemsCount::new(n as usize)).bench_local(|| {
        hub.publish(&recipients, Event::MessageCreated(event.clone()));
        for queue in &mut queues {
            let _ = queue.try_recv();
        }
    });
}

/// `n` concurrent sends to `n` conversations through the store's writer: they share one commit.
#[divan::bench(args = [1, 64, 512], sample_count = 20, sample_size = 5)]
fn store_group_commit(bencher: Bencher, n: i64) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = runtime.block_on(seeded_store(dir.path(), n));
    let next_id = std::sync::atomic::AtomicI64::new(1_000_000);
    let store = Arc::new(store);
    bencher.counter(divan::counter::ItemsCount::new(n as usize)).bench_local(|| {
        runtime.block_on(async {
            let sends = (1..=n).map(|conversation| {
                let store = store.clone();
                let id = next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::spawn(async move {
                    let m = NewMessage {
                        id: MessageId(id),
                        conversation_id: ConversationId(conversation),
                        sender_id: UserId(1),
                        kind: MessageKind::Text,
                        body: "a message of about fifty bytes, as chat messages go",
                        client_id: None,
                        reply_to: None,
                        mentions: None,
                        tones: None,
                        sticker_id: None,
                        system: None,
                        created_at: id,
                    };
                    store.insert_message(&m).await.expect("stored");
                })
            });
            for send in sends.collect::<Vec<_>>() {
                send.await.expect("send task");
            }
        })
    });
}

async fn seeded_store(dir: &std::path::Path, conversations: i64) -> Store {
    let store = Store::open(None, dir).await.expect("store");
    let user = NewUser {
        id: UserId(1),
        username: "bench",
        display_name: "bench",
        avatar_url: None,
        password_hash: None,
        external_id: None,
        created_at: 0,
    };
    store.insert_user(&user).await.expect("user");
    for id in 1..=conversations {
        let c = NewConversation {
            id: ConversationId(id),
            kind: ConversationKind::Group,
            name: Some("bench"),
            direct_key: None,
            created_by: UserId(1),
            now: 0,
            members: vec![(UserId(1), Role::Owner)],
        };
        store.insert_conversation(&c, &[]).await.expect("conversation");
    }
    store
}
