//! GIF search through the server: a Tenor-v2-compatible provider double on loopback answers
//! searches, and sees the server's requests only — never a user, their address or a URL a
//! client chose.

use std::time::Duration;

use confab_proto::ErrorCode;
use confab_proto::frames::Event;
use confab_proto::rest::{GifQuery, SendMessageRequest};

use crate::doubles::{Answer, Double, double};
use crate::helpers::*;
use crate::media::many_frames;

/// Tenor's answer shape: each result with a `gif` and a `tinygif` of this double's own.
fn results(origin: &str, ids: &[&str], next: &str) -> Answer {
    let results: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                r#"{{"id":"{id}","title":"","content_description":"Cat {id} waves","media_formats":{{
                    "gif":{{"url":"{origin}/media/{id}.gif","dims":[1,1],"size":100}},
                    "tinygif":{{"url":"{origin}/media/{id}-tiny.gif","dims":[1,1],"size":50}}}}}}"#
            )
        })
        .collect();
    Answer::ok("application/json", format!(r#"{{"results":[{}],"next":"{next}"}}"#, results.join(",")))
}

async fn provider() -> Double {
    // The double needs its own origin in its answers; it learns it from the Host of the request.
    let origin = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let known = origin.clone();
    let double = double(move |path, query| {
        let origin = known.get().cloned().unwrap_or_default();
        let key_ok = query.contains("key=test-key") && query.contains("client_key=confab");
        match path {
            _ if !key_ok && !path.starts_with("/media/") => {
                Answer { status: 401, content_type: "text/plain".into(), body: b"key".to_vec() }
            }
            "/v2/search" if query.contains("q=cats") && query.contains("pos=P2") => results(&origin, &["c3"], ""),
            "/v2/search" if query.contains("q=cats") => results(&origin, &["c1", "c2"], "P2"),
            "/v2/search" => results(&origin, &[], ""),
            "/v2/featured" => results(&origin, &["f1"], "0"),
            "/v2/posts" if query.contains("ids=c1") => results(&origin, &["c1"], ""),
            "/v2/posts" => results(&origin, &[], ""),
            p if p.starts_with("/media/") && p.ends_with(".gif") => Answer::ok("image/gif", many_frames(3)),
            _ => Answer::not_found(),
        }
    })
    .await;
    origin.set(double.origin()).unwrap();
    double
}

async fn app_with(provider: &Double) -> TestApp {
    let url = format!("{}/v2", provider.origin());
    spawn_app_with(move |c| {
        c.gifs.provider_url = Some(url);
        c.gifs.api_key = "test-key".into();
    })
    .await
}

#[tokio::test]
async fn a_search_goes_through_the_server_and_a_picked_gif_is_sent_as_a_file() {
    let provider = provider().await;
    let app = app_with(&provider).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await.id;

    let offered = alice.client.gif_provider().await.unwrap();
    assert!(offered.enabled);
    assert_eq!(offered.attribution.as_deref(), Some("Powered by Tenor"));
    let featured = alice.client.search_gifs(&GifQuery::default()).await.unwrap();
    assert_eq!((featured.results.len(), featured.next.as_deref()), (1, None), "\"0\" is the last page");
    let cats = alice.client.search_gifs(&GifQuery { q: Some("cats".into()), pos: None }).await.unwrap();
    assert_eq!(cats.results.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), ["c1", "c2"]);
    assert_eq!(cats.results[0].title, "Cat c1 waves");
    let more = GifQuery { q: Some("cats".into()), pos: cats.next.clone() };
    assert_eq!(alice.client.search_gifs(&more).await.unwrap().results[0].id, "c3");

    // Previews come from this server, and only for URLs it signed.
    let preview = &cats.results[0].url;
    assert!(preview.starts_with("/api/v1/gifs/preview/") && !preview.contains("127.0.0.1"), "{preview}");
    let served = reqwest::get(format!("{}{preview}", app.base_url)).await.unwrap();
    assert_eq!((served.status().as_u16(), served.headers()["content-type"].to_str().unwrap()), (200, "image/gif"));
    reqwest::get(format!("{}{preview}", app.base_url)).await.unwrap();
    assert_eq!(provider.hits("/media/c1-tiny.gif"), 1, "a preview is fetched once and kept");
    let forged = preview.replace("preview/", "preview/aHR0cDovLzEyNy4wLjAuMTo5OS94.");
    assert_eq!(reqwest::get(format!("{}{forged}", app.base_url)).await.unwrap().status(), 404);

    // Picked: the server fetches it by id and it becomes alice's upload, sent like a file.
    let mut bobs = bob.connect().await;
    let upload = alice.client.upload_gif("c1").await.unwrap();
    let sent = alice
        .client
        .send_message(dm, &SendMessageRequest { attachments: vec![upload.id], ..Default::default() })
        .await
        .unwrap();
    let live = first_event(&mut bobs, Duration::from_secs(5), |e| match e {
        Event::MessageCreated(m) if m.id == sent.id => Some(m),
        _ => None,
    })
    .await
    .expect("bob gets the GIF");
    let attachment = &live.attachments[0];
    assert_eq!((attachment.file.mime.as_str(), attachment.file.name.as_str()), ("image/gif", "Cat c1 waves.gif"));
    assert_api_error(alice.client.upload_gif("nope").await, 404, ErrorCode::NotFound);
    assert_api_error(alice.client.upload_gif("../../etc").await, 404, ErrorCode::NotFound);

    // What the provider saw: the server, its key, the query — nobody's address or session.
    let seen = provider.seen();
    assert!(seen.iter().all(|s| s.identifying.is_empty() && s.user_agent.starts_with("confab/")), "{seen:?}");
    assert!(seen.iter().filter(|s| s.path.starts_with("/v2/")).all(|s| !s.query.contains(&alice.id().to_string())));
}

#[tokio::test]
async fn without_a_provider_there_is_no_gif_search_and_a_failing_one_is_unavailable() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let offered = alice.client.gif_provider().await.unwrap();
    assert!(!offered.enabled && offered.attribution.is_none());
    assert_api_error(alice.client.search_gifs(&GifQuery::default()).await, 404, ErrorCode::NotFound);
    assert_api_error(alice.client.upload_gif("c1").await, 404, ErrorCode::NotFound);

    // A provider that answers nothing useful: the client hears `unavailable`, not a hang.
    let broken = double(|_, _| Answer { status: 500, content_type: "text/plain".into(), body: b"down".to_vec() }).await;
    let app = app_with(&broken).await;
    let alice = app.user("alice").await;
    let query = GifQuery { q: Some("cats".into()), pos: None };
    assert_api_error(alice.client.search_gifs(&query).await, 503, ErrorCode::Unavailable);
    let long = GifQuery { q: Some("x".repeat(101)), pos: None };
    assert_api_error(alice.client.search_gifs(&long).await, 400, ErrorCode::InvalidParameter);
}
