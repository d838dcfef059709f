//! Hostile input: every refusal is a clear error, nothing changes, the server stays up, and text
//! is stored and returned verbatim, never interpreted.

use std::time::Duration;

use confab_client::{ClientError, RawBody};
use confab_proto::ErrorCode;
use confab_proto::frames::{Event, SendMessage, close_code};
use confab_proto::rest::{CreateConversationRequest, HistoryQuery, RegisterRequest, SendMessageRequest};
use reqwest::Method;

use crate::gateway::expired_token;
use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(10);
const HOSTILE: &str =
    "<img src=1 onerror='alert(1)'> <script>alert(2)</script> '; DROP TABLE messages; -- \" \\ %00 $1";
/// Short enough for a display name (64 characters).
const HOSTILE_NAME: &str = "<img src=1 onerror='alert(1)'>'; DROP TABLE users; --";

#[tokio::test]
async fn hostile_text_is_stored_and_returned_verbatim() {
    let app = spawn_app().await;
    let alice = app
        .anonymous()
        .register(&RegisterRequest {
            username: "alice".into(),
            password: PASSWORD.into(),
            display_name: Some(HOSTILE_NAME.into()),
        })
        .await
        .unwrap();
    assert_eq!(alice.user.display_name, HOSTILE_NAME);
    let alice = app.anonymous().with_token(&alice.access_token);
    let bob = app.user("bob").await;
    let group = alice.create_conversation(&CreateConversationRequest::group(HOSTILE, vec![bob.id()])).await.unwrap();
    assert_eq!(group.name.as_deref(), Some(HOSTILE.trim()));

    let mut ws = bob.connect().await;
    let client_id = "'\"<x>;--".to_owned();
    let sent = alice
        .send_message(
            group.id,
            &SendMessageRequest {
                body: HOSTILE.into(),
                client_id: Some(client_id.clone()),
                reply_to: None,
                attachments: vec![],
                tones: vec![],
                literal: false,
                sticker_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(sent.body, HOSTILE);
    assert_eq!(sent.client_id.as_deref(), Some(client_id.as_str()));

    let live = loop {
        if let Event::MessageCreated(m) = ws.next_event_timeout(WAIT).await.unwrap().event {
            break m;
        }
    };
    assert_eq!(live.body, HOSTILE);
    let history = bob.client.history(group.id, &HistoryQuery::default()).await.unwrap();
    assert_eq!(history.messages.last().map(|m| m.body.as_str()), Some(HOSTILE));
    let listed = bob.client.conversations().await.unwrap().conversations;
    assert_eq!(listed[0].name.as_deref(), Some(HOSTILE.trim()));

    // JSON is served as JSON, not something a browser would render.
    let raw = bob.client.raw(Method::GET, &format!("/api/v1/conversations/{}/messages", group.id), None).await.unwrap();
    assert!(raw.content_type().starts_with("application/json"), "{}", raw.content_type());
    assert_eq!(raw.header("x-content-type-options"), Some("nosniff"));
}

#[tokio::test]
async fn oversized_bodies_are_refused_on_rest_and_close_the_socket_on_websocket() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await;
    let mib = "x".repeat(1024 * 1024);

    let rest = alice.client.send_message(dm.id, &SendMessageRequest { body: mib.clone(), ..Default::default() }).await;
    assert_api_error(rest, 413, ErrorCode::PayloadTooLarge);

    let mut ws = alice.connect().await;
    let frame = serde_json::json!({"type": "message.send", "id": "1", "data": {"conversation_id": dm.id, "body": mib}});
    ws.send_text(frame.to_string()).await.unwrap();
    let (code, _) = ws.expect_closed(WAIT).await.unwrap();
    assert_eq!(code, 1009);

    assert!(alice.client.history(dm.id, &HistoryQuery::default()).await.unwrap().messages.is_empty());
    alice.client.me().await.expect("the server is still fine");
}

#[tokio::test]
async fn malformed_rest_bodies_get_invalid_json() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await;
    let path = format!("/api/v1/conversations/{}/messages", dm.id);
    let bodies: [&[u8]; 5] = [
        b"{not json",
        br#"{"body": 12}"#,
        br#"{"body": "x", "reply_to": "abc"}"#,
        br#""just a string""#,
        b"{\"body\": \"\xff\xfe\"}",
    ];
    for body in bodies {
        let r = alice.client.raw(Method::POST, &path, Some(RawBody::json_bytes(body.to_vec()))).await.unwrap();
        assert_eq!(r.status, 400, "{:?}", String::from_utf8_lossy(body));
        assert_eq!(r.error_code(), Some("invalid_json"));
    }
    let wrong_type =
        alice.client.raw(Method::POST, &path, Some(RawBody::new("text/plain", b"{\"body\":\"x\"}".to_vec())));
    let wrong_type = wrong_type.await.unwrap();
    assert_eq!((wrong_type.status, wrong_type.error_code()), (415, Some("unsupported_media_type")));
    assert!(alice.client.history(dm.id, &HistoryQuery::default()).await.unwrap().messages.is_empty());
}

