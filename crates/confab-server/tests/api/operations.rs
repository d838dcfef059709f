//! What operators and integrators rely on: health, readiness, metrics, the OpenAPI document,
//! the page at `/`.

use confab_proto::frames::SendMessage;
use reqwest::Method;

use crate::helpers::*;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let client = app.anonymous();
    let health = client.raw(Method::GET, "/healthz", None).await.unwrap();
    assert_eq!((health.status, health.json["status"].as_str()), (200, Some("ok")));
    let ready = client.raw(Method::GET, "/readyz", None).await.unwrap();
    assert_eq!((ready.status, ready.json["status"].as_str()), (200, Some("ready")));
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = spawn_app().await;
    let doc = app.anonymous().raw(Method::GET, "/api/v1/openapi.json", None).await.unwrap();
    assert_eq!(doc.status, 200);
    let paths = doc.json["paths"].as_object().expect("paths");
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/me/sessions",
        "/api/v1/me/sessions/{session_id}",
        "/api/v1/ws-ticket",
        "/api/v1/ws",
        "/api/v1/users/{user_id}",
        "/api/v1/conversations",
        "/api/v1/conversations/{id}",
        "/api/v1/conversations/{id}/messages",
        "/api/v1/conversations/{id}/messages/{message_id}",
        "/api/v1/conversations/{id}/messages/{message_id}/edits",
        "/api/v1/conversations/{id}/messages/{message_id}/reactions/{emoji}",
        "/api/v1/conversations/{id}/members",
        "/api/v1/conversations/{id}/members/{user_id}",
        "/api/v1/conversations/{id}/read",
        "/api/v1/conversations/{id}/typing",
        "/api/v1/conversations/{id}/audit",
        "/api/v1/conversations/{id}/pins",
        "/api/v1/conversations/{id}/pins/{message_id}",
        "/api/v1/sync",
        "/api/v1/users",
        "/api/v1/me/presence",
        "/api/v1/contacts",
        "/api/v1/contacts/{user_id}",
        "/api/v1/contacts/{user_id}/accept",
        "/api/v1/contacts/{user_id}/decline",
        "/api/v1/blocks",
        "/api/v1/blocks/{user_id}",
        "/api/v1/restrictions/{user_id}",
        "/api/v1/activities",
        "/api/v1/conversations/{id}/invitations",
        "/api/v1/conversations/{id}/invitations/{message_id}/accept",
        "/api/v1/notifications",
        "/api/v1/notifications/read",
        "/api/v1/unread",
        "/api/v1/conversations/{id}/notifications",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(paths.contains_key(path), "{path} is missing from the OpenAPI document");
    }
    let schemas = doc.json["components"]["schemas"].as_object().expect("schemas");
    for schema in ["Message", "Conversation", "AuthResponse", "ErrorBody", "ErrorCode", "SystemEvent", "SyncResult"] {
        assert!(schemas.contains_key(schema), "{schema} schema is missing");
    }
}

#[tokio::test]
async fn the_web_client_is_served_under_a_strict_policy() {
    let app = spawn_app().await;
    let response = reqwest::get(format!("{}/", app.base_url)).await.unwrap();
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(response.text().await.unwrap().contains("Confab"));
    let script = reqwest::get(format!("{}/web/js/main.js", app.base_url)).await.unwrap();
    assert_eq!(script.status(), 200);
    assert!(script.headers()["content-type"].to_str().unwrap().contains("javascript"));
    let missing = reqwest::get(format!("{}/web/../Cargo.toml", app.base_url)).await.unwrap();
    assert_eq!(missing.status(), 404);
}

/// The `frame-ancestors` directive of the page at `/` (and of its scripts).
async fn frame_ancestors(app: &TestApp, path: &str) -> String {
    let response = reqwest::get(format!("{}{path}", app.base_url)).await.unwrap();
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let directive = csp.split(';').map(str::trim).find(|d| d.starts_with("frame-ancestors "));
    directive.unwrap_or_else(|| panic!("no frame-ancestors in {csp}")).to_owned()
}

#[tokio::test]
async fn only_the_server_and_the_host_app_may_frame_the_web_client_by_default() {
    let app = spawn_app_with(|c| c.gateway.allowed_origins = vec!["https://game.example".into()]).await;
    assert_eq!(frame_ancestors(&app, "/").await, "frame-ancestors 'self' https://game.example");
    assert_eq!(frame_ancestors(&app, "/web/js/main.js").await, "frame-ancestors 'self' https://game.example");
    let plain = spawn_app().await;
    assert_eq!(frame_ancestors(&plain, "/").await, "frame-ancestors 'self'", "never `*`");
}

#[tokio::test]
async fn the_configured_frame_ancestors_replace_the_default() {
    let app = spawn_app_with(|c| {
        c.gateway.allowed_origins = vec!["https://game.example".into()];
        c.web.frame_ancestors = Some(vec!["https://portal.example".into(), "https://*.game.example:8443".into()]);
    })
    .await;
    assert_eq!(frame_ancestors(&app, "/").await, "frame-ancestors https://portal.example https://*.game.example:8443");
}

#[tokio::test]
async fn metrics_count_this_nodes_connections_and_commands() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await.id;
    let mut ws = alice.connect().await;
    let sent = SendMessage {
        conversation_id: dm,
        body: "counted".into(),
        client_id: Some("c-1".into()),
        reply_to: None,
        attachments: vec![],
        tones: vec![],
        literal: false,
        sticker_id: None,
    };
    ws.send_message(sent.clone()).await.expect("sent over the socket");
    ws.send_message(sent).await.expect("a retry answers with the first message");

    let response = reqwest::get(format!("{}/metrics", app.base_url)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4");
    let text = response.text().await.unwrap();
    assert_eq!(text, text.trim_end().to_owned() + "\n", "one sample per line, newline-terminated");
    let node = r#"node="1""#;
    assert!(text.contains(&format!("confab_node_info{{{node},")), "{text}");
    assert_eq!(metric(&text, &format!("confab_websocket_connections{{{node}}}")), 1.0);
    assert!(metric(&text, &format!("confab_websocket_connections_opened_total{{{node}}}")) >= 1.0);
    assert!(metric(&text, &format!("confab_events_published_total{{{node}}}")) >= 1.0);
    assert!(
        metric(&text, &format!("confab_event_deliveries_total{{{node}}}")) >= 1.0,
        "message.created reached the socket"
    );
    assert_eq!(metric(&text, &format!(r#"confab_gateway_commands_total{{{node},type="message.send"}}"#)), 2.0);
    assert_eq!(metric(&text, &format!("confab_messages_stored_total{{{node}}}")), 1.0, "a retry stores nothing");
    assert_eq!(metric(&text, &format!(r#"confab_gateway_command_errors_total{{{node},type="message.send"}}"#)), 0.0);
    assert!(metric(&text, &format!(r#"confab_gateway_command_seconds_bucket{{{node},le="+Inf"}}"#)) >= 1.0);
    assert!(metric(&text, &format!(r#"confab_http_requests_total{{{node},method="POST",status="2xx"}}"#)) >= 3.0);
    assert!(!text.contains("/api/v1/"), "paths never become labels");
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let app = spawn_app_with(|config| config.metrics.enabled = false).await;
    let response = reqwest::get(format!("{}/metrics", app.base_url)).await.unwrap();
    assert_eq!(response.status(), 404);
}
