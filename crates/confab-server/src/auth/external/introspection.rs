//! RFC 7662 token introspection: for host apps whose tokens are opaque (or that want to revoke
//! JWTs early), Confab asks the host app's endpoint whether a token is active and whose it is.
//!
//! Answers — refusals included, so that a replayed bad token costs the host app one call, not
//! one per request — are cached for `introspection_cache_secs`, never past the token's `exp`,
//! keyed by the token's SHA-256: the token itself is never kept. Failures to get an answer are
//! not cached; they are the host app's trouble, not the token's.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use confab_proto::ErrorCode;
use reqwest::Method;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::ExternalIdentity;
use super::claims::{Claims, NO_SUBJECT};
use super::upstream::{self, Endpoint};
use crate::config::{ConfigError, ExternalAuthConfig};
use crate::egress::Egress;
use crate::error::{Error, Result};

/// Cached answers beyond which expired ones are swept out; if live ones alone fill the cache,
/// new answers go uncached until some expire. Bounds memory under a flood of made-up tokens.
const MAX_CACHED: usize = 10_000;
/// A full cache is swept at most this often, so a flood does not make every insert a sweep.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// An introspection answer is a small JSON object; a bigger one is refused rather than buffered.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

type TokenHash = [u8; 32];

pub(super) struct Introspector {
    endpoint: Endpoint,
    http: Egress,
    timeout: Duration,
    cache_ttl: Duration,
    /// HTTP Basic credentials of Confab at the endpoint.
    client: Option<(String, String)>,
    issuer: Option<String>,
    audience: Option<String>,
    leeway_secs: i64,
    /// The issuer of identities when neither the answer nor the configuration names one.
    default_issuer: String,
    cache: Mutex<AnswerCache>,
}

/// What an answer decided about a token.
#[derive(Debug, Clone)]
enum Verdict {
    Identity(ExternalIdentity),
    Refused(ErrorCode, &'static str),
}

impl Verdict {
    fn into_result(self) -> Result<ExternalIdentity> {
        match self {
            Verdict::Identity(identity) => Ok(identity),
            Verdict::Refused(code, message) => Err(Error::unauthenticated(code, message)),
        }
    }
}

impl Introspector {
    pub fn new(endpoint: Endpoint, http: Egress, config: &ExternalAuthConfig) -> Result<Introspector, ConfigError> {
        let client = match (&config.introspection_client_id, &config.introspection_client_secret) {
            (Some(id), Some(secret)) => Some((id.clone(), secret.clone())),
            (None, None) => None,
            _ => {
                return Err(ConfigError::Invalid(
                    "auth.external.introspection_client_id and introspection_client_secret go together".into(),
                ));
            }
        };
        Ok(Introspector {
            default_issuer: endpoint.origin(),
            endpoint,
            http,
            timeout: Duration::from_millis(config.http_timeout_ms),
            cache_ttl: Duration::from_secs(config.introspection_cache_secs),
            client,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            leeway_secs: i64::try_from(config.leeway_secs).unwrap_or(i64::MAX),
            cache: Mutex::default(),
        })
    }

    pub async fn verify(&self, token: &str) -> Result<ExternalIdentity> {
        let key: TokenHash = Sha256::digest(token.as_bytes()).into();
        if let Some(verdict) = self.cache().get(&key, Instant::now()) {
            return verdict.into_result();
        }
        let answer = self
            .ask(token)
            .await
            .map_err(|why| Error::AuthProviderUnavailable(format!("introspection {}: {why}", self.endpoint.label)))?;
        let now = crate::clock::now_ms() / 1000;
        let verdict = self.judge(&answer, now);
        tracing::debug!(token = %hex::encode(&key[..6]), verdict = %verdict_kind(&verdict), "introspected a token");
        if let Some(ttl) = self.keep_for(&verdict, now) {
            let now = Instant::now();
            self.cache().put(key, verdict.clone(), now + ttl, now);
        }
        verdict.into_result()
    }

    /// Posts the token as RFC 7662 §2.1 says. `Err` is the reason there is no usable answer.
    async fn ask(&self, token: &str) -> Result<Map<String, Value>, String> {
        let mut request = self
            .http
            .request(Method::POST, self.endpoint.url.clone())
            .timeout(self.timeout)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[("token", token), ("token_type_hint", "access_token")]);
        if let Some((id, secret)) = &self.client {
            request = request.basic_auth(id, Some(secret));
        }
        let response = self.http.send(request).await.map_err(|e| e.describe())?;
        let answer: Map<String, Value> = upstream::read_json(response, MAX_ANSWER_BYTES).await?;
        match answer.get("active") {
            Some(Value::Bool(_)) => Ok(answer),
            _ => Err("the answer lacks a boolean \"active\"".to_owned()),
        }
    }

