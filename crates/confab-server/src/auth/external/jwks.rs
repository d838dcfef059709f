//! The host app's JSON Web Key Set, fetched on first use and cached for `jwks_cache_secs`.
//!
//! A token naming a `kid` Confab does not hold (the host app rotated its keys) causes a refetch,
//! but fetches are at most one per `jwks_min_refetch_secs`, so that tokens with random `kid`s
//! cannot make Confab hammer the host app; and concurrent verifications share one fetch. When
//! the host app cannot be reached, the keys already held keep working: only tokens that no held
//! key can check are refused, with `auth_provider_unavailable`.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use confab_proto::ErrorCode;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::upstream::{self, Endpoint};
use crate::config::ExternalAuthConfig;
use crate::egress::Egress;
use crate::error::{Error, Result};

/// Far more than any real key set; a bigger answer is refused rather than buffered.
const MAX_JWKS_BYTES: usize = 256 * 1024;

pub(super) struct JwksCache {
    endpoint: Endpoint,
    http: Egress,
    timeout: Duration,
    max_age: Duration,
    min_refetch: Duration,
    /// Only held for reads and swaps, never across a fetch, so verifications never wait on the
    /// network unless they need a key that is not there.
    state: RwLock<State>,
    /// Held during a fetch: a verification that needs a fetch while one is running waits for
    /// it and uses its result instead of fetching again.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    keys: Vec<Key>,
    /// Last successful fetch.
    fetched_at: Option<Instant>,
    /// Last attempt, successful or not; the refetch rate limit counts from it.
    attempted_at: Option<Instant>,
    /// Counts attempts, so that a task that waited for a fetch can tell one happened.
    attempts: u64,
    /// Why the last attempt failed, if it did.
    last_failure: Option<String>,
}

struct Key {
    kid: Option<String>,
    algorithm: Algorithm,
    key: Arc<DecodingKey>,
}