#[tokio::test]
async fn malformed_ids_and_unknown_routes_are_not_found() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    for path in [
        "/api/v1/conversations/abc",
        "/api/v1/conversations/-1",
        "/api/v1/conversations/99999999999999999999999",
        "/api/v1/conversations/1%27%20OR%201=1",
        "/api/v1/users/0",
        "/api/v1/nothing-here",
    ] {
        let r = alice.client.raw(Method::GET, path, None).await.unwrap();
        assert_eq!((r.status, r.error_code()), (404, Some("not_found")), "{path}");
    }
}

#[tokio::test]
async fn expired_tokens_are_refused_on_rest() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let expired = expired_token(&app, &alice).await;
    assert_api_error(app.anonymous().with_token(&expired).me().await, 401, ErrorCode::TokenExpired);
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_the_connection_stays_up() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await;
    let mut ws = alice.connect().await;

    let cases = [
        ("{nope".to_owned(), None, ErrorCode::InvalidJson),
        (
            r#"{"type":"message.send","id":"w1","data":{"conversation_id":"1","body":42}}"#.to_owned(),
            Some("w1"),
            ErrorCode::InvalidJson,
        ),
        (r#"{"type":"rm -rf","id":"w2","data":{}}"#.to_owned(), Some("w2"), ErrorCode::UnknownCommand),
        (r#"{"type":"ping","id":{"nested":true}}"#.to_owned(), None, ErrorCode::InvalidParameter),
        (
            format!(
                r#"{{"type":"message.send","id":"w3","data":{{"conversation_id":"{}","body":"x","extra":1}}}}"#,
                dm.id
            ),
            Some("w3"),
            ErrorCode::InvalidJson,
        ),
    ];
    for (text, id, code) in cases {
        ws.send_text(text.clone()).await.unwrap();
        let frame = next_frame(&mut ws, WAIT).await.unwrap();
        assert_eq!(frame.id.as_deref(), id, "{text}");
        match frame.event {
            Event::Error(e) => assert_eq!(e.code, code, "{text}: {}", e.message),
            other => panic!("{text}: expected an error, got {other:?}"),
        }
    }
    ws.send_binary(vec![0, 159, 146, 150]).await.unwrap();
    match next_frame(&mut ws, WAIT).await.unwrap().event {
        Event::Error(e) => assert_eq!(e.code, ErrorCode::InvalidJson),
        other => panic!("expected an error for a binary frame, got {other:?}"),
    }

    // Still connected and useful.
    let sent = ws
        .send_message(SendMessage {
            conversation_id: dm.id,
            body: "still here".into(),
            client_id: None,
            reply_to: None,
            attachments: vec![],
            tones: vec![],
            literal: false,
            sticker_id: None,
        })
        .await
        .unwrap();
    assert_eq!(sent.seq, 1);
}

#[tokio::test]
async fn invalid_utf8_closes_with_1007() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let mut ws = alice.connect().await;
    ws.send_raw_frame(tungstenite_text_with_invalid_utf8()).await.unwrap();
    let (code, _) = ws.expect_closed(WAIT).await.unwrap();
    assert_eq!(code, 1007);
    alice.connect().await; // and the server still accepts connections
}

fn tungstenite_text_with_invalid_utf8() -> confab_client::RawFrame {
    confab_client::RawFrame::text_bytes(vec![b'{', 0xff, 0xfe, b'}'])
}

#[tokio::test]
async fn sustained_abuse_closes_the_connection() {
    let app = spawn_app_with(|c| c.gateway.max_bad_frames_per_minute = 5).await;
    let alice = app.user("alice").await;
    let mut ws = alice.connect().await;
    for _ in 0..6 {
        ws.send_text("garbage".into()).await.unwrap();
    }
    let (code, _) = ws.expect_closed(WAIT).await.unwrap();
    assert_eq!(code, close_code::ABUSE);
    assert!(matches!(ws.next_event_timeout(Duration::from_millis(500)).await, Err(ClientError::Closed { .. })));
}

