//! Tone indicators and conversation themes: what a message means and how a conversation looks,
//! as data every client and bot gets the same way.

use std::time::Duration;

use confab_proto::ErrorCode;
use confab_proto::frames::{Event, SendMessage};
use confab_proto::rest::{
    CreateConversationRequest, EditMessageRequest, MessageKind, Palette, Role, SendMessageRequest, SetThemeRequest,
    SystemEvent, UpdateConversationRequest,
};

use crate::helpers::*;

#[tokio::test]
async fn trailing_tone_indicators_become_data_for_everyone() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await.id;
    let mut bobs = bob.connect().await;

    let sent = alice.client.send_message(dm, &text("you're the worst /j")).await.unwrap();
    assert_eq!((sent.body.as_str(), sent.tones.as_slice()), ("you're the worst", ["j".to_owned()].as_slice()));
    let live = first_event(&mut bobs, Duration::from_secs(5), |e| match e {
        Event::MessageCreated(m) if m.id == sent.id => Some(m),
        _ => None,
    })
    .await
    .expect("bob gets the message");
    assert_eq!((live.body, live.tones), ("you're the worst".to_owned(), vec!["j".to_owned()]));

    // Chosen from a menu, over the socket, with an alias; an unknown tag stays text.
    let mut alices = alice.connect().await;
    let chosen =
        SendMessage { tones: vec!["/sarc".into(), "lh".into()], ..SendMessage::text(dm, "great, more rain /unknown") };
    let chosen = alices.send_message(chosen).await.unwrap();
    assert_eq!(chosen.body, "great, more rain /unknown");
    assert_eq!(chosen.tones, ["s", "lh"]);

    // Literal text keeps its slash; a message of only an indicator is about it, and stays.
    let literal = SendMessageRequest { literal: true, ..text("the path is /srs") };
    let literal = alice.client.send_message(dm, &literal).await.unwrap();
    assert_eq!((literal.body.as_str(), literal.tones.len()), ("the path is /srs", 0));
    let only = alice.client.send_message(dm, &text("/j")).await.unwrap();
    assert_eq!((only.body.as_str(), only.tones.len()), ("/j", 0));

    // History carries them too; an edit works them out again.
    let history = bob.client.history(dm, &Default::default()).await.unwrap();
    assert_eq!(history.messages.iter().find(|m| m.id == sent.id).unwrap().tones, ["j"]);
    let edited = alice.client.edit_message(dm, sent.id, "ok you're the best /gen /pos").await.unwrap();
    assert_eq!((edited.body.as_str(), edited.tones.clone()), ("ok you're the best", vec!["gen".into(), "pos".into()]));
    let cleared = alice.client.edit_message(dm, sent.id, "no tone now").await.unwrap();
    assert!(cleared.tones.is_empty());
    let chosen_edit = EditMessageRequest { body: "kidding".into(), tones: vec!["j".into()], literal: false };
    assert_eq!(alice.client.edit_message_with(dm, sent.id, &chosen_edit).await.unwrap().tones, ["j"]);

    // The list with meanings is there for clients and bots.
    let tones = bob.client.tones().await.unwrap().tones;
    let joking = tones.iter().find(|t| t.code == "j").expect("/j is listed");
    assert_eq!(joking.meaning, "joking");
    assert!(tones.iter().any(|t| t.code == "s" && t.aliases.contains(&"sarc".to_owned())));
    assert!(tones.len() >= 30, "the whole list: {}", tones.len());
}

#[tokio::test]
async fn bad_tones_are_refused_and_nothing_is_stored() {
    let app = spawn_app_with(|c| {
        c.tones.extra.push(confab_server::config::ToneConfig { code: "gg".into(), meaning: "good game".into() })
    })
    .await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await.id;

    let unknown = SendMessageRequest { tones: vec!["nope".into()], ..text("hi") };
    assert_api_error(alice.client.send_message(dm, &unknown).await, 400, ErrorCode::InvalidTone);
    let six = ["j", "s", "srs", "lh", "pos", "neg"].map(String::from).to_vec();
    let too_many = SendMessageRequest { tones: six, ..text("hi") };
    assert_api_error(alice.client.send_message(dm, &too_many).await, 400, ErrorCode::InvalidTone);
    assert!(bob.client.history(dm, &Default::default()).await.unwrap().messages.is_empty());

    // The host app's own indicator works like the built-in ones.
    let gg = alice.client.send_message(dm, &text("well played /gg")).await.unwrap();
    assert_eq!((gg.body.as_str(), gg.tones.as_slice()), ("well played", ["gg".to_owned()].as_slice()));
    let listed = alice.client.tones().await.unwrap().tones;
    assert!(listed.iter().any(|t| t.code == "gg" && t.meaning == "good game"));
}

