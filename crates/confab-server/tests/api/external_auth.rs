//! The host app's login: its tokens are accepted as they are, and a user first seen through one
//! is created on the spot, exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::{get, post};
use base64::Engine;
use confab_client::{ConnectOptions, Connection};
use confab_proto::ErrorCode;
use confab_server::config::ExternalAuthConfig;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::*;

const ISSUER: &str = "https://game.example";
const SECRET: &str = "a shared secret of at least 32 bytes";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn claims(sub: &str) -> Value {
    json!({
        "iss": ISSUER, "aud": "confab", "sub": sub, "exp": now() + 600,
        "preferred_username": "Zed Player", "name": "Zed the Player", "picture": "https://game.example/zed.png"
    })
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn hs256(claims: &Value) -> String {
    sign(Algorithm::HS256, None, claims, &EncodingKey::from_secret(SECRET.as_bytes()))
}

fn external(configure: impl FnOnce(&mut ExternalAuthConfig)) -> impl FnOnce(&mut confab_server::Config) {
    move |config| {
        let mut external =
            ExternalAuthConfig { issuer: Some(ISSUER.into()), audience: Some("confab".into()), ..Default::default() };
        configure(&mut external);
        config.auth.external = Some(external);
    }
}

/// Serves `routes` on a random port, as the host app would.
async fn host_app(routes: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, routes).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_new_subject_becomes_one_user_even_under_concurrent_first_requests() {
    let app = spawn_app_with(external(|e| e.hs256_secret = Some(SECRET.into()))).await;
    let token = hs256(&claims("player-42"));
    let client = app.anonymous().with_token(&token);

    let mut tasks = Vec::new();
    for _ in 0..20 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move { client.me().await.unwrap() }));
    }
    let mut users = Vec::new();
    for t in tasks {
        users.push(t.await.unwrap());
    }
    assert!(users.iter().all(|u| u.id == users[0].id), "one user, not {}", users.len());
    let me = &users[0];
    assert_eq!(me.username, "zed_player");
    assert_eq!(me.display_name, "Zed the Player");
    assert_eq!(me.avatar_url.as_deref(), Some("https://game.example/zed.png"));
    assert!(me.external);

    // The same token opens the WebSocket, and the user can chat with a built-in user.
    let ws = client.connect().await.unwrap();
    assert_eq!(ws.ready().user.id, me.id);
    assert_eq!(ws.ready().session_id, None);
    let local = app.user("localuser").await;
    let dm = client.open_direct(local.id()).await.unwrap();
    assert_eq!(local.dm_with_id(me.id).await, dm.id);

    // A second host-app user who wants the same name gets a suffix.
    let namesake = app.anonymous().with_token(&hs256(&claims("player-43"))).me().await.unwrap();
    assert_ne!(namesake.id, me.id);
    assert!(namesake.username.starts_with("zed_player-"), "{}", namesake.username);
}

#[tokio::test]
async fn bad_host_tokens_are_refused_with_clear_codes_on_rest_and_websocket() {
    let app = spawn_app_with(external(|e| e.hs256_secret = Some(SECRET.into()))).await;
    let mut expired = claims("p");
    expired["exp"] = json!(now() - 3600);
    let mut early = claims("p");
    early["nbf"] = json!(now() + 3600);
    let mut wrong_iss = claims("p");
    wrong_iss["iss"] = json!("https://evil.example");
    let mut wrong_aud = claims("p");
    wrong_aud["aud"] = json!("another-app");
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let alg_none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&claims("p")));
    let forged =
        sign(Algorithm::HS256, None, &claims("p"), &EncodingKey::from_secret(b"not the shared secret, not at all"));

    let cases = [
        (hs256(&expired), ErrorCode::TokenExpired),
        (hs256(&early), ErrorCode::TokenNotYetValid),
        (hs256(&wrong_iss), ErrorCode::InvalidIssuer),
        (hs256(&wrong_aud), ErrorCode::InvalidAudience),
        (alg_none, ErrorCode::UnsupportedAlgorithm),
        (forged, ErrorCode::InvalidToken),
    ];
    let ws_url = app.anonymous().ws_url();
    for (token, code) in cases {
        assert_api_error(app.anonymous().with_token(&token).me().await, 401, code);
        match Connection::open(&ws_url, ConnectOptions { bearer: Some(token), ..Default::default() }).await {
            Err(confab_client::ClientError::Handshake { status: 401, body }) => {
                assert!(body.contains(code.as_str()), "{body}")
            }
            other => panic!("{code:?}: expected a 401 handshake, got {:?}", other.map(|_| ())),
        }
    }
    // Nobody was created along the way, and built-in accounts still work beside external auth.
    let local = app.user("alice").await;
    assert_eq!(local.client.me().await.unwrap().username, "alice");
}

