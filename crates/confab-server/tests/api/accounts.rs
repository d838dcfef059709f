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

/// The web client's way of staying signed in: the refresh token in an `HttpOnly` cookie, asked
/// for (and proven same-site) with `X-Confab-Client: web`. Raw HTTP, since no SDK keeps cookies.
mod web_cookie {
    use confab_proto::ErrorCode;
    use reqwest::header::SET_COOKIE;
    use serde_json::{Value, json};

    use crate::helpers::*;

    const WEB: (&str, &str) = ("x-confab-client", "web");

    struct Answer {
        status: u16,
        cookie: Option<String>,
        body: Value,
    }

    async fn post(app: &TestApp, path: &str, headers: &[(&str, &str)], body: Value) -> Answer {
        let mut request = reqwest::Client::new().post(format!("{}{path}", app.base_url)).json(&body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let cookie = response.headers().get(SET_COOKIE).map(|v| v.to_str().unwrap().to_owned());
        let body = response.json().await.unwrap_or(Value::Null);
        Answer { status, cookie, body }
    }

    /// `confab_refresh=<token>` out of a `Set-Cookie`, as the browser sends it back.
    fn sent_back(set_cookie: &str) -> String {
        set_cookie.split(';').next().unwrap().to_owned()
    }

    async fn me_status(app: &TestApp, access: &str) -> u16 {
        let response =
            reqwest::Client::new().get(format!("{}/api/v1/me", app.base_url)).bearer_auth(access).send().await.unwrap();
        response.status().as_u16()
    }

    async fn web_login(app: &TestApp, name: &str) -> (String, String) {
        app.user(name).await;
        let login = post(app, "/api/v1/auth/login", &[WEB], json!({"username": name, "password": PASSWORD})).await;
        assert_eq!(login.status, 200);
        (login.body["access_token"].as_str().unwrap().to_owned(), sent_back(&login.cookie.unwrap()))
    }

    #[tokio::test]
    async fn web_sign_in_keeps_the_refresh_token_in_an_http_only_strict_cookie_only() {
        let app = spawn_app().await;
        let register =
            post(&app, "/api/v1/auth/register", &[WEB], json!({"username": "wendy", "password": PASSWORD})).await;
        assert_eq!(register.status, 201);
        let cookie = register.cookie.expect("a cookie");
        assert!(cookie.starts_with("confab_refresh="), "{cookie}");
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/api/v1/auth", "Max-Age="] {
            assert!(cookie.contains(attribute), "{attribute} in {cookie}");
        }
        assert!(!cookie.contains("Secure"), "plain http: a Secure cookie would be dropped ({cookie})");
        assert!(register.body.get("refresh_token").is_none(), "no script ever sees it: {}", register.body);
        assert_eq!(register.body["user"]["username"], "wendy");
        assert_eq!(me_status(&app, register.body["access_token"].as_str().unwrap()).await, 200);

        // The page is on https (behind a proxy): the cookie is Secure.
        let tls = post(
            &app,
            "/api/v1/auth/login",
            &[WEB, ("origin", "https://chat.example")],
            json!({"username": "wendy", "password": PASSWORD}),
        )
        .await;
        assert!(tls.cookie.unwrap().ends_with("; Secure"));

        // Without the header, nothing changes for other clients: both tokens in the body, no cookie.
        let sdk = post(&app, "/api/v1/auth/login", &[], json!({"username": "wendy", "password": PASSWORD})).await;
        assert!(sdk.cookie.is_none());
        assert!(sdk.body["refresh_token"].is_string());
    }

    #[tokio::test]
    async fn a_cookie_refresh_rotates_the_cookie_and_reuse_still_revokes_the_session() {
        let app = spawn_app().await;
        let (_, first) = web_login(&app, "rotor").await;
        let refreshed = post(&app, "/api/v1/auth/refresh", &[WEB, ("cookie", &first)], json!({})).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.body);
        assert!(refreshed.body.get("refresh_token").is_none());
        let second = sent_back(&refreshed.cookie.expect("a new cookie"));
        assert_ne!(second, first, "rotated");
        let access = refreshed.body["access_token"].as_str().unwrap().to_owned();
        assert_eq!(me_status(&app, &access).await, 200);