#[tokio::test]
async fn a_blocker_sees_no_tones_of_the_blocked() {
    let app = spawn_app().await;
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    let group = alice
        .client
        .create_conversation(&CreateConversationRequest::group("Club", vec![bob.id(), carol.id()]))
        .await
        .unwrap()
        .id;
    carol.client.block(alice.id()).await.unwrap();
    let sent = alice.client.send_message(group, &text("hello /lh")).await.unwrap();
    let seen = carol.client.history(group, &Default::default()).await.unwrap();
    let seen = seen.messages.iter().find(|m| m.id == sent.id).unwrap();
    assert!(seen.collapsed && seen.tones.is_empty() && seen.body.is_empty());
}

fn palette(text: &str, background: &str) -> Palette {
    Palette {
        accent: "#0b63ce".into(),
        background: background.into(),
        text: text.into(),
        bubble: "#ffffff".into(),
        bubble_text: "#10233a".into(),
        own_bubble: "#0b5cc0".into(),
        own_bubble_text: "#ffffff".into(),
    }
}

#[tokio::test]
async fn themes_are_checked_kept_in_history_and_live() {
    let app = spawn_app().await;
    let (owner, member) = (app.user("owner").await, app.user("member").await);
    let group = owner
        .client
        .create_conversation(&CreateConversationRequest::group("Club", vec![member.id()]))
        .await
        .unwrap()
        .id;
    let mut members = member.connect().await;

    let presets = member.client.themes().await.unwrap().presets;
    assert!(presets.len() >= 4 && presets.iter().any(|p| p.id == "ocean"));
    let themed = owner.client.set_theme(group, &SetThemeRequest::preset("ocean")).await.unwrap();
    let theme = themed.theme.clone().expect("the theme is set");
    assert_eq!(theme.preset.as_deref(), Some("ocean"));
    assert_eq!(theme.light, presets.iter().find(|p| p.id == "ocean").unwrap().light);

    // Members see it live, and the history keeps the change.
    let updated = first_event(&mut members, Duration::from_secs(5), |e| match e {
        Event::ConversationUpdated(c) if c.id == group && c.theme.is_some() => Some(c),
        _ => None,
    })
    .await
    .expect("conversation.updated with the theme");
    assert_eq!(updated.theme, Some(theme.clone()));
    let history = member.client.history(group, &Default::default()).await.unwrap().messages;
    let entry = history.last().unwrap();
    assert_eq!(entry.kind, MessageKind::System);
    assert_eq!(entry.system, Some(SystemEvent::ThemeChanged { theme: Some(Box::new(theme.clone())) }));
    let audit = owner.client.audit(group).await.unwrap();
    assert!(audit.entries.iter().any(|e| e.action == "theme_changed"));

    // A custom theme below AA is refused with the pair named; nothing changes.
    let unreadable = SetThemeRequest::Custom {
        light: palette("#9a9a9a", "#ffffff"),
        dark: theme.dark.clone(),
        background_upload_id: None,
        keep_background: false,
    };
    let refused = owner.client.set_theme(group, &unreadable).await;
    let err = assert_api_error(refused, 400, ErrorCode::LowContrast);
    assert!(err.message.contains("light: text #9a9a9a on background #ffffff"), "{}", err.message);
    assert_eq!(owner.client.conversation(group).await.unwrap().theme, Some(theme.clone()));
    assert_eq!(member.client.history(group, &Default::default()).await.unwrap().messages.len(), history.len());

    // A readable custom theme is taken; members without the permission may not change it.
    let custom = SetThemeRequest::Custom {
        light: palette("#1a1a1a", "#FFFFFF"),
        dark: theme.dark.clone(),
        background_upload_id: None,
        keep_background: false,
    };
    let set = owner.client.set_theme(group, &custom).await.unwrap().theme.unwrap();
    assert_eq!((set.preset, set.light.background.as_str()), (None, "#ffffff"));
    let forbidden = member.client.set_theme(group, &SetThemeRequest::preset("rose")).await;
    assert_api_error(forbidden, 403, ErrorCode::Forbidden);
    assert_api_error(member.client.remove_theme(group).await, 403, ErrorCode::Forbidden);
    owner.client.set_role(group, member.id(), Role::Admin).await.unwrap();
    member.client.set_theme(group, &SetThemeRequest::preset("rose")).await.unwrap();

    // Removing it is a change too; removing nothing is none.
    let removed = owner.client.remove_theme(group).await.unwrap();
    assert_eq!(removed.theme, None);
    let entries = member.client.history(group, &Default::default()).await.unwrap().messages;
    assert_eq!(entries.last().unwrap().system, Some(SystemEvent::ThemeChanged { theme: None }));
    owner.client.remove_theme(group).await.unwrap();
    assert_eq!(member.client.history(group, &Default::default()).await.unwrap().messages.len(), entries.len());
    assert_api_error(
        owner.client.set_theme(group, &SetThemeRequest::preset("neon")).await,
        400,
        ErrorCode::InvalidParameter,
    );
}