#[tokio::test]
async fn json_arrays_are_not_accepted_as_request_objects() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await;
    let display_name = alice.client.me().await.unwrap().display_name;
    let cases = [
        (Method::PATCH, "/api/v1/me".to_owned(), r#"["x"]"#),
        (Method::POST, "/api/v1/notifications/read".to_owned(), "[]"),
        (Method::POST, format!("/api/v1/conversations/{}/messages", dm.id), r#"["hi", "c1"]"#),
        (Method::POST, "/api/v1/conversations".to_owned(), r#"  ["direct", null, []]"#),
        (Method::PATCH, "/api/v1/me".to_owned(), "null"),
        (Method::PATCH, "/api/v1/me".to_owned(), "42"),
    ];
    for (method, path, body) in cases {
        let r = alice.client.raw(method.clone(), &path, Some(RawBody::json_bytes(body.into()))).await.unwrap();
        assert_eq!((r.status, r.error_code()), (400, Some("invalid_json")), "{method} {path} {body}");
    }
    assert_eq!(alice.client.me().await.unwrap().display_name, display_name, "nothing changed");
    assert!(alice.client.history(dm.id, &HistoryQuery::default()).await.unwrap().messages.is_empty());
    // An object still works, with leading whitespace too.
    let ok = alice.client.raw(
        Method::PATCH,
        "/api/v1/me",
        Some(RawBody::json_bytes(b" \n{\"display_name\": \"Al\"}".to_vec())),
    );
    assert_eq!(ok.await.unwrap().status, 200);
}

#[tokio::test]
async fn every_refusal_of_the_http_layer_is_a_confab_error_body() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let messages = format!("/api/v1/conversations/{}/messages", alice.dm_with(&app.user("bob").await).await.id);
    let big = format!("{{\"body\": \"{}\"}}", "x".repeat(100 * 1024));
    let cases = [
        (Method::DELETE, "/healthz".to_owned(), None, 405, "method_not_allowed"),
        (Method::PUT, "/api/v1/conversations".to_owned(), None, 405, "method_not_allowed"),
        (Method::GET, "/api/v1/no-such-route".to_owned(), None, 404, "not_found"),
        (
            Method::POST,
            messages.clone(),
            Some(RawBody::new("text/plain", b"{}".to_vec())),
            415,
            "unsupported_media_type",
        ),
        (
            Method::POST,
            messages.clone(),
            Some(RawBody::new("application/x-www-form-urlencoded", b"body=x".to_vec())),
            415,
            "unsupported_media_type",
        ),
        (Method::POST, messages.clone(), Some(RawBody::json_bytes(big.into_bytes())), 413, "payload_too_large"),
        (Method::POST, messages.clone(), Some(RawBody::json_bytes(b"{\"body\":".to_vec())), 400, "invalid_json"),
    ];
    for (method, path, body, status, code) in cases {
        let r = alice.client.raw(method.clone(), &path, body).await.unwrap();
        assert_eq!((r.status, r.error_code()), (status, Some(code)), "{method} {path}: {}", r.text());
        assert!(r.content_type().starts_with("application/json"), "{method} {path}");
        assert!(r.json.pointer("/error/message").and_then(|m| m.as_str()).is_some_and(|m| !m.is_empty()));
        if status == 405 {
            assert!(r.header("allow").is_some(), "{method} {path}: a 405 names the allowed methods");
        }
    }
}

/// PostgreSQL cannot store U+0000 in text (it answered 500); SQLite could. Both now refuse it,
/// and the other control characters no text needs, before anything is stored.
#[tokio::test]
async fn control_characters_are_refused_the_same_on_every_backend() {
    use confab_proto::rest::{UpdateConversationRequest, UpdateProfileRequest, UserSearchQuery};

    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await;
    let kept = alice.client.send_message(dm.id, &text("kept")).await.unwrap();

    for body in ["nul \0 inside", "\u{1b}[31mred", "del\u{7f}", "c1\u{85}"] {
        assert_api_error(alice.client.send_message(dm.id, &text(body)).await, 400, ErrorCode::InvalidParameter);
        assert_api_error(alice.client.edit_message(dm.id, kept.id, body).await, 400, ErrorCode::InvalidParameter);
    }
    let mut ws = alice.connect().await;
    let refused = ws
        .send_message(SendMessage {
            conversation_id: dm.id,
            body: "ws \0".into(),
            client_id: None,
            reply_to: None,
            attachments: vec![],
            tones: vec![],
            literal: false,
            sticker_id: None,
        })
        .await;
    assert!(
        matches!(refused, Err(ClientError::Command(ref e)) if e.code == ErrorCode::InvalidParameter),
        "{refused:?}"
    );

    let search = UserSearchQuery { q: "b\0".into(), limit: None, cursor: None };
    assert_api_error(alice.client.search_users(&search).await, 400, ErrorCode::InvalidParameter);
    let search = UserSearchQuery { q: "b".into(), limit: None, cursor: Some("\0".into()) };
    assert_api_error(alice.client.search_users(&search).await, 400, ErrorCode::InvalidParameter);
    let profile = UpdateProfileRequest { bio: Some("bio\0".into()), ..Default::default() };
    assert_api_error(alice.client.update_profile(&profile).await, 400, ErrorCode::InvalidParameter);
    let group = alice.client.create_conversation(&CreateConversationRequest::group("g", vec![bob.id()])).await.unwrap();
    let topic = UpdateConversationRequest { topic: Some("topic\u{0}".into()), ..Default::default() };
    assert_api_error(alice.client.update_conversation(group.id, &topic).await, 400, ErrorCode::InvalidParameter);

    // Nothing changed; tabs and line breaks are still text.
    let history = alice.client.history(dm.id, &HistoryQuery::default()).await.unwrap().messages;
    assert_eq!(history.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["kept"]);
    assert_eq!(alice.client.me().await.unwrap().bio, None);
    let lines = alice.client.send_message(dm.id, &text("a\tb\r\nc")).await.unwrap();
    assert_eq!(lines.body, "a\tb\r\nc");
}

/// The create body is one of two shapes, as the OpenAPI document says: a group needs a name
/// (a `null` one is refused as malformed JSON, not as a bad name), a direct conversation has
/// none; and integers may be written as whole floats, as JSON Schema counts them.
#[tokio::test]
async fn create_bodies_take_their_own_fields_and_integers_may_be_whole_floats() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let create =
        |body: String| alice.client.raw(Method::POST, "/api/v1/conversations", Some(RawBody::json_bytes(body.into())));
    let bob_id = bob.id();
    for body in [
        r#"{"kind": "group", "name": null, "members": []}"#.to_owned(),
        r#"{"kind": "group", "members": []}"#.to_owned(),
        format!(r#"{{"kind": "direct", "name": "x", "members": ["{bob_id}"]}}"#),
        format!(r#"{{"kind": "direct", "members": ["{bob_id}"], "topic": "x"}}"#),
        r#"{"kind": "channel", "name": "x"}"#.to_owned(),
        r#"{"name": "x", "members": []}"#.to_owned(),
    ] {
        let r = create(body.clone()).await.unwrap();
        assert_eq!((r.status, r.error_code()), (400, Some("invalid_json")), "{body}");
    }
    assert!(alice.client.conversations().await.unwrap().conversations.is_empty(), "nothing was created");

    let group = create(r#"{"kind": "group", "name": "Club"}"#.to_owned()).await.unwrap();
    assert_eq!(group.status, 201, "members may be left out of a group");
    let dm = create(format!(r#"{{"kind": "direct", "members": ["{bob_id}"]}}"#)).await.unwrap();
    assert_eq!(dm.status, 201);
    let dm: confab_proto::rest::Conversation = serde_json::from_slice(&dm.body).unwrap();

    alice.client.send_message(dm.id, &text("one")).await.unwrap();
    let read_path = format!("/api/v1/conversations/{}/read", dm.id);
    let read = |body: &str| bob.client.raw(Method::PUT, &read_path, Some(RawBody::json_bytes(body.into())));
    assert_eq!(read(r#"{"seq": 0.5}"#).await.unwrap().status, 400, "a fraction is no seq");
    assert_eq!(read(r#"{"seq": 1.0}"#).await.unwrap().status, 204, "1.0 is the integer 1");
    let sync = bob.client.raw(
        Method::POST,
        "/api/v1/sync",
        Some(RawBody::json_bytes(br#"{"conversations": [], "limit": 203.0}"#.to_vec())),
    );
    assert_eq!(sync.await.unwrap().status, 200);
    let sync = bob.client.raw(
        Method::POST,
        "/api/v1/sync",
        Some(RawBody::json_bytes(br#"{"conversations": [], "limit": 2.5}"#.to_vec())),
    );
    assert_eq!(sync.await.unwrap().status, 400);
}