#[tokio::test]
async fn rs256_public_key() {
    let app = spawn_app_with(external(|e| e.public_key_pem = Some(fixture("rsa_public.pem")))).await;
    let key = EncodingKey::from_rsa_pem(fixture("rsa_private.pem").as_bytes()).unwrap();
    let me = app.anonymous().with_token(&sign(Algorithm::RS256, None, &claims("rsa-user"), &key)).me().await.unwrap();
    assert!(me.external);
    // An HS256 token made with the public key as its secret is the classic confusion attack.
    let confused = sign(
        Algorithm::HS256,
        None,
        &claims("rsa-user"),
        &EncodingKey::from_secret(fixture("rsa_public.pem").as_bytes()),
    );
    assert_api_error(app.anonymous().with_token(&confused).me().await, 401, ErrorCode::UnsupportedAlgorithm);
}

#[tokio::test]
async fn jwks_keys_are_fetched_from_the_host_app() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = fetches.clone();
    let jwks = fixture("jwks.json");
    let host = host_app(Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let body = jwks.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    ))
    .await;
    let app = spawn_app_with(external(|e| e.jwks_url = Some(format!("{host}/.well-known/jwks.json")))).await;

    let rsa = EncodingKey::from_rsa_pem(fixture("rsa_private.pem").as_bytes()).unwrap();
    let ed = EncodingKey::from_ed_pem(fixture("ed25519_private.pem").as_bytes()).unwrap();
    let a = app.anonymous().with_token(&sign(Algorithm::RS256, Some("rsa-1"), &claims("j1"), &rsa)).me().await.unwrap();
    let b = app.anonymous().with_token(&sign(Algorithm::EdDSA, Some("ed-1"), &claims("j2"), &ed)).me().await.unwrap();
    assert_ne!(a.id, b.id);
    assert_eq!(fetches.load(Ordering::SeqCst), 1);

    let rsa2 = EncodingKey::from_rsa_pem(fixture("rsa2_private.pem").as_bytes()).unwrap();
    let unknown = sign(Algorithm::RS256, Some("rsa-2"), &claims("j3"), &rsa2);
    assert_api_error(app.anonymous().with_token(&unknown).me().await, 401, ErrorCode::UnknownKey);
}

#[tokio::test]
async fn opaque_tokens_are_introspected() {
    let host = host_app(Router::new().route(
        "/introspect",
        post(|body: String| async move {
            let answer = if body.contains("token=opaque-good") {
                json!({"active": true, "sub": "op-1", "username": "opal", "exp": now() + 600})
            } else {
                json!({"active": false})
            };
            axum::Json(answer)
        }),
    ))
    .await;
    let app = spawn_app_with(external(|e| e.introspection_url = Some(format!("{host}/introspect")))).await;
    let me = app.anonymous().with_token("opaque-good").me().await.unwrap();
    assert_eq!(me.username, "opal");
    assert_api_error(app.anonymous().with_token("opaque-revoked").me().await, 401, ErrorCode::InactiveToken);

    // The host app down: a clear 503, not a 401 that would sign the user out.
    let down = spawn_app_with(external(|e| e.introspection_url = Some("http://127.0.0.1:9/introspect".into()))).await;
    assert_api_error(down.anonymous().with_token("opaque-good").me().await, 503, ErrorCode::AuthProviderUnavailable);
}