impl State {
    /// The key named by `kid`; without a `kid`, the one key for `algorithm` if there is exactly
    /// one (a host app with a single key often leaves `kid` out).
    fn find(&self, kid: Option<&str>, algorithm: Algorithm) -> Option<(Arc<DecodingKey>, Algorithm)> {
        let found = match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
            None => {
                let mut candidates = self.keys.iter().filter(|k| k.algorithm == algorithm);
                match (candidates.next(), candidates.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        };
        found.map(|k| (k.key.clone(), k.algorithm))
    }

    /// Why no key was found: the host app could not be asked, or it does not know the key.
    fn miss(&self, endpoint: &Endpoint) -> Error {
        match &self.last_failure {
            Some(why) => Error::AuthProviderUnavailable(format!("JWKS {}: {why}", endpoint.label)),
            None => {
                Error::unauthenticated(ErrorCode::UnknownKey, "the token's key id is not in the host app's key set")
            }
        }
    }
}

impl JwksCache {
    pub fn new(endpoint: Endpoint, http: Egress, config: &ExternalAuthConfig) -> JwksCache {
        JwksCache {
            endpoint,
            http,
            timeout: Duration::from_millis(config.http_timeout_ms),
            max_age: Duration::from_secs(config.jwks_cache_secs),
            min_refetch: Duration::from_secs(config.jwks_min_refetch_secs),
            state: RwLock::default(),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// The key for a token with `kid` and `algorithm`, with the one algorithm the key may
    /// verify (which the caller enforces, so a mismatch is refused there).
    pub async fn key(&self, kid: Option<&str>, algorithm: Algorithm) -> Result<(Arc<DecodingKey>, Algorithm)> {
        let (found, fresh, may_fetch, attempts) = {
            let state = self.read();
            let fresh = state.fetched_at.is_some_and(|at| at.elapsed() < self.max_age);
            let may_fetch = state.attempted_at.is_none_or(|at| at.elapsed() >= self.min_refetch);
            (state.find(kid, algorithm), fresh, may_fetch, state.attempts)
        };
        match found {
            Some(key) if fresh || !may_fetch => return Ok(key),
            None if !may_fetch => return Err(self.read().miss(&self.endpoint)),
            _ => {}
        }
        // A stale set, or a key we lack: ask the host app. A failed fetch keeps the old keys,
        // so a stale key still verifies while the host app is down.
        self.refresh(attempts).await;
        let state = self.read();
        state.find(kid, algorithm).ok_or_else(|| state.miss(&self.endpoint))
    }

    /// Fetches the set, unless another task made an attempt since the caller looked
    /// (`seen_attempts`): then that attempt's outcome stands for this one too.
    async fn refresh(&self, seen_attempts: u64) {
        let _single_flight = self.fetching.lock().await;
        if self.read().attempts != seen_attempts {
            return;
        }
        let fetched = self.fetch().await;
        let mut state = self.write();
        state.attempts += 1;
        state.attempted_at = Some(Instant::now());
        match fetched {
            Ok(keys) => {
                tracing::info!(jwks = %self.endpoint.label, keys = keys.len(), "fetched the host app's key set");
                state.keys = keys;
                state.fetched_at = state.attempted_at;
                state.last_failure = None;
            }
            Err(why) => {
                tracing::warn!(jwks = %self.endpoint.label, error = %why, "cannot fetch the host app's key set");
                state.last_failure = Some(why);
            }
        }
    }

    async fn fetch(&self) -> Result<Vec<Key>, String> {
        let request = self.http.request(Method::GET, self.endpoint.url.clone()).timeout(self.timeout);
        let response = self.http.send(request).await.map_err(|e| e.describe())?;
        let set: LooseKeySet = upstream::read_json(response, MAX_JWKS_BYTES).await?;
        Ok(set.keys.into_iter().filter_map(usable_key).collect())
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // The lock guards plain data that no panic can leave half-written.
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A key set read key by key, so that one key of a type this library does not know (a new
/// curve, an encryption key with an unknown `alg`) is skipped instead of failing the whole set.
#[derive(Deserialize)]
struct LooseKeySet {
    keys: Vec<Value>,
}

/// The key as Confab may use it: RSA keys for RS256 and Ed25519 keys for EdDSA, for signatures
/// only, and not when the set declares the key for another algorithm.
fn usable_key(value: Value) -> Option<Key> {
    let jwk: Jwk = serde_json::from_value(value).ok()?;
    let common = &jwk.common;
    if common.public_key_use.as_ref().is_some_and(|u| *u != PublicKeyUse::Signature) {
        return None;
    }
    if common.key_operations.as_ref().is_some_and(|ops| !ops.contains(&KeyOperations::Verify)) {
        return None;
    }
    let (algorithm, declared) = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => (Algorithm::RS256, KeyAlgorithm::RS256),
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            (Algorithm::EdDSA, KeyAlgorithm::EdDSA)
        }
        _ => return None,
    };
    if common.key_algorithm.is_some_and(|alg| alg != declared) {
        return None;
    }
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some(Key { kid: common.key_id.clone(), algorithm, key: Arc::new(key) })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use serde_json::json;

    use super::super::tests::{claims, config, ed_key, fixture, http, rsa_key, sign};
    use super::super::{ExternalAuth, ExternalAuthConfig};
    use super::*;

    /// What the fake host app's JWKS endpoint does.
    #[derive(Clone)]
    enum Serve {
        Body(String),
        Status(StatusCode),
        Hang,
    }

    /// A host app serving a key set that a test can change, counting fetches.
    struct HostApp {
        url: String,
        fetches: Arc<AtomicUsize>,
        serve: Arc<Mutex<Serve>>,
    }

    impl HostApp {
        async fn start(serve: Serve) -> HostApp {
            let fetches = Arc::new(AtomicUsize::new(0));
            let serve = Arc::new(Mutex::new(serve));
            let (counter, current) = (fetches.clone(), serve.clone());
            let app = Router::new().route(
                "/jwks",
                get(move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let serve = current.lock().unwrap().clone();
                    respond(serve)
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/jwks", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await });
            HostApp { url, fetches, serve }
        }

        fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }

        fn serve(&self, serve: Serve) {
            *self.serve.lock().unwrap() = serve;
        }

        fn auth(&self, tune: impl FnOnce(&mut ExternalAuthConfig)) -> ExternalAuth {
            let mut config = ExternalAuthConfig { jwks_url: Some(self.url.clone()), ..config() };
            tune(&mut config);
            ExternalAuth::new(&config, &http()).unwrap()
        }
    }

    async fn respond(serve: Serve) -> Response {
        match serve {
            Serve::Body(body) => ([("content-type", "application/json")], body).into_response(),
            Serve::Status(status) => status.into_response(),
            Serve::Hang => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                StatusCode::OK.into_response()
            }
        }
    }

    fn rs256(kid: Option<&str>, sub: &str) -> String {
        sign(Algorithm::RS256, kid, &claims(sub), &rsa_key("rsa_private.pem"))
    }

    fn eddsa(kid: Option<&str>, sub: &str) -> String {
        sign(Algorithm::EdDSA, kid, &claims(sub), &ed_key())
    }

    fn rotated(kid: &str, sub: &str) -> String {
        sign(Algorithm::RS256, Some(kid), &claims(sub), &rsa_key("rsa2_private.pem"))
    }

    async fn code(auth: &ExternalAuth, token: &str) -> ErrorCode {
        auth.verify(token).await.unwrap_err().code()
    }

    #[tokio::test]
    async fn one_fetch_serves_many_tokens_of_both_key_types() {
        let host = HostApp::start(Serve::Body(fixture("jwks.json"))).await;
        let auth = host.auth(|_| {});
        assert_eq!(host.fetches(), 0, "fetched lazily");
        for i in 0..5 {
            assert_eq!(auth.verify(&rs256(Some("rsa-1"), &format!("r{i}"))).await.unwrap().subject, format!("r{i}"));
        }
        assert_eq!(auth.verify(&eddsa(Some("ed-1"), "e")).await.unwrap().subject, "e");
        assert_eq!(host.fetches(), 1);
    }

    #[tokio::test]
    async fn concurrent_first_verifications_share_one_fetch() {
        let host = HostApp::start(Serve::Body(fixture("jwks.json"))).await;
        let auth = Arc::new(host.auth(|_| {}));
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let (auth, token) = (auth.clone(), rs256(Some("rsa-1"), &format!("u{i}")));
                tokio::spawn(async move { auth.verify(&token).await.map(|id| id.subject) })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(host.fetches(), 1);
    }

    #[tokio::test]
    async fn unknown_kids_refetch_at_most_once_per_interval() {
        let host = HostApp::start(Serve::Body(fixture("jwks.json"))).await;
        let auth = host.auth(|c| c.jwks_min_refetch_secs = 1);
        // Signed ahead, so that each spray surely fits in one interval.
        let spray =
            |prefix: &str| -> Vec<String> { (0..20).map(|i| rs256(Some(&format!("{prefix}-{i}")), "a")).collect() };
        let (first, second) = (spray("random"), spray("again"));
        auth.verify(&rs256(Some("rsa-1"), "a")).await.unwrap();

        // A spray of random kids right after a fetch costs the host app nothing.
        for token in &first {
            assert_eq!(code(&auth, token).await, ErrorCode::UnknownKey);
        }
        assert_eq!(host.fetches(), 1);

        // Once the interval has passed, an unknown kid causes one refetch; still unknown, it is
        // refused, and the rest of the spray waits for the next interval.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        for token in &second {
            assert_eq!(code(&auth, token).await, ErrorCode::UnknownKey);
        }
        assert_eq!(host.fetches(), 2);
    }

    #[tokio::test]
    async fn a_rotated_key_is_found_by_refetching_and_the_retired_one_stops_working() {
        let host = HostApp::start(Serve::Body(fixture("jwks.json"))).await;
        let auth = host.auth(|c| c.jwks_min_refetch_secs = 1);
        auth.verify(&rs256(Some("rsa-1"), "a")).await.unwrap();

        host.serve(Serve::Body(fixture("jwks_rotated.json")));
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(auth.verify(&rotated("rsa-2", "b")).await.unwrap().subject, "b");
        assert_eq!(host.fetches(), 2);

        // The new set replaced the old one: the retired key no longer verifies anything.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(code(&auth, &rs256(Some("rsa-1"), "a")).await, ErrorCode::UnknownKey);
        // A token claiming the new kid but signed with another key is forged.
        assert_eq!(code(&auth, &rs256(Some("rsa-2"), "a")).await, ErrorCode::InvalidToken);
    }

    #[tokio::test]
    async fn a_stale_set_is_refreshed_but_kept_while_the_host_app_is_down() {
        let host = HostApp::start(Serve::Body(fixture("jwks.json"))).await;
        let auth = host.auth(|c| {
            c.jwks_cache_secs = 1;
            c.jwks_min_refetch_secs = 1;
        });
        let (held, new) = (rs256(Some("rsa-1"), "a"), rotated("rsa-2", "b"));
        auth.verify(&held).await.unwrap();
        host.serve(Serve::Status(StatusCode::INTERNAL_SERVER_ERROR));
        tokio::time::sleep(Duration::from_millis(1100)).await;

        // The refresh fails; the held key still verifies, but a key we never had cannot.
        assert_eq!(auth.verify(&held).await.unwrap().subject, "a");
        assert_eq!(host.fetches(), 2);
        assert_eq!(code(&auth, &new).await, ErrorCode::AuthProviderUnavailable);
        assert_eq!(host.fetches(), 2, "the failed attempt counts toward the rate limit");

        // Back up: the next refresh succeeds.
        host.serve(Serve::Body(fixture("jwks_rotated.json")));
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(auth.verify(&new).await.unwrap().subject, "b");
        assert_eq!(host.fetches(), 3);
    }

    #[tokio::test]
    async fn a_down_or_hanging_host_app_is_unavailable_not_unauthorized() {
        for serve in [Serve::Status(StatusCode::SERVICE_UNAVAILABLE), Serve::Hang, Serve::Body("<html>".into())] {
            let host = HostApp::start(serve).await;
            let auth = host.auth(|_| {});
            let started = Instant::now();
            assert_eq!(code(&auth, &rs256(Some("rsa-1"), "a")).await, ErrorCode::AuthProviderUnavailable);
            assert!(started.elapsed() < Duration::from_secs(2), "http_timeout_ms applies");
            // Within the refetch interval the failure is remembered, not retried or mistaken
            // for an unknown key.
            assert_eq!(code(&auth, &rs256(Some("rsa-1"), "a")).await, ErrorCode::AuthProviderUnavailable);
            assert_eq!(host.fetches(), 1);
        }

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        drop(listener); // nothing listens there now
        let auth = ExternalAuth::new(&ExternalAuthConfig { jwks_url: Some(url), ..config() }, &http()).unwrap();
        assert_eq!(code(&auth, &rs256(Some("rsa-1"), "a")).await, ErrorCode::AuthProviderUnavailable);
    }

    #[tokio::test]
    async fn algorithms_must_match_the_key_and_foreign_tokens_cost_no_fetch() {
        let host = HostApp::start(Serve::Body(fixture("jwks.json"))).await;
        let auth = host.auth(|_| {});
        // HS256 is never accepted from a key set: refused before any fetch.
        let confused = sign(
            Algorithm::HS256,
            Some("rsa-1"),
            &claims("a"),
            &jsonwebtoken::EncodingKey::from_secret(fixture("rsa_public.pem").as_bytes()),
        );
        assert_eq!(code(&auth, &confused).await, ErrorCode::UnsupportedAlgorithm);
        let foreign = sign(
            Algorithm::RS256,
            Some("rsa-1"),
            &super::super::tests::claims_with("a", json!({"iss": "https://evil.example"})),
            &rsa_key("rsa_private.pem"),
        );
        assert_eq!(code(&auth, &foreign).await, ErrorCode::InvalidIssuer);
        assert_eq!(host.fetches(), 0);

        // An EdDSA token naming the RSA key's kid is refused for its algorithm.
        assert_eq!(code(&auth, &eddsa(Some("rsa-1"), "a")).await, ErrorCode::UnsupportedAlgorithm);
    }

    #[tokio::test]
    async fn a_token_without_kid_uses_the_only_key_of_its_algorithm() {
        let host = HostApp::start(Serve::Body(fixture("jwks.json"))).await;
        let auth = host.auth(|_| {});
        // One RSA key and one Ed25519 key: each algorithm has exactly one candidate.
        assert_eq!(auth.verify(&rs256(None, "a")).await.unwrap().subject, "a");
        assert_eq!(auth.verify(&eddsa(None, "b")).await.unwrap().subject, "b");

        let mut two_rsa: Value = serde_json::from_str(&fixture("jwks.json")).unwrap();
        let rotated_key: Value = serde_json::from_str(&fixture("jwks_rotated.json")).unwrap();
        two_rsa["keys"].as_array_mut().unwrap().push(rotated_key["keys"][0].clone());
        let host = HostApp::start(Serve::Body(two_rsa.to_string())).await;
        let auth = host.auth(|_| {});
        assert_eq!(code(&auth, &rs256(None, "a")).await, ErrorCode::UnknownKey, "which of two RSA keys?");
        assert_eq!(auth.verify(&rs256(Some("rsa-1"), "a")).await.unwrap().subject, "a");
    }

    #[tokio::test]
    async fn keys_not_meant_for_signatures_or_of_unknown_types_are_skipped() {
        let set: Value = serde_json::from_str(&fixture("jwks.json")).unwrap();
        let rsa = set["keys"][0].clone();
        let with = |patch: Value| {
            let mut key = rsa.clone();
            for (k, v) in patch.as_object().unwrap() {
                key[k] = v.clone();
            }
            key
        };
        let keys = json!([
            with(json!({"kid": "enc", "use": "enc", "alg": "RSA-OAEP"})),
            with(json!({"kid": "ops", "use": null, "key_ops": ["encrypt"]})),
            with(json!({"kid": "ps", "alg": "PS256"})),
            {"kty": "EC", "crv": "secp256k1", "kid": "odd-curve", "x": "AA", "y": "AA"},
            {"kty": "future-type", "kid": "future"},
            {"kty": "RSA", "kid": 7, "n": "not base64url!", "e": "AQAB"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            with(json!({"kid": "good"})),
        ]);
        let host = HostApp::start(Serve::Body(json!({ "keys": keys }).to_string())).await;
        let auth = host.auth(|_| {});
        assert_eq!(auth.verify(&rs256(Some("good"), "a")).await.unwrap().subject, "a");
        for kid in ["enc", "ops", "ps", "hmac"] {
            assert_eq!(code(&auth, &rs256(Some(kid), "a")).await, ErrorCode::UnknownKey, "{kid}");
        }
        let hmac =
            sign(Algorithm::HS256, Some("hmac"), &claims("a"), &jsonwebtoken::EncodingKey::from_secret(b"secret"));
        assert_eq!(code(&auth, &hmac).await, ErrorCode::UnsupportedAlgorithm);
    }
}
