//! Sticker packs: the server's sticker admins manage them, everyone picks from them, a sticker
//! travels as a message of its own kind, and a deleted pack leaves messages that say what they
//! showed.

use std::time::Duration;

use confab_proto::ErrorCode;
use confab_proto::frames::{Event, SendMessage};
use confab_proto::rest::{AddStickerRequest, MessageKind, SendMessageRequest};
use confab_proto::{StickerId, UploadId};

use crate::helpers::*;
use crate::media::{png, upload};

fn sticker_req(shortcode: &str, upload_id: UploadId) -> AddStickerRequest {
    AddStickerRequest { shortcode: shortcode.into(), body: "a waving cat".into(), upload_id }
}

fn sticker_message(id: StickerId) -> SendMessageRequest {
    SendMessageRequest { sticker_id: Some(id), ..Default::default() }
}

#[tokio::test]
async fn an_admin_makes_a_pack_and_a_sticker_travels_as_a_message() {
    let app = spawn_app_with(|c| c.stickers.admins = vec!["Curator".into()]).await;
    let curator = app.user("curator").await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await.id;

    let pack = curator.client.create_sticker_pack("  Cats  ").await.unwrap();
    assert_eq!(pack.name, "Cats");
    let image = upload(&curator, &png(256, 256), "wave.png").await;
    let wave = curator.client.add_sticker(pack.id, &sticker_req("wave", image.id)).await.unwrap();
    assert_eq!(
        (wave.shortcode.as_str(), wave.body.as_str(), wave.width, wave.height),
        ("wave", "a waving cat", 256, 256)
    );
    let url = wave.url.clone().expect("a picture");

    // Everyone sees the packs; only the admin may manage them.
    let listed = alice.client.sticker_packs().await.unwrap();
    assert!(!listed.can_manage);
    assert!(curator.client.sticker_packs().await.unwrap().can_manage);
    assert_eq!(listed.packs.len(), 1);
    assert_eq!(listed.packs[0].stickers, vec![wave.clone()]);
    assert_api_error(alice.client.create_sticker_pack("Mine").await, 403, ErrorCode::Forbidden);
    let hers = upload(&alice, &png(64, 64), "x.png").await;
    assert_api_error(alice.client.add_sticker(pack.id, &sticker_req("x", hers.id)).await, 403, ErrorCode::Forbidden);
    assert_api_error(alice.client.delete_sticker_pack(pack.id).await, 403, ErrorCode::Forbidden);

    // Sent over REST and over the socket, it reaches the other side as a sticker.
    let mut bobs = bob.connect().await;
    let sent = alice.client.send_message(dm, &sticker_message(wave.id)).await.unwrap();
    assert_eq!((sent.kind, sent.body.as_str()), (MessageKind::Sticker, ""));
    assert_eq!(sent.sticker.as_ref(), Some(&wave));
    let live = first_event(&mut bobs, Duration::from_secs(5), |e| match e {
        Event::MessageCreated(m) if m.id == sent.id => Some(m),
        _ => None,
    })
    .await
    .expect("bob gets the sticker");
    assert_eq!(live.sticker.as_ref().map(|s| s.id), Some(wave.id));
    let mut alices = alice.connect().await;
    let over_socket = alices.send_message(SendMessage { sticker_id: Some(wave.id), ..SendMessage::text(dm, "") }).await;
    assert_eq!(over_socket.unwrap().kind, MessageKind::Sticker);
    let served = reqwest::get(format!("{}{}", app.base_url, url)).await.unwrap();
    assert_eq!(served.status(), 200);

    // The pack goes: the messages stay, saying what they showed, and it cannot be sent again.
    curator.client.delete_sticker_pack(pack.id).await.unwrap();
    assert!(alice.client.sticker_packs().await.unwrap().packs.is_empty());
    let history = bob.client.history(dm, &Default::default()).await.unwrap().messages;
    let shown = history.iter().find(|m| m.id == sent.id).unwrap().sticker.clone().expect("the tombstone");
    assert_eq!((shown.body.as_str(), shown.url.as_deref()), ("a waving cat", None));
    assert_api_error(alice.client.send_message(dm, &sticker_message(wave.id)).await, 400, ErrorCode::InvalidSticker);
    until_gone(&format!("{}{}", app.base_url, url)).await;
}

