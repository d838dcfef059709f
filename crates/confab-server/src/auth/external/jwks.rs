//! The host app's JSON Web Key Set, fetched on demand and cached. A token naming an unknown
//! `kid` (the host app rotated its keys) causes a refetch — but at most one per
//! `jwks_min_refetch_secs`, so that tokens with random `kid`s cannot make Confab hammer the host
//! app. Concurrent verifications share one fetch.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use confab_proto::ErrorCode;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::{Mutex, RwLock};

use crate::config::ExternalAuthConfig;
use crate::error::{Error, Result};

pub struct JwksCache {
    url: String,
    http: reqwest::Client,
    timeout: Duration,
    max_age: Duration,
    min_refetch: Duration,
    keys: RwLock<Keys>,
    /// Held while fetching, so that concurrent misses wait for one fetch instead of each doing one.
    fetching: Mutex<()>,
}

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, (DecodingKey, Algorithm)>,
    /// Every usable key; a token without `kid` may use the only one when there is exactly one.
    all: Vec<(DecodingKey, Algorithm)>,
    /// Last successful fetch.
    fetched_at: Option<Instant>,
    /// Last attempt, successful or not, and whether it failed.
    attempted_at: Option<Instant>,
    failed: bool,
}

impl Keys {
    fn find(&self, kid: Option<&str>) -> Option<(DecodingKey, Algorithm)> {
        match kid {
            Some(kid) => self.by_kid.get(kid).cloned(),
            None if self.all.len() == 1 => self.all.first().cloned(),
            None => None,
        }
    }
}

impl JwksCache {
    pub fn new(url: String, http: reqwest::Client, config: &ExternalAuthConfig) -> JwksCache {
        JwksCache {
            url,
            http,
            timeout: Duration::from_millis(config.http_timeout_ms),
            max_age: Duration::from_secs(config.jwks_cache_secs),
            min_refetch: Duration::from_secs(config.jwks_min_refetch_secs),
            keys: RwLock::default(),
            fetching: Mutex::new(()),
        }
    }

    /// The key a token's `kid` names, with the one algorithm it may be used with.
    pub async fn key(&self, kid: Option<&str>) -> Result<(DecodingKey, Algorithm)> {
        let (cached, fresh, attempted_at, failed) = {
            let keys = self.keys.read().await;
            let fresh = keys.fetched_at.is_some_and(|at| at.elapsed() < self.max_age);
            (keys.find(kid), fresh, keys.attempted_at, keys.failed)
        };
        let may_fetch = attempted_at.is_none_or(|at| at.elapsed() >= self.min_refetch);
        if let Some(key) = cached {
            if fresh || !may_fetch {
                return Ok(key);
            }
            // A stale set is refreshed, but a host app that is down must not lock out tokens we
            // can still verify with the key we have.
            if let Err(e) = self.refresh(attempted_at).await {
                tracing::warn!(error = %e, "JWKS refresh failed; using the cached key");
                return Ok(key);
            }
        } else if may_fetch {
            self.refresh(attempted_at).await?;
        } else if failed {
            return Err(Error::AuthProviderUnavailable(format!("JWKS {}: the last fetch failed", self.url)));
        }
        self.keys.read().await.find(kid).ok_or_else(unknown_key)
    }

    /// Fetches the set unless another task tried since `seen` (the attempt this caller saw).
    async fn refresh(&self, seen: Option<Instant>) -> Result<()> {
        let _fetching = self.fetching.lock().await;
        if self.keys.read().await.attempted_at != seen {
            return Ok(()); // someone else fetched while we waited
        }
        let fetched = self.fetch().await;
        let mut keys = self.keys.write().await;
        keys.attempted_at = Some(Instant::now());
        match fetched {
            Ok(new) => {
                *keys = Keys { attempted_at: keys.attempted_at, ..new };
                Ok(())
            }
            Err(e) => {
                keys.failed = true; // the old keys stay usable
                Err(e)
            }
        }
    }

    async fn fetch(&self) -> Result<Keys> {
        let unavailable = |e: &dyn std::fmt::Display| Error::AuthProviderUnavailable(format!("JWKS {}: {e}", self.url));
        let response = self.http.get(&self.url).timeout(self.timeout).send().await.map_err(|e| unavailable(&e))?;
        if !response.status().is_success() {
            return Err(unavailable(&format!("status {}", response.status())));
        }
        let set: JwkSet = response.json().await.map_err(|e| unavailable(&e))?;
        let mut keys = Keys { fetched_at: Some(Instant::now()), ..Keys::default() };
        for jwk in &set.keys {
            if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
                continue;
            }
            let algorithm = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => Algorithm::EdDSA,
                _ => continue, // other key types are not accepted for host-app tokens
            };
            let Ok(key) = DecodingKey::from_jwk(jwk) else { continue };
            if let Some(kid) = &jwk.common.key_id {
                keys.by_kid.insert(kid.clone(), (key.clone(), algorithm));
            }
            keys.all.push((key, algorithm));
        }
        tracing::info!(url = %self.url, keys = keys.all.len(), "fetched JWKS");
        Ok(keys)
    }
}