    /// Applies Confab's own checks to an answer: the host app vouches for the token, but its
    /// issuer and audience must still be the configured ones, and its times must hold.
    fn judge(&self, answer: &Map<String, Value>, now: i64) -> Verdict {
        if answer.get("active") != Some(&Value::Bool(true)) {
            return Verdict::Refused(ErrorCode::InactiveToken, "the host app says this token is not active");
        }
        let claims = Claims::read(answer);
        if claims.exp.is_some_and(|exp| exp.saturating_add(self.leeway_secs) < now) {
            return Verdict::Refused(ErrorCode::TokenExpired, "token has expired");
        }
        if claims.nbf.is_some_and(|nbf| nbf.saturating_sub(self.leeway_secs) > now) {
            return Verdict::Refused(ErrorCode::TokenNotYetValid, "token is not valid yet");
        }
        if let (Some(wanted), Some(got)) = (&self.issuer, &claims.iss)
            && wanted != got
        {
            return Verdict::Refused(ErrorCode::InvalidIssuer, "token issuer is not accepted");
        }
        if let (Some(wanted), Some(got)) = (&self.audience, &claims.aud)
            && !got.contains(wanted)
        {
            return Verdict::Refused(ErrorCode::InvalidAudience, "token audience is not accepted");
        }
        let issuer = claims.iss.clone().or_else(|| self.issuer.clone()).unwrap_or_else(|| self.default_issuer.clone());
        match claims.into_identity(issuer) {
            Some(identity) => Verdict::Identity(identity),
            None => Verdict::Refused(ErrorCode::InvalidToken, NO_SUBJECT),
        }
    }

    /// How long a verdict may be reused: `cache_ttl`, cut short by the token's `exp`. A token
    /// that is not valid yet will be, so that verdict is not kept.
    fn keep_for(&self, verdict: &Verdict, now: i64) -> Option<Duration> {
        match verdict {
            Verdict::Identity(identity) => match identity.expires_at {
                Some(exp) if exp <= now => None,
                Some(exp) => Some(self.cache_ttl.min(Duration::from_secs(exp.abs_diff(now)))),
                None => Some(self.cache_ttl),
            },
            Verdict::Refused(ErrorCode::TokenNotYetValid, _) => None,
            Verdict::Refused(..) => Some(self.cache_ttl),
        }
    }

    fn cache(&self) -> MutexGuard<'_, AnswerCache> {
        // The cache is only ever read or replaced entry by entry: a panic cannot corrupt it.
        self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// For the debug log: the verdict without the identity's details.
fn verdict_kind(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Identity(_) => "active",
        Verdict::Refused(code, _) => code.as_str(),
    }
}

/// Verdicts by token hash, bounded (see [`MAX_CACHED`]).
#[derive(Default)]
struct AnswerCache {
    entries: HashMap<TokenHash, Entry>,
    next_sweep: Option<Instant>,
}

struct Entry {
    verdict: Verdict,
    until: Instant,
}

impl AnswerCache {
    fn get(&mut self, key: &TokenHash, now: Instant) -> Option<Verdict> {
        let entry = self.entries.get(key)?;
        if entry.until > now {
            return Some(entry.verdict.clone());
        }
        self.entries.remove(key);
        None
    }