#[tokio::test]
async fn bad_stickers_are_refused_and_nothing_changes() {
    let app = spawn_app_with(|c| {
        c.stickers.admins = vec!["curator".into()];
        c.stickers.max_per_pack = 2;
    })
    .await;
    let curator = app.user("curator").await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await.id;
    let pack = curator.client.create_sticker_pack("Cats").await.unwrap();
    let refused = |r: Result<_, _>, status, code| {
        assert_api_error(r, status, code);
    };

    refused(curator.client.create_sticker_pack(" ").await.map(|_| ()), 400, ErrorCode::InvalidSticker);
    let image = upload(&curator, &png(128, 128), "ok.png").await;
    refused(
        curator.client.add_sticker(pack.id, &sticker_req("Wave!", image.id)).await.map(|_| ()),
        400,
        ErrorCode::InvalidSticker,
    );
    let no_body = AddStickerRequest { body: "  ".into(), ..sticker_req("wave", image.id) };
    refused(curator.client.add_sticker(pack.id, &no_body).await.map(|_| ()), 400, ErrorCode::InvalidSticker);
    let big = upload(&curator, &png(600, 300), "big.png").await;
    refused(
        curator.client.add_sticker(pack.id, &sticker_req("big", big.id)).await.map(|_| ()),
        400,
        ErrorCode::InvalidSticker,
    );
    let text_file = upload(&curator, b"not a picture", "notes.txt").await;
    refused(
        curator.client.add_sticker(pack.id, &sticker_req("txt", text_file.id)).await.map(|_| ()),
        400,
        ErrorCode::InvalidSticker,
    );
    let someone_elses = upload(&alice, &png(64, 64), "a.png").await;
    refused(
        curator.client.add_sticker(pack.id, &sticker_req("theirs", someone_elses.id)).await.map(|_| ()),
        400,
        ErrorCode::InvalidAttachment,
    );
    assert!(curator.client.sticker_packs().await.unwrap().packs[0].stickers.is_empty(), "nothing was added");

    // A shortcode once per pack; a pack holds max_per_pack.
    let wave = curator.client.add_sticker(pack.id, &sticker_req("wave", image.id)).await.unwrap();
    let again = upload(&curator, &png(100, 100), "again.png").await;
    refused(
        curator.client.add_sticker(pack.id, &sticker_req("wave", again.id)).await.map(|_| ()),
        409,
        ErrorCode::InvalidSticker,
    );
    curator.client.add_sticker(pack.id, &sticker_req("wave2", again.id)).await.unwrap();
    let third = upload(&curator, &png(90, 90), "third.png").await;
    refused(
        curator.client.add_sticker(pack.id, &sticker_req("wave3", third.id)).await.map(|_| ()),
        400,
        ErrorCode::InvalidSticker,
    );

    // A sticker message is only the sticker.
    let with_text = SendMessageRequest { body: "hi".into(), ..sticker_message(wave.id) };
    refused(alice.client.send_message(dm, &with_text).await.map(|_| ()), 400, ErrorCode::InvalidSticker);
    let with_tone = SendMessageRequest { tones: vec!["j".into()], ..sticker_message(wave.id) };
    refused(alice.client.send_message(dm, &with_tone).await.map(|_| ()), 400, ErrorCode::InvalidSticker);
    refused(
        alice.client.send_message(dm, &sticker_message(StickerId(12345))).await.map(|_| ()),
        400,
        ErrorCode::InvalidSticker,
    );
    assert!(
        bob.client
            .history(dm, &Default::default())
            .await
            .unwrap()
            .messages
            .iter()
            .all(|m| m.kind != MessageKind::Sticker)
    );

    // Removing a sticker frees its shortcode; a sticker message cannot be edited.
    let sent = alice.client.send_message(dm, &sticker_message(wave.id)).await.unwrap();
    refused(alice.client.edit_message(dm, sent.id, "text now").await.map(|_| ()), 403, ErrorCode::Forbidden);
    curator.client.remove_sticker(pack.id, wave.id).await.unwrap();
    refused(curator.client.remove_sticker(pack.id, wave.id).await, 404, ErrorCode::NotFound);
    curator.client.add_sticker(pack.id, &sticker_req("wave", third.id)).await.unwrap();
    let history = bob.client.history(dm, &Default::default()).await.unwrap().messages;
    assert_eq!(history.iter().find(|m| m.id == sent.id).unwrap().sticker.as_ref().unwrap().url, None);
}