#[tokio::test]
async fn either_member_of_a_direct_conversation_sets_its_theme_and_previews() {
    let app = spawn_app().await;
    let (alice, bob, eve) = (app.user("alice").await, app.user("bob").await, app.user("eve").await);
    let dm = alice.dm_with(&bob).await.id;
    let themed = bob.client.set_theme(dm, &SetThemeRequest::preset("forest")).await.unwrap();
    assert_eq!(themed.theme.unwrap().preset.as_deref(), Some("forest"));
    assert!(themed.link_previews);
    let off = UpdateConversationRequest { link_previews: Some(false), ..Default::default() };
    let updated = alice.client.update_conversation(dm, &off).await.unwrap();
    assert!(!updated.link_previews);
    let history = bob.client.history(dm, &Default::default()).await.unwrap().messages;
    assert_eq!(history.last().unwrap().system, Some(SystemEvent::LinkPreviewsChanged { enabled: false }));
    // A DM still has no name; outsiders see nothing.
    let rename = UpdateConversationRequest { name: Some("Us".into()), ..Default::default() };
    assert_api_error(alice.client.update_conversation(dm, &rename).await, 403, ErrorCode::Forbidden);
    let outsider = eve.client.set_theme(dm, &SetThemeRequest::preset("rose")).await;
    assert_api_error(outsider, 404, ErrorCode::NotFound);
}

#[tokio::test]
async fn a_theme_takes_a_background_picture_from_an_image_upload() {
    let app = spawn_app().await;
    let (owner, member) = (app.user("owner").await, app.user("member").await);
    let group = owner
        .client
        .create_conversation(&CreateConversationRequest::group("Club", vec![member.id()]))
        .await
        .unwrap()
        .id;
    let mut members = member.connect().await;
    let with = |upload| SetThemeRequest::Preset {
        preset: "ocean".into(),
        background_upload_id: Some(upload),
        keep_background: false,
    };

    // Refused: someone else's upload (not found, as every upload of theirs), a file that is not
    // an image. Nothing changes.
    let theirs = crate::media::upload(&member, &crate::media::png(40, 40), "m.png").await;
    assert_api_error(owner.client.set_theme(group, &with(theirs.id)).await, 404, ErrorCode::NotFound);
    let notes = crate::media::upload(&owner, b"just text", "notes.txt").await;
    assert_api_error(owner.client.set_theme(group, &with(notes.id)).await, 400, ErrorCode::InvalidAttachment);
    assert!(member.client.conversation(group).await.unwrap().theme.is_none());

    let picture = crate::media::upload(&owner, &crate::media::png(800, 400), "beach.png").await;
    let themed = owner.client.set_theme(group, &with(picture.id)).await.unwrap();
    let background = themed.theme.unwrap().background.expect("the picture");
    assert_eq!((background.width, background.height), (800, 400));
    assert!(background.blurhash.is_some());
    let live = first_event(&mut members, Duration::from_secs(5), |e| match e {
        Event::ConversationUpdated(c) if c.id == group => c.theme.and_then(|t| t.background),
        _ => None,
    })
    .await;
    assert_eq!(live.as_ref(), Some(&background), "members get it live");
    let served = reqwest::get(format!("{}{}", app.base_url, background.url)).await.unwrap();
    assert_eq!((served.status().as_u16(), served.headers()["content-type"].to_str().unwrap()), (200, "image/png"));

    // Other colours may keep the picture; the picture stays served.
    let keep = SetThemeRequest::Preset { preset: "rose".into(), background_upload_id: None, keep_background: true };
    let kept = owner.client.set_theme(group, &keep).await.unwrap().theme.unwrap();
    assert_eq!((kept.preset.as_deref(), kept.background.as_ref()), (Some("rose"), Some(&background)));
    let both = SetThemeRequest::Preset {
        preset: "rose".into(),
        background_upload_id: Some(crate::media::upload(&owner, &crate::media::png(50, 50), "b.png").await.id),
        keep_background: true,
    };
    assert_api_error(owner.client.set_theme(group, &both).await, 400, ErrorCode::InvalidParameter);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(reqwest::get(format!("{}{}", app.base_url, background.url)).await.unwrap().status(), 200);

    // The upload was taken; a theme without a picture lets the old one go.
    assert_api_error(owner.client.set_theme(group, &with(picture.id)).await, 404, ErrorCode::NotFound);
    owner.client.set_theme(group, &SetThemeRequest::preset("ocean")).await.unwrap();
    let now = member.client.conversation(group).await.unwrap().theme.unwrap();
    assert!(now.background.is_none());
    until_gone(&format!("{}{}", app.base_url, background.url)).await;
}
