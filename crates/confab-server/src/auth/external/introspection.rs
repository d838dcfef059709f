//! RFC 7662 token introspection: for host apps whose tokens are opaque, Confab asks the host
//! app's endpoint whether a token is active and whose it is. Answers are cached briefly, keyed by
//! the token's SHA-256 (the token itself is never kept), and never past the token's `exp`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use confab_proto::ErrorCode;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::ExternalIdentity;
use crate::config::ExternalAuthConfig;
use crate::error::{Error, Result};

/// Past this many cached answers, expired ones are dropped (and if that is not enough, all).
const MAX_CACHED: usize = 10_000;

pub struct Introspector {
    url: String,
    http: reqwest::Client,
    timeout: Duration,
    cache_ttl: Duration,
    client: Option<(String, String)>,
    cache: Mutex<HashMap<[u8; 32], Cached>>,
}

#[derive(Clone)]
struct Cached {
    /// `None`: the endpoint said the token is not active.
    identity: Option<ExternalIdentity>,
    until: Instant,
}

/// The fields of an introspection answer Confab reads.
#[derive(Debug, Deserialize)]
struct Answer {
    active: bool,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    picture: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, wanted: &str) -> bool {
        match self {
            Audience::One(a) => a == wanted,
            Audience::Many(all) => all.iter().any(|a| a == wanted),
        }
    }
}

impl Introspector {
    pub fn new(url: String, http: reqwest::Client, config: &ExternalAuthConfig) -> Introspector {
        let client = match (&config.introspection_client_id, &config.introspection_client_secret) {
            (Some(id), Some(secret)) => Some((id.clone(), secret.clone())),
            _ => None,
        };
        Introspector {
            url,
            http,
            timeout: Duration::from_millis(config.http_timeout_ms),
            cache_ttl: Duration::from_secs(config.introspection_cache_secs),
            client,
            cache: Mutex::default(),
        }
    }

    pub async fn verify(&self, token: &str, issuer: Option<&str>, audience: Option<&str>) -> Result<ExternalIdentity> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(cached) = self.cached(&key) {
            return cached.identity.ok_or_else(inactive);
        }
        let answer = self.ask(token).await?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let outcome = check(answer, now, issuer, audience, &self.url);
        let until = match &outcome {
            Ok(identity) => {
                let left =
                    identity.expires_at.map_or(self.cache_ttl, |exp| Duration::from_secs((exp - now).max(0) as u64));
                Instant::now() + left.min(self.cache_ttl)
            }
            Err(_) => Instant::now() + self.cache_ttl,
        };
        let identity = match &outcome {
            Ok(identity) => Some(identity.clone()),
            Err(e) if e.code() == ErrorCode::InactiveToken => None,
            Err(_) => return outcome, // malformed answers are not cached
        };
        self.remember(key, Cached { identity, until });
        outcome
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Cached> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(key).filter(|c| c.until > Instant::now()).cloned()
    }

    fn remember(&self, key: [u8; 32], entry: Cached) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_CACHED {
            let now = Instant::now();
            cache.retain(|_, c| c.until > now);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(key, entry);
    }

    async fn ask(&self, token: &str) -> Result<Answer> {
        let unavailable = |e: &dyn std::fmt::Display| Error::AuthProviderUnavailable(format!("introspection: {e}"));
        let mut request = self
            .http
            .post(&self.url)
            .timeout(self.timeout)
            .form(&[("token", token), ("token_type_hint", "access_token")]);
        if let Some((id, secret)) = &self.client {
            request = request.basic_auth(id, Some(secret));
        }
        let response = request.send().await.map_err(|e| unavailable(&e))?;
        if !response.status().is_success() {
            return Err(unavailable(&format!("status {}", response.status())));
        }
        response.json().await.map_err(|e| unavailable(&e))
    }
}

