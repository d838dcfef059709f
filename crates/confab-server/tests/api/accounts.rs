//! Built-in accounts: registration, login, refresh rotation, sessions, logout.

use confab_proto::ErrorCode;
use confab_proto::rest::{LoginRequest, RefreshRequest, RegisterRequest};

use crate::helpers::*;

#[tokio::test]
async fn register_then_login_returns_tokens_and_the_user() {
    let app = spawn_app().await;
    let alice = app.user("Alice").await;
    assert_eq!(alice.auth.user.username, "alice", "usernames are folded to lowercase");
    assert_eq!(alice.auth.token_type, "Bearer");
    assert!(alice.auth.expires_in > 0);

    let me = alice.client.me().await.unwrap();
    assert_eq!(me.id, alice.id());

    let again = app.login("ALICE").await;
    assert_eq!(again.id(), alice.id());
    assert_ne!(again.auth.session_id, alice.auth.session_id, "each login is a new session");
}

#[tokio::test]
async fn usernames_are_unique_case_insensitively() {
    let app = spawn_app().await;
    app.user("bob").await;
    let again = app
        .anonymous()
        .register(&RegisterRequest { username: "BoB".into(), password: PASSWORD.into(), display_name: None })
        .await;
    assert_api_error(again, 409, ErrorCode::UsernameTaken);
}

#[tokio::test]
async fn weak_passwords_and_bad_usernames_are_refused() {
    let app = spawn_app().await;
    let client = app.anonymous();
    let short = RegisterRequest { username: "carol".into(), password: "short".into(), display_name: None };
    assert_api_error(client.register(&short).await, 400, ErrorCode::InvalidPassword);
    for name in ["ab", "with space", "émile", &"a".repeat(10_000)] {
        let bad = RegisterRequest { username: name.into(), password: PASSWORD.into(), display_name: None };
        assert_api_error(client.register(&bad).await, 400, ErrorCode::InvalidUsername);
    }
    // Nothing was created: the name is still free.
    client
        .register(&RegisterRequest { username: "carol".into(), password: PASSWORD.into(), display_name: None })
        .await
        .unwrap();
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_refused_alike() {
    let app = spawn_app().await;
    app.user("dave").await;
    let client = app.anonymous();
    let wrong = client.login(&LoginRequest { username: "dave".into(), password: "not the password".into() }).await;
    assert_api_error(wrong, 401, ErrorCode::InvalidCredentials);
    let nobody = client.login(&LoginRequest { username: "nobody".into(), password: PASSWORD.into() }).await;
    assert_api_error(nobody, 401, ErrorCode::InvalidCredentials);
}

#[tokio::test]
async fn login_is_rate_limited_per_username() {
    let app = spawn_app_with(|c| c.auth.login_attempts_per_username_per_minute = 3).await;
    app.user("erin").await;
    let client = app.anonymous();
    for _ in 0..3 {
        let r = client.login(&LoginRequest { username: "erin".into(), password: "guess guess guess".into() }).await;
        assert_api_error(r, 401, ErrorCode::InvalidCredentials);
    }
    let limited = client.login(&LoginRequest { username: "erin".into(), password: PASSWORD.into() }).await;
    assert_api_error(limited, 429, ErrorCode::RateLimited);
}

#[tokio::test]
async fn login_is_rate_limited_per_ip() {
    let app = spawn_app_with(|c| c.auth.login_attempts_per_ip_per_minute = 4).await;
    let client = app.anonymous();
    for i in 0..4 {
        let r = client.login(&LoginRequest { username: format!("user{i}"), password: PASSWORD.into() }).await;
        assert_api_error(r, 401, ErrorCode::InvalidCredentials);
    }
    let limited = client.login(&LoginRequest { username: "user9".into(), password: PASSWORD.into() }).await;
    assert_api_error(limited, 429, ErrorCode::RateLimited);
}

#[tokio::test]
async fn registration_can_be_closed() {
    let app = spawn_app_with(|c| c.auth.registration = false).await;
    let r = app
        .anonymous()
        .register(&RegisterRequest { username: "frank".into(), password: PASSWORD.into(), display_name: None })
        .await;
    assert_api_error(r, 403, ErrorCode::RegistrationClosed);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_session() {
    let app = spawn_app().await;
    let grace = app.user("grace").await;
    let client = app.anonymous();

    let first = grace.auth.refresh_token.clone();
    let second = client.refresh(&RefreshRequest { refresh_token: first.clone() }).await.unwrap();
    assert_ne!(second.refresh_token, first);
    assert_eq!(second.session_id, grace.auth.session_id);
    let third = client.refresh(&RefreshRequest { refresh_token: second.refresh_token.clone() }).await.unwrap();

    // The first token comes back: someone kept a copy. The whole family dies.
    let reuse = client.refresh(&RefreshRequest { refresh_token: first }).await;
    assert_api_error(reuse, 401, ErrorCode::RefreshTokenReused);
    let after = client.refresh(&RefreshRequest { refresh_token: third.refresh_token }).await;
    assert_api_error(after, 401, ErrorCode::InvalidRefreshToken);
    let access = client.with_token(&third.access_token).me().await;
    assert_api_error(access, 401, ErrorCode::SessionRevoked);

    let garbage = client.refresh(&RefreshRequest { refresh_token: "made up".into() }).await;
    assert_api_error(garbage, 401, ErrorCode::InvalidRefreshToken);
}

#[tokio::test]
async fn sessions_are_listed_and_revocable_one_by_one() {
    let app = spawn_app().await;
    let laptop = app.user("heidi").await;
    let phone = app.login("heidi").await;

    let sessions = laptop.client.sessions().await.unwrap().sessions;
    assert_eq!(sessions.len(), 2);
    assert!(sessions.iter().any(|s| s.id == laptop.auth.session_id && s.current));
    assert!(sessions.iter().any(|s| s.id == phone.auth.session_id && !s.current));

    laptop.client.revoke_session(phone.auth.session_id).await.unwrap();
    assert_api_error(phone.client.me().await, 401, ErrorCode::SessionRevoked);
    laptop.client.me().await.unwrap();

    // Someone else's session is not found, and stays alive.
    let ivan = app.user("ivan").await;
    assert_api_error(ivan.client.revoke_session(laptop.auth.session_id).await, 404, ErrorCode::NotFound);
    laptop.client.me().await.unwrap();
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let judy = app.user("judy").await;
    judy.client.logout().await.unwrap();
    assert_api_error(judy.client.me().await, 401, ErrorCode::SessionRevoked);
    let refresh = app.anonymous().refresh(&RefreshRequest { refresh_token: judy.auth.refresh_token.clone() }).await;
    assert_api_error(refresh, 401, ErrorCode::InvalidRefreshToken);
}

#[tokio::test]
async fn missing_forged_and_foreign_tokens_are_refused() {
    let app = spawn_app().await;
    let client = app.anonymous();
    assert_api_error(client.me().await, 401, ErrorCode::MissingToken);
    assert_api_error(client.with_token("not-a-jwt").me().await, 401, ErrorCode::InvalidToken);

    // A token of another Confab server (another signing key) does not verify here.
    let other = spawn_app().await;
    let stranger = other.user("mallory").await;
    assert_api_error(client.with_token(stranger.token()).me().await, 401, ErrorCode::InvalidToken);

    // A token whose payload was edited no longer matches its signature.
    let real = app.user("kim").await;
    let mut parts: Vec<String> = real.token().split('.').map(str::to_owned).collect();
    parts[1] = parts[1].chars().rev().collect();
    assert_api_error(client.with_token(&parts.join(".")).me().await, 401, ErrorCode::InvalidToken);
}