        // The old cookie again (a stolen copy): the session dies, and the browser is told to forget it.
        let reuse = post(&app, "/api/v1/auth/refresh", &[WEB, ("cookie", &first)], json!({})).await;
        assert_eq!(
            (reuse.status, reuse.body["error"]["code"].as_str()),
            (401, Some(ErrorCode::RefreshTokenReused.as_str()))
        );
        assert!(reuse.cookie.unwrap().contains("Max-Age=0"));
        assert_eq!(me_status(&app, &access).await, 401);
        let after = post(&app, "/api/v1/auth/refresh", &[WEB, ("cookie", &second)], json!({})).await;
        assert_eq!(after.status, 401);
    }

    #[tokio::test]
    async fn a_cookie_without_the_web_header_is_refused_and_changes_nothing() {
        let app = spawn_app().await;
        let (_, cookie) = web_login(&app, "csrf").await;
        // What a cross-site form could send (if SameSite did not stop it): the cookie, no header.
        let forged = post(&app, "/api/v1/auth/refresh", &[("cookie", &cookie)], json!({})).await;
        assert_eq!((forged.status, forged.body["error"]["code"].as_str()), (403, Some("forbidden")));
        assert!(forged.cookie.is_none());
        let logout = post(&app, "/api/v1/auth/logout", &[("cookie", &cookie)], json!({})).await;
        assert_eq!(logout.status, 403);
        // The token was not used up: the real client still refreshes with it.
        let real = post(&app, "/api/v1/auth/refresh", &[WEB, ("cookie", &cookie)], json!({})).await;
        assert_eq!(real.status, 200, "{}", real.body);

        // No token anywhere, or a malformed body: clear errors.
        let none = post(&app, "/api/v1/auth/refresh", &[WEB], json!({})).await;
        assert_eq!((none.status, none.body["error"]["code"].as_str()), (401, Some("invalid_refresh_token")));
        let bad = post(&app, "/api/v1/auth/refresh", &[WEB], json!({"refresh_token": 5})).await;
        assert_eq!((bad.status, bad.body["error"]["code"].as_str()), (400, Some("invalid_json")));
    }

    #[tokio::test]
    async fn logout_by_cookie_ends_the_session_and_clears_the_cookie() {
        let app = spawn_app().await;
        let (access, cookie) = web_login(&app, "leaver").await;
        // The access token is gone from memory (a closed tab): the cookie alone signs out.
        let logout = post(&app, "/api/v1/auth/logout", &[WEB, ("cookie", &cookie)], json!({})).await;
        assert_eq!(logout.status, 204);
        assert!(logout.cookie.unwrap().contains("confab_refresh=; Path=/api/v1/auth; Max-Age=0"));
        assert_eq!(me_status(&app, &access).await, 401);
        let refresh = post(&app, "/api/v1/auth/refresh", &[WEB, ("cookie", &cookie)], json!({})).await;
        assert_eq!(refresh.status, 401);

        // With a bearer token, the bearer's session ends and the cookie is cleared too.
        let (access, cookie) = web_login(&app, "leaver2").await;
        let bearer = format!("Bearer {access}");
        let logout =
            post(&app, "/api/v1/auth/logout", &[WEB, ("cookie", &cookie), ("authorization", &bearer)], json!({})).await;
        assert_eq!(logout.status, 204);
        assert!(logout.cookie.unwrap().contains("Max-Age=0"));
        assert_eq!(post(&app, "/api/v1/auth/refresh", &[WEB, ("cookie", &cookie)], json!({})).await.status, 401);
    }

    #[tokio::test]
    async fn sign_out_everywhere_ends_every_session_and_closes_their_sockets() {
        let app = spawn_app().await;
        let laptop = app.user("everywhere").await;
        let phone = app.login("everywhere").await;
        let other = app.user("bystander").await;
        let mut socket = phone.connect().await;
        let response = reqwest::Client::new()
            .delete(format!("{}/api/v1/me/sessions", app.base_url))
            .bearer_auth(laptop.token())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
        assert_api_error(laptop.client.me().await, 401, ErrorCode::SessionRevoked);
        assert_api_error(phone.client.me().await, 401, ErrorCode::SessionRevoked);
        let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            loop {
                if socket.next_event().await.is_err() {
                    break;
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "the phone's socket closes");
        // Only the caller's sessions.
        other.client.me().await.unwrap();
        let again = reqwest::Client::new()
            .delete(format!("{}/api/v1/me/sessions", app.base_url))
            .bearer_auth(laptop.token())
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 401);
    }
}
