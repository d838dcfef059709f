//! Link previews, end to end: a site on loopback (allowed through the egress guard the way an
//! operator allows an internal host) describes its pages; the server fetches each once, keeps
//! the picture itself, and every member gets the preview in a `message.updated`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use confab_client::Connection;
use confab_proto::ErrorCode;
use confab_proto::frames::Event;
use confab_proto::rest::{CreateConversationRequest, LinkPreview, Message, UpdateConversationRequest};
use confab_proto::{ConversationId, MessageId};

use crate::doubles::{Answer, Double, canary, double};
use crate::helpers::*;
use crate::media::png;

/// A page with OpenGraph tags whose picture is at `image`.
fn page(title: &str, image: &str) -> Answer {
    Answer::html(&format!(
        "<!doctype html><html><head><title>ignored</title>\
         <meta property=\"og:title\" content=\"{title}\">\
         <meta property=\"og:description\" content=\"Tides &amp; weather, with a &lt;b&gt;tag&lt;/b&gt;\">\
         <meta property=\"og:site_name\" content=\"Coast Journal\">\
         <meta property=\"og:image\" content=\"{image}\"></head><body>…</body></html>"
    ))
}

/// The site: `/article` and `/other` with a picture, `/internal` whose picture is at `internal`.
async fn site(internal: String) -> Double {
    double(move |path, _| match path {
        "/article" => page("Tonight's reading", "/cover.png"),
        "/other" => page("Another one", "/cover.png"),
        "/internal" => page("Looks harmless", &internal),
        "/cover.png" => Answer::ok("image/png", png(120, 80)),
        _ => Answer::not_found(),
    })
    .await
}

async fn app_allowing(site: &Double) -> TestApp {
    let allowed = site.host_port();
    spawn_app_with(move |c| c.egress.allow = vec![allowed]).await
}

/// The previews a member's socket gets for `id`, as they arrive in a `message.updated`.
async fn previews_of(socket: &mut Connection, id: MessageId) -> Vec<LinkPreview> {
    first_event(socket, Duration::from_secs(10), |e| match e {
        Event::MessageUpdated(m) if m.id == id && !m.previews.is_empty() => Some(m.previews),
        _ => None,
    })
    .await
    .expect("the previews arrive")
}