fn check(
    answer: Answer,
    now: i64,
    issuer: Option<&str>,
    audience: Option<&str>,
    url: &str,
) -> Result<ExternalIdentity> {
    if !answer.active {
        return Err(inactive());
    }
    if answer.exp.is_some_and(|exp| exp <= now) {
        return Err(Error::unauthenticated(ErrorCode::TokenExpired, "token has expired"));
    }
    if let (Some(wanted), Some(got)) = (issuer, answer.iss.as_deref())
        && wanted != got
    {
        return Err(Error::unauthenticated(ErrorCode::InvalidIssuer, "token issuer is not accepted"));
    }
    if let (Some(wanted), Some(got)) = (audience, &answer.aud)
        && !got.contains(wanted)
    {
        return Err(Error::unauthenticated(ErrorCode::InvalidAudience, "token audience is not accepted"));
    }
    let Some(subject) = answer.sub.filter(|s| !s.is_empty() && s.len() <= 255) else {
        return Err(Error::unauthenticated(ErrorCode::InvalidToken, "introspection answer lacks a usable sub"));
    };
    Ok(ExternalIdentity {
        issuer: answer.iss.or_else(|| issuer.map(str::to_owned)).unwrap_or_else(|| url.to_owned()),
        subject,
        username: answer.preferred_username.or(answer.username),
        display_name: answer.name,
        avatar_url: answer.picture,
        expires_at: answer.exp,
    })
}

fn inactive() -> Error {
    Error::unauthenticated(ErrorCode::InactiveToken, "the host app says this token is not active")
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
    use super::super::tests::now;
    use super::*;

    /// A host app's introspection endpoint: `good` is active, `down` answers 500, `slow` hangs,
    /// everything else is inactive. It insists on the client credentials.
    async fn endpoint(calls: Arc<AtomicUsize>) -> String {
        let app = Router::new().route(
            "/introspect",
            post(move |headers: HeaderMap, Form(form): Form<HashMap<String, String>>| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    // "confab:s3cret" in Basic auth
                    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Basic Y29uZmFiOnMzY3JldA==") {
                        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client"})));
                    }
                    let token = form.get("token").cloned().unwrap_or_default();
                    match token.as_str() {
                        "good" => (
                            StatusCode::OK,
                            Json(json!({"active": true, "sub": "op-7", "exp": now() + 600, "aud": ["confab", "other"], "username": "opal", "name": "Opal"})),
                        ),
                        "down" => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({}))),
                        "slow" => {
                            tokio::time::sleep(Duration::from_secs(3)).await;
                            (StatusCode::OK, Json(json!({"active": true, "sub": "late"})))
                        }
                        "foreign" => (StatusCode::OK, Json(json!({"active": true, "sub": "x", "aud": "someone-else"}))),
                        _ => (StatusCode::OK, Json(json!({"active": false}))),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/introspect")
    }

    fn auth(url: String) -> ExternalAuth {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = ExternalAuthConfig {
            audience: Some("confab".into()),
            introspection_url: Some(url),
            introspection_client_id: Some("confab".into()),
            introspection_client_secret: Some("s3cret".into()),
            introspection_cache_secs: 30,
            http_timeout_ms: 500,
            ..ExternalAuthConfig::default()
        };
        ExternalAuth::new(&config, reqwest::Client::new()).unwrap()
    }

    #[tokio::test]
    async fn active_tokens_are_identified_and_answers_cached() {
        let calls = Arc::new(AtomicUsize::new(0));
        let auth = auth(endpoint(calls.clone()).await);
        let identity = auth.verify("good").await.unwrap();
        assert_eq!((identity.subject.as_str(), identity.username.as_deref()), ("op-7", Some("opal")));
        auth.verify("good").await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "the second answer came from the cache");

        assert_eq!(auth.verify("revoked").await.unwrap_err().code(), ErrorCode::InactiveToken);
        assert_eq!(auth.verify("revoked").await.unwrap_err().code(), ErrorCode::InactiveToken);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "inactive answers are cached too");

        assert_eq!(auth.verify("foreign").await.unwrap_err().code(), ErrorCode::InvalidAudience);
    }

    #[tokio::test]
    async fn a_failing_or_slow_endpoint_is_a_provider_failure() {
        let auth = auth(endpoint(Arc::new(AtomicUsize::new(0))).await);
        assert_eq!(auth.verify("down").await.unwrap_err().code(), ErrorCode::AuthProviderUnavailable);
        let started = Instant::now();
        assert_eq!(auth.verify("slow").await.unwrap_err().code(), ErrorCode::AuthProviderUnavailable);
        assert!(started.elapsed() < Duration::from_secs(2), "the timeout applies");
    }
}