fn unknown_key() -> Error {
    Error::unauthenticated(ErrorCode::UnknownKey, "the token's key id is not in the host app's key set")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::routing::get;
    use jsonwebtoken::EncodingKey;

    use super::super::tests::{ISSUER, claims, fixture, sign};
    use super::super::{ExternalAuth, ExternalAuthConfig};
    use super::*;

    /// A host app serving `jwks.json` (or, once `rotate` is set, `jwks_rotated.json` too), counting fetches.
    async fn host_app(fetches: Arc<AtomicUsize>, body: Arc<std::sync::Mutex<String>>) -> String {
        let app = Router::new().route(
            "/jwks",
            get(move || {
                fetches.fetch_add(1, Ordering::SeqCst);
                let body = body.lock().unwrap().clone();
                async move { ([("content-type", "application/json")], body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/jwks")
    }

    fn auth(url: String, min_refetch_secs: u64) -> ExternalAuth {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = ExternalAuthConfig {
            issuer: Some(ISSUER.into()),
            audience: Some("confab".into()),
            jwks_url: Some(url),
            leeway_secs: 5,
            jwks_cache_secs: 600,
            jwks_min_refetch_secs: min_refetch_secs,
            http_timeout_ms: 500,
            ..ExternalAuthConfig::default()
        };
        ExternalAuth::new(&config, reqwest::Client::new()).unwrap()
    }

    #[tokio::test]
    async fn keys_are_cached_refetched_for_new_kids_and_refetches_are_rate_limited() {
        let fetches = Arc::new(AtomicUsize::new(0));
        let body = Arc::new(std::sync::Mutex::new(fixture("jwks.json")));
        let url = host_app(fetches.clone(), body.clone()).await;
        let auth = auth(url, 1);
        let rsa = EncodingKey::from_rsa_pem(fixture("rsa_private.pem").as_bytes()).unwrap();
        let ed = EncodingKey::from_ed_pem(fixture("ed25519_private.pem").as_bytes()).unwrap();

        for _ in 0..5 {
            auth.verify(&sign(Algorithm::RS256, Some("rsa-1"), &claims("a"), &rsa)).await.unwrap();
        }
        auth.verify(&sign(Algorithm::EdDSA, Some("ed-1"), &claims("b"), &ed)).await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 1, "one fetch serves many tokens");

        // A spray of unknown kids right after a fetch costs nothing upstream.
        for i in 0..10 {
            let token = sign(Algorithm::RS256, Some(&format!("nope-{i}")), &claims("a"), &rsa);
            assert_eq!(auth.verify(&token).await.unwrap_err().code(), ErrorCode::UnknownKey);
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);

        // The host app rotates to a new key; after the refetch interval the new kid is found.
        *body.lock().unwrap() = fixture("jwks_rotated.json");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let rsa2 = EncodingKey::from_rsa_pem(fixture("rsa2_private.pem").as_bytes()).unwrap();
        auth.verify(&sign(Algorithm::RS256, Some("rsa-2"), &claims("c"), &rsa2)).await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 2);

        // A key signed by a key the set does not hold under that kid does not verify.
        let forged = sign(Algorithm::RS256, Some("rsa-2"), &claims("c"), &rsa);
        assert_eq!(auth.verify(&forged).await.unwrap_err().code(), ErrorCode::InvalidToken);
    }

    #[tokio::test]
    async fn an_unreachable_jwks_is_a_provider_failure() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        drop(listener); // nothing listens there now
        let auth = auth(url, 1);
        let rsa = EncodingKey::from_rsa_pem(fixture("rsa_private.pem").as_bytes()).unwrap();
        let token = sign(Algorithm::RS256, Some("rsa-1"), &claims("a"), &rsa);
        assert_eq!(auth.verify(&token).await.unwrap_err().code(), ErrorCode::AuthProviderUnavailable);
        // Within the refetch interval the failure is remembered, not mistaken for an unknown key.
        assert_eq!(auth.verify(&token).await.unwrap_err().code(), ErrorCode::AuthProviderUnavailable);
    }
}