/// Waits until the stored message `id` satisfies `done`.
async fn eventually(user: &TestUser, conversation: ConversationId, id: MessageId, done: impl Fn(&Message) -> bool) {
    for _ in 0..100 {
        let history = user.client.history(conversation, &Default::default()).await.unwrap().messages;
        if history.iter().any(|m| m.id == id && done(m)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("message {id} never got there");
}

#[tokio::test]
async fn a_link_is_fetched_once_and_every_member_gets_its_preview_with_a_picture_served_here() {
    let site = site(String::new()).await;
    let app = app_allowing(&site).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let group = alice
        .client
        .create_conversation(&CreateConversationRequest::group("Readers", vec![bob.id(), carol.id()]))
        .await
        .unwrap()
        .id;
    let mut bobs = bob.connect().await;
    let mut carols = carol.connect().await;

    let link = format!("{}/article#part-2", site.origin());
    let sent = alice.client.send_message(group, &text(&format!("read {link} tonight"))).await.unwrap();
    assert!(sent.previews.is_empty(), "the send does not wait for the site");
    let seen_by_bob = previews_of(&mut bobs, sent.id).await;
    let seen_by_carol = previews_of(&mut carols, sent.id).await;
    assert_eq!(seen_by_bob, seen_by_carol);
    let [preview] = seen_by_bob.as_slice() else { panic!("one preview: {seen_by_bob:?}") };
    assert_eq!(preview.url, link);
    assert_eq!(preview.title.as_deref(), Some("Tonight's reading"));
    assert_eq!(preview.description.as_deref(), Some("Tides & weather, with a <b>tag</b>"), "text, decoded once");
    assert_eq!(preview.site_name.as_deref(), Some("Coast Journal"));

    // The picture is this server's copy, never the site's URL.
    let image = preview.image.as_ref().expect("the page's picture");
    assert!(image.url.contains("/api/v1/avatars/") && !image.url.contains(&site.host_port()), "{}", image.url);
    assert_eq!((image.width, image.height), (120, 80));
    let url = if image.url.starts_with('/') { format!("{}{}", app.base_url, image.url) } else { image.url.clone() };
    let served = reqwest::get(&url).await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");

    // Once for three members, and once again for the same link anywhere else (the cache).
    assert_eq!((site.hits("/article"), site.hits("/cover.png")), (1, 1));
    let dm = bob.dm_with(&carol).await.id;
    let again = bob.client.send_message(dm, &text(&format!("{}/article", site.origin()))).await.unwrap();
    let cached = previews_of(&mut carols, again.id).await;
    assert_eq!(cached[0].title.as_deref(), Some("Tonight's reading"));
    assert_eq!(site.hits("/article"), 1, "the cached preview is reused");

    // History has them too, and the site never learned who the members are.
    eventually(&carol, group, sent.id, |m| m.previews.len() == 1).await;
    assert!(site.seen().iter().all(|s| s.identifying.is_empty() && s.user_agent.starts_with("confab/")));
}

#[tokio::test]
async fn the_author_removes_previews_and_an_edit_does_not_bring_them_back() {
    let site = site(String::new()).await;
    let app = app_allowing(&site).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await.id;
    let mut bobs = bob.connect().await;

    let sent = alice.client.send_message(dm, &text(&format!("{}/article", site.origin()))).await.unwrap();
    previews_of(&mut bobs, sent.id).await;
    assert_api_error(bob.client.remove_previews(dm, sent.id).await, 403, ErrorCode::Forbidden);
    let removed = alice.client.remove_previews(dm, sent.id).await.unwrap();
    assert!(removed.previews.is_empty());
    let live = first_event(&mut bobs, Duration::from_secs(5), |e| match e {
        Event::MessageUpdated(m) if m.id == sent.id && m.previews.is_empty() => Some(m),
        _ => None,
    })
    .await;
    assert!(live.is_some(), "members see the previews go");

    let edited = alice.client.edit_message(dm, sent.id, &format!("now {}/other", site.origin())).await.unwrap();
    assert!(edited.previews.is_empty());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(site.hits("/other"), 0, "a message whose previews were removed gets no new ones");
    let history = bob.client.history(dm, &Default::default()).await.unwrap().messages;
    assert!(history.iter().find(|m| m.id == sent.id).unwrap().previews.is_empty());

    // An edit of another message does build the preview of its new link.
    let plain = alice.client.send_message(dm, &text("no link yet")).await.unwrap();
    alice.client.edit_message(dm, plain.id, &format!("here: {}/other", site.origin())).await.unwrap();
    assert_eq!(previews_of(&mut bobs, plain.id).await[0].title.as_deref(), Some("Another one"));
}

#[tokio::test]
async fn with_previews_off_nothing_is_fetched() {
    let site = site(String::new()).await;
    let app = app_allowing(&site).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await.id;
    let off = UpdateConversationRequest { link_previews: Some(false), ..Default::default() };
    bob.client.update_conversation(dm, &off).await.unwrap();
    let sent = alice.client.send_message(dm, &text(&format!("{}/article", site.origin()))).await.unwrap();

    // The server-wide switch, on another server.
    let allowed = site.host_port();
    let quiet = spawn_app_with(move |c| {
        c.egress.allow = vec![allowed];
        c.previews.enabled = false;
    })
    .await;
    let dana = quiet.user("dana").await;
    let erin = quiet.user("erin").await;
    let other = dana.dm_with(&erin).await.id;
    let elsewhere = dana.client.send_message(other, &text(&format!("{}/article", site.origin()))).await.unwrap();

    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(site.seen().is_empty(), "nothing fetched: {:?}", site.seen());
    let history = bob.client.history(dm, &Default::default()).await.unwrap().messages;
    assert!(history.iter().find(|m| m.id == sent.id).unwrap().previews.is_empty());
    let history = erin.client.history(other, &Default::default()).await.unwrap().messages;
    assert!(history.iter().find(|m| m.id == elsewhere.id).unwrap().previews.is_empty());
}

#[tokio::test]
async fn a_page_whose_picture_is_internal_gets_a_preview_without_it() {
    let (canary_port, canary_hits) = canary().await;
    let site = site(format!("http://127.0.0.1:{canary_port}/secret.png")).await;
    let app = app_allowing(&site).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await.id;
    let mut bobs = bob.connect().await;

    let sent = alice.client.send_message(dm, &text(&format!("{}/internal", site.origin()))).await.unwrap();
    let previews = previews_of(&mut bobs, sent.id).await;
    assert_eq!(previews[0].title.as_deref(), Some("Looks harmless"));
    assert!(previews[0].image.is_none(), "an internal og:image is refused");
    assert_eq!(canary_hits.load(Ordering::SeqCst), 0, "no byte reached the internal address");

    // A link straight to an internal address gets nothing at all.
    let direct = alice.client.send_message(dm, &text(&format!("http://127.0.0.1:{canary_port}/admin"))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(canary_hits.load(Ordering::SeqCst), 0);
    let history = bob.client.history(dm, &Default::default()).await.unwrap().messages;
    assert!(history.iter().find(|m| m.id == direct.id).unwrap().previews.is_empty());
}

#[tokio::test]
async fn an_oembed_provider_describes_its_links_without_its_pages_being_read() {
    let provider = double(|path, query| match path {
        "/oembed" if query.contains("format=json") && query.contains("watch") => Answer::ok(
            "application/json",
            r#"{"type":"video","version":"1.0","title":"Pong finals","author_name":"Ana",
                "provider_name":"Tube","html":"<iframe src=x></iframe>"}"#,
        ),
        _ => Answer::not_found(),
    })
    .await;
    let endpoint = format!("{}/oembed", provider.origin());
    let allowed = provider.host_port();
    let app = spawn_app_with(move |c| {
        c.egress.allow = vec![allowed];
        c.previews.oembed =
            vec![confab_server::config::OembedProvider { hosts: vec!["videos.example".into()], endpoint }];
    })
    .await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await.id;
    let mut bobs = bob.connect().await;

    let sent = alice.client.send_message(dm, &text("https://videos.example/watch?v=42")).await.unwrap();
    let previews = previews_of(&mut bobs, sent.id).await;
    assert_eq!(previews[0].title.as_deref(), Some("Pong finals"));
    assert_eq!(previews[0].site_name.as_deref(), Some("Tube"));
    assert_eq!(provider.hits("/oembed"), 1);
    let asked = &provider.seen()[0].query;
    assert!(asked.contains("url=https%3A%2F%2Fvideos.example%2Fwatch%3Fv%3D42"), "{asked}");
}