    fn put(&mut self, key: TokenHash, verdict: Verdict, until: Instant, now: Instant) {
        if self.entries.len() >= MAX_CACHED && !self.entries.contains_key(&key) {
            if self.next_sweep.is_none_or(|at| now >= at) {
                self.entries.retain(|_, entry| entry.until > now);
                self.next_sweep = Some(now + SWEEP_INTERVAL);
            }
            if self.entries.len() >= MAX_CACHED {
                return;
            }
        }
        self.entries.insert(key, Entry { verdict, until });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::extract::Form;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use axum::{Json, Router};
    use serde_json::json;

    use super::super::ExternalAuth;
    use super::super::tests::{AUDIENCE, ISSUER, config, http, now};
    use super::*;

    /// "confab:s3cret" in HTTP Basic.
    const BASIC: &str = "Basic Y29uZmFiOnMzY3JldA==";

    /// The host app's endpoint. `/introspect` insists on Confab's Basic credentials, `/open` on
    /// none; both insist on an RFC 7662 form and answer by token (see `answer`).
    async fn endpoint(calls: Arc<AtomicUsize>) -> String {
        let handler = |basic: Option<&'static str>| {
            let calls = calls.clone();
            move |headers: HeaderMap, Form(form): Form<HashMap<String, String>>| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
                    if authorization != basic {
                        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client"})));
                    }
                    let hint = form.get("token_type_hint").map(String::as_str);
                    let token = form.get("token").map(String::as_str);
                    match (token, hint, form.len()) {
                        (Some(token), Some("access_token"), 2) => answer(token).await,
                        _ => (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_request"}))),
                    }
                }
            }
        };
        let app = Router::new().route("/introspect", post(handler(Some(BASIC)))).route("/open", post(handler(None)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    async fn answer(token: &str) -> (StatusCode, Json<Value>) {
        let ok = |body: Value| (StatusCode::OK, Json(body));
        match token {
            "good" | "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln" => ok(json!({
                "active": true, "sub": "op-7", "exp": now() + 600, "iss": ISSUER, "aud": ["other", AUDIENCE],
                "username": "opal", "name": "Opal", "picture": "https://game.example/opal.png", "scope": "chat"
            })),
            "no-iss" => ok(json!({"active": true, "sub": "op-8"})),
            "other-iss" => ok(json!({"active": true, "sub": "op-9", "iss": "https://id.example"})),
            "short" => ok(json!({"active": true, "sub": "op-10", "exp": now() + 2})),
            "expired" => ok(json!({"active": true, "sub": "op-11", "exp": now() - 600})),
            "early" => ok(json!({"active": true, "sub": "op-12", "nbf": now() + 600})),
            "foreign-aud" => ok(json!({"active": true, "sub": "x", "aud": "someone-else"})),
            "nobody" => ok(json!({"active": true})),
            "no-active" => ok(json!({"sub": "x"})),
            "down" => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({}))),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(3)).await;
                ok(json!({"active": true, "sub": "late"}))
            }
            _ => ok(json!({"active": false})),
        }
    }

    struct Setup {
        auth: ExternalAuth,
        calls: Arc<AtomicUsize>,
    }

    impl Setup {
        async fn new(path: &str, tune: impl FnOnce(&mut ExternalAuthConfig)) -> Setup {
            let calls = Arc::new(AtomicUsize::new(0));
            let base = endpoint(calls.clone()).await;
            let mut config = ExternalAuthConfig { introspection_url: Some(format!("{base}{path}")), ..config() };
            if path == "/introspect" {
                config.introspection_client_id = Some("confab".into());
                config.introspection_client_secret = Some("s3cret".into());
            }
            tune(&mut config);
            Setup { auth: ExternalAuth::new(&config, &http()).unwrap(), calls }
        }

        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }

        async fn code(&self, token: &str) -> ErrorCode {
            self.auth.verify(token).await.unwrap_err().code()
        }
    }

    #[tokio::test]
    async fn an_active_token_is_identified_and_its_answer_reused() {
        let setup = Setup::new("/introspect", |_| {}).await;
        let identity = setup.auth.verify("good").await.unwrap();
        assert_eq!(identity.issuer, ISSUER);
        assert_eq!(identity.subject, "op-7");
        assert_eq!(identity.username.as_deref(), Some("opal"));
        assert_eq!(identity.display_name.as_deref(), Some("Opal"));
        assert_eq!(identity.avatar_url.as_deref(), Some("https://game.example/opal.png"));
        assert!(identity.expires_at.is_some());
        assert_eq!(setup.auth.verify("good").await.unwrap(), identity);
        assert_eq!(setup.calls(), 1, "the second verification made no request");
    }

    #[tokio::test]
    async fn jwt_shaped_tokens_are_introspected_too() {
        let setup = Setup::new("/introspect", |_| {}).await;
        let identity = setup.auth.verify("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln").await.unwrap();
        assert_eq!(identity.subject, "op-7", "the endpoint's answer, not the token's own claims");
    }

    #[tokio::test]
    async fn inactive_tokens_are_refused_and_the_refusal_is_reused() {
        let setup = Setup::new("/introspect", |_| {}).await;
        assert_eq!(setup.code("revoked").await, ErrorCode::InactiveToken);
        assert_eq!(setup.code("revoked").await, ErrorCode::InactiveToken);
        assert_eq!(setup.calls(), 1);
    }

    #[tokio::test]
    async fn active_answers_are_still_checked_against_the_configuration() {
        let setup = Setup::new("/introspect", |_| {}).await;
        let cases = [
            ("expired", ErrorCode::TokenExpired),
            ("early", ErrorCode::TokenNotYetValid),
            ("other-iss", ErrorCode::InvalidIssuer),
            ("foreign-aud", ErrorCode::InvalidAudience),
            ("nobody", ErrorCode::InvalidToken),
        ];
        for (token, expected) in cases {
            assert_eq!(setup.code(token).await, expected, "{token}");
        }
        // Refusals are reused, except "not valid yet", which may change.
        for (token, expected) in cases {
            assert_eq!(setup.code(token).await, expected, "{token}");
        }
        assert_eq!(setup.calls(), cases.len() + 1);
    }

    #[tokio::test]
    async fn the_issuer_falls_back_to_the_configured_one_then_to_the_endpoint_origin() {
        let configured = Setup::new("/open", |_| {}).await;
        assert_eq!(configured.auth.verify("no-iss").await.unwrap().issuer, ISSUER);

        let unconfigured = Setup::new("/open", |c| c.issuer = None).await;
        let origin = unconfigured.auth.verify("no-iss").await.unwrap().issuer;
        assert!(origin.starts_with("http://127.0.0.1:") && !origin.ends_with("/open"), "{origin}");
        assert_eq!(unconfigured.auth.verify("other-iss").await.unwrap().issuer, "https://id.example");
    }

    #[tokio::test]
    async fn answers_are_not_reused_past_the_token_expiry() {
        let setup = Setup::new("/open", |c| c.introspection_cache_secs = 30).await;
        setup.auth.verify("short").await.unwrap();
        setup.auth.verify("short").await.unwrap();
        assert_eq!(setup.calls(), 1);
        tokio::time::sleep(Duration::from_millis(2100)).await;
        setup.auth.verify("short").await.unwrap();
        assert_eq!(setup.calls(), 2, "the cached answer ended with the token's exp");
    }

    #[tokio::test]
    async fn credentials_are_sent_only_when_configured() {
        let without = Setup::new("/introspect", |c| {
            c.introspection_client_id = None;
            c.introspection_client_secret = None;
        })
        .await;
        assert_eq!(without.code("good").await, ErrorCode::AuthProviderUnavailable, "the endpoint refused us");
        let open = Setup::new("/open", |_| {}).await;
        assert_eq!(open.auth.verify("good").await.unwrap().subject, "op-7");
    }

    #[tokio::test]
    async fn a_failing_slow_or_confused_endpoint_is_unavailable_and_not_cached() {
        let setup = Setup::new("/introspect", |_| {}).await;
        assert_eq!(setup.code("down").await, ErrorCode::AuthProviderUnavailable);
        assert_eq!(setup.code("no-active").await, ErrorCode::AuthProviderUnavailable);
        let started = Instant::now();
        assert_eq!(setup.code("slow").await, ErrorCode::AuthProviderUnavailable);
        assert!(started.elapsed() < Duration::from_secs(2), "http_timeout_ms applies");
        assert_eq!(setup.code("down").await, ErrorCode::AuthProviderUnavailable);
        assert_eq!(setup.calls(), 4, "failures are asked again");

        let nobody_there = ExternalAuthConfig { introspection_url: Some("http://127.0.0.1:9/x".into()), ..config() };
        let auth = ExternalAuth::new(&nobody_there, &http()).unwrap();
        assert_eq!(auth.verify("good").await.unwrap_err().code(), ErrorCode::AuthProviderUnavailable);
    }

    #[test]
    fn half_configured_client_credentials_are_refused() {
        let config = ExternalAuthConfig {
            introspection_url: Some("https://auth.example/introspect".into()),
            introspection_client_id: Some("confab".into()),
            ..config()
        };
        assert!(matches!(ExternalAuth::new(&config, &http()), Err(ConfigError::Invalid(_))));
    }

    #[test]
    fn the_cache_stays_bounded_and_sweeps_expired_answers_first() {
        let mut cache = AnswerCache::default();
        let start = Instant::now();
        let refused = || Verdict::Refused(ErrorCode::InactiveToken, "inactive");
        let key = |i: usize| -> TokenHash { Sha256::digest(i.to_le_bytes()).into() };
        for i in 0..MAX_CACHED {
            let until = if i % 2 == 0 { start + Duration::from_secs(1) } else { start + Duration::from_secs(60) };
            cache.put(key(i), refused(), until, start);
        }
        assert_eq!(cache.entries.len(), MAX_CACHED);

        // Two seconds on, half are expired: the next insert sweeps them.
        let later = start + Duration::from_secs(2);
        cache.put(key(MAX_CACHED), refused(), later + Duration::from_secs(60), later);
        assert_eq!(cache.entries.len(), MAX_CACHED / 2 + 1);
        assert!(cache.get(&key(0), later).is_none());
        assert!(cache.get(&key(1), later).is_some());

        // Full of live answers: new ones are not kept, old ones stay.
        for i in 0..MAX_CACHED {
            cache.put(key(MAX_CACHED + 1 + i), refused(), later + Duration::from_secs(60), later);
        }
        assert_eq!(cache.entries.len(), MAX_CACHED);
        assert!(cache.get(&key(1), later).is_some());
    }
}
