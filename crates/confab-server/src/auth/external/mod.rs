//! Trust in the host app's login. The host app issues tokens; Confab verifies them with one of:
//! an HS256 shared secret, an RS256/EdDSA public key, the host app's JWKS (`jwks.rs`), or its
//! RFC 7662 introspection endpoint for opaque tokens (`introspection.rs`). The outcome is an
//! [`ExternalIdentity`]; `users::Users::provision_external` turns it into a chat user.
//!
//! Tokens are never logged; where a log line must point at one, it shows a prefix of its
//! SHA-256.

mod claims;
mod introspection;
mod jwks;
mod upstream;

use std::str::FromStr;

use confab_proto::ErrorCode;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::auth::jwt;
use crate::config::{ConfigError, ExternalAuthConfig};
use crate::egress::Egress;
use crate::error::{Error, Result};
use claims::Claims;
use introspection::Introspector;
use jwks::JwksCache;
use upstream::Endpoint;

/// Longer tokens are refused unread: no honest host app sends one, and they would otherwise be
/// hashed, parsed or forwarded to the introspection endpoint.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Who the host app says the bearer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// The configured issuer; with introspection, the `iss` of the answer, else the configured
    /// issuer, else the origin of the introspection URL. With `subject` it names the user.
    pub issuer: String,
    /// `sub`: the host app's stable id for the user (an integer `sub` in its decimal spelling).
    pub subject: String,
    /// `preferred_username`, else `username`, as given (sanitized when the user is created).
    pub username: Option<String>,
    /// `name`
    pub display_name: Option<String>,
    /// `picture`
    pub avatar_url: Option<String>,
    /// `exp`, in Unix seconds.
    pub expires_at: Option<i64>,
}

/// Verifies the host app's tokens. Its caches (JWKS keys, introspection answers) are inside
/// and internally synchronized, so one instance serves every request, shared behind an `Arc`.
pub struct ExternalAuth {
    verifier: Verifier,
}

enum Verifier {
    /// One key from the configuration, valid for exactly one algorithm.
    Key {
        rules: JwtRules,
        key: DecodingKey,
        algorithm: Algorithm,
    },
    Jwks {
        rules: JwtRules,
        keys: JwksCache,
    },
    Introspection(Introspector),
}

fn trusting(egress: &Egress, url: &str) -> Result<Egress, ConfigError> {
    egress.trusting([url]).map_err(|e| ConfigError::Invalid(format!("cannot build the HTTP client: {e}")))
}

/// Algorithms a JWKS key may verify: Confab accepts RSA and Ed25519 keys from a key set.
const JWKS_ALGORITHMS: [Algorithm; 2] = [Algorithm::RS256, Algorithm::EdDSA];

impl ExternalAuth {
    /// Builds the verifier from a validated configuration (`Config::validate` ensures exactly one
    /// key source; were there several, the first of secret, public key, JWKS, introspection wins).
    /// The JWKS and introspection endpoints are reached through `egress`, trusting the
    /// configured endpoint's host (it is often on the internal network) and nothing more.
    pub fn new(config: &ExternalAuthConfig, egress: &Egress) -> Result<ExternalAuth, ConfigError> {
        let verifier = if let Some(secret) = &config.hs256_secret {
            let key = DecodingKey::from_secret(secret.as_bytes());
            Verifier::Key { rules: JwtRules::new(config)?, key, algorithm: Algorithm::HS256 }
        } else if let Some(pem) = &config.public_key_pem {
            let (key, algorithm) = public_key(pem)?;
            Verifier::Key { rules: JwtRules::new(config)?, key, algorithm }
        } else if let Some(url) = &config.jwks_url {
            let endpoint = Endpoint::parse(url, "jwks_url")?;
            let http = trusting(egress, url)?;
            Verifier::Jwks { rules: JwtRules::new(config)?, keys: JwksCache::new(endpoint, http, config) }
        } else if let Some(url) = &config.introspection_url {
            let endpoint = Endpoint::parse(url, "introspection_url")?;
            let http = trusting(egress, url)?;
            Verifier::Introspection(Introspector::new(endpoint, http, config)?)
        } else {
            return Err(ConfigError::Invalid("auth.external needs a key source".into()));
        };
        Ok(ExternalAuth { verifier })
    }

    /// Verifies a token of the host app: a JWT, or any token when introspection is configured
    /// (then JWT-shaped tokens are introspected too: the host app's endpoint decides).
    pub async fn verify(&self, token: &str) -> Result<ExternalIdentity> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Error::unauthenticated(ErrorCode::InvalidToken, "token is too long"));
        }
        match &self.verifier {
            Verifier::Key { rules, key, algorithm } => {
                rules.screen(token, &[*algorithm])?;
                rules.decode(token, key, *algorithm)
            }
            Verifier::Jwks { rules, keys } => {
                let (kid, algorithm) = rules.screen(token, &JWKS_ALGORITHMS)?;
                let (key, key_algorithm) = keys.key(kid.as_deref(), algorithm).await?;
                rules.decode(token, &key, key_algorithm)
            }
            Verifier::Introspection(introspector) => introspector.verify(token).await,
        }
    }
}

/// What a JWT of the host app must satisfy besides its signature.
struct JwtRules {
    issuer: String,
    /// `algorithms` is set per key; the rest holds for every token.
    validation: Validation,
}

impl JwtRules {
    fn new(config: &ExternalAuthConfig) -> Result<JwtRules, ConfigError> {
        let (Some(issuer), Some(audience)) = (&config.issuer, &config.audience) else {
            return Err(ConfigError::Invalid("auth.external needs issuer and audience to verify JWTs".into()));
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = config.leeway_secs;
        validation.validate_nbf = true;
        // `sub` is checked by `Claims`, which also accepts an integer `sub`.
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        Ok(JwtRules { issuer: issuer.clone(), validation })
    }

    /// Refuses, before any key is looked up (and so before any JWKS fetch), a token with an
    /// algorithm outside `accepted` or another issuer. Returns its `kid` and algorithm.
    fn screen(&self, token: &str, accepted: &[Algorithm]) -> Result<(Option<String>, Algorithm)> {
        let peek = jwt::peek(token)?;
        let algorithm = Algorithm::from_str(&peek.alg).ok().filter(|alg| accepted.contains(alg));
        let Some(algorithm) = algorithm else {
            return Err(Error::unauthenticated(
                ErrorCode::UnsupportedAlgorithm,
                "token algorithm is not accepted for this key",
            ));
        };
        match peek.iss {
            None => Err(Error::unauthenticated(ErrorCode::InvalidToken, "token lacks a required claim")),
            Some(iss) if iss != self.issuer => {
                Err(Error::unauthenticated(ErrorCode::InvalidIssuer, "token issuer is not accepted"))
            }
            Some(_) => Ok((peek.kid, algorithm)),
        }
    }

    /// Checks the signature with `key`, which may verify `algorithm` only (so an HS256 token
    /// cannot be checked against an RSA key used as a secret), then the claims.
    fn decode(&self, token: &str, key: &DecodingKey, algorithm: Algorithm) -> Result<ExternalIdentity> {
        let mut validation = self.validation.clone();
        validation.algorithms = vec![algorithm];
        let decoded = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation);
        let payload = decoded.map_err(jwt::verification_error)?.claims;
        Claims::read(&payload).into_identity(self.issuer.clone()).ok_or_else(claims::no_subject)
    }
}

/// The key in an SPKI PEM, with the one algorithm it may verify: RSA is tried, then Ed25519.
fn public_key(pem: &str) -> Result<(DecodingKey, Algorithm), ConfigError> {
    // jsonwebtoken would take a private key here too; refusing it tells the operator that the
    // host app's signing key was about to be copied onto the chat server.
    if pem.contains("PRIVATE KEY-----") {
        return Err(ConfigError::Invalid(
            "auth.external public key is a private key: give Confab the public half only".into(),
        ));
    }
    if let Ok(key) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
        return Ok((key, Algorithm::RS256));
    }
    if let Ok(key) = DecodingKey::from_ed_pem(pem.as_bytes()) {
        return Ok((key, Algorithm::EdDSA));
    }
    Err(ConfigError::Invalid("auth.external public key is neither an RSA nor an Ed25519 public key PEM".into()))
}

#[cfg(test)]
pub(super) mod tests {
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;

    pub const ISSUER: &str = "https://game.example";
    pub const AUDIENCE: &str = "confab";
    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    pub fn now() -> i64 {
        crate::clock::now_ms() / 1000
    }

    pub fn claims(sub: &str) -> Value {
        json!({"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "exp": now() + 600, "name": "Zed", "preferred_username": "zed", "picture": "https://game.example/zed.png"})
    }

    /// `claims(sub)` with some claims replaced (or, given `null`, removed).
    pub fn claims_with(sub: &str, patch: Value) -> Value {
        let mut claims = claims(sub);
        let (Some(map), Some(patch)) = (claims.as_object_mut(), patch.as_object()) else { return claims };
        for (name, value) in patch {
            if value.is_null() {
                map.remove(name);
            } else {
                map.insert(name.clone(), value.clone());
            }
        }
        claims
    }

    pub fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).expect("fixture")
    }

    pub fn rsa_key(name: &str) -> EncodingKey {
        EncodingKey::from_rsa_pem(fixture(name).as_bytes()).unwrap()
    }

    pub fn ed_key() -> EncodingKey {
        EncodingKey::from_ed_pem(fixture("ed25519_private.pem").as_bytes()).unwrap()
    }

    pub fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    pub fn config() -> ExternalAuthConfig {
        ExternalAuthConfig {
            issuer: Some(ISSUER.into()),
            audience: Some(AUDIENCE.into()),
            leeway_secs: 5,
            jwks_cache_secs: 600,
            jwks_min_refetch_secs: 30,
            introspection_cache_secs: 30,
            http_timeout_ms: 500,
            ..ExternalAuthConfig::default()
        }
    }

    /// The guard of a server that trusts nothing but what it is configured with.
    pub fn http() -> crate::egress::Egress {
        crate::egress::Egress::new(Vec::new(), std::sync::Arc::new(crate::egress::SystemLookup)).unwrap()
    }

    fn hs256_auth() -> ExternalAuth {
        ExternalAuth::new(&ExternalAuthConfig { hs256_secret: Some(SECRET.into()), ..config() }, &http()).unwrap()
    }

    fn hs256(claims: &Value) -> String {
        sign(Algorithm::HS256, None, claims, &EncodingKey::from_secret(SECRET.as_bytes()))
    }

    async fn code(auth: &ExternalAuth, token: &str) -> ErrorCode {
        auth.verify(token).await.unwrap_err().code()
    }

    #[tokio::test]
    async fn a_valid_token_tells_who_the_bearer_is() {
        let token = hs256(&claims("u1"));
        let identity = hs256_auth().verify(&token).await.unwrap();
        assert_eq!(
            identity,
            ExternalIdentity {
                issuer: ISSUER.into(),
                subject: "u1".into(),
                username: Some("zed".into()),
                display_name: Some("Zed".into()),
                avatar_url: Some("https://game.example/zed.png".into()),
                expires_at: claims("u1")["exp"].as_i64(),
            }
        );
    }

    #[tokio::test]
    async fn each_broken_claim_is_refused_with_its_own_code() {
        let auth = hs256_auth();
        let cases = [
            (json!({"exp": now() - 600}), ErrorCode::TokenExpired),
            (json!({"exp": null}), ErrorCode::InvalidToken),
            (json!({"nbf": now() + 600}), ErrorCode::TokenNotYetValid),
            (json!({"iss": "https://evil.example"}), ErrorCode::InvalidIssuer),
            (json!({"iss": null}), ErrorCode::InvalidToken),
            (json!({"aud": "someone-else"}), ErrorCode::InvalidAudience),
            (json!({"aud": ["a", "b"]}), ErrorCode::InvalidAudience),
            (json!({"aud": null}), ErrorCode::InvalidToken),
            (json!({"sub": ""}), ErrorCode::InvalidToken),
            (json!({"sub": null}), ErrorCode::InvalidToken),
        ];
        for (patch, expected) in cases {
            assert_eq!(code(&auth, &hs256(&claims_with("u1", patch.clone()))).await, expected, "{patch}");
        }
    }

    #[tokio::test]
    async fn leeway_forgives_small_clock_skew_only() {
        let auth = hs256_auth(); // leeway 5 s
        let just_expired = claims_with("u1", json!({"exp": now() - 2, "nbf": now() + 2}));
        assert_eq!(auth.verify(&hs256(&just_expired)).await.unwrap().subject, "u1");
        assert_eq!(code(&auth, &hs256(&claims_with("u1", json!({"exp": now() - 60})))).await, ErrorCode::TokenExpired);
    }

    #[tokio::test]
    async fn audience_lists_and_numeric_subjects_are_understood() {
        let auth = hs256_auth();
        let token = hs256(&claims_with("ignored", json!({"aud": ["other", AUDIENCE], "sub": 42})));
        assert_eq!(auth.verify(&token).await.unwrap().subject, "42");
    }

    #[tokio::test]
    async fn a_bad_signature_or_a_mangled_token_is_invalid() {
        let auth = hs256_auth();
        let forged =
            sign(Algorithm::HS256, None, &claims("u1"), &EncodingKey::from_secret(b"another secret, thirty-two bytes"));
        assert_eq!(code(&auth, &forged).await, ErrorCode::InvalidToken);
        let good = hs256(&claims("u1"));
        let (head, _) = good.rsplit_once('.').unwrap();
        assert_eq!(code(&auth, &format!("{head}.AAAA")).await, ErrorCode::InvalidToken);
        assert_eq!(code(&auth, "not-a-jwt").await, ErrorCode::InvalidToken);
        assert_eq!(code(&auth, &format!("{good}{}", "A".repeat(MAX_TOKEN_BYTES))).await, ErrorCode::InvalidToken);
    }

    #[tokio::test]
    async fn an_rsa_key_accepts_rs256_only() {
        let auth = ExternalAuth::new(
            &ExternalAuthConfig { public_key_pem: Some(fixture("rsa_public.pem")), ..config() },
            &http(),
        )
        .unwrap();
        let good = sign(Algorithm::RS256, None, &claims("r"), &rsa_key("rsa_private.pem"));
        assert_eq!(auth.verify(&good).await.unwrap().subject, "r");

        // Key confusion: an HS256 token "signed" with the public key as secret must not pass.
        let secret = EncodingKey::from_secret(fixture("rsa_public.pem").as_bytes());
        assert_eq!(
            code(&auth, &sign(Algorithm::HS256, None, &claims("r"), &secret)).await,
            ErrorCode::UnsupportedAlgorithm
        );
        assert_eq!(
            code(&auth, &sign(Algorithm::EdDSA, None, &claims("r"), &ed_key())).await,
            ErrorCode::UnsupportedAlgorithm
        );

        let wrong_key = sign(Algorithm::RS256, None, &claims("r"), &rsa_key("rsa2_private.pem"));
        assert_eq!(code(&auth, &wrong_key).await, ErrorCode::InvalidToken);
        let expired =
            sign(Algorithm::RS256, None, &claims_with("r", json!({"exp": now() - 600})), &rsa_key("rsa_private.pem"));
        assert_eq!(code(&auth, &expired).await, ErrorCode::TokenExpired);
    }

    #[tokio::test]
    async fn an_ed25519_key_accepts_eddsa_only() {
        let auth = ExternalAuth::new(
            &ExternalAuthConfig { public_key_pem: Some(fixture("ed25519_public.pem")), ..config() },
            &http(),
        )
        .unwrap();
        assert_eq!(auth.verify(&sign(Algorithm::EdDSA, None, &claims("e"), &ed_key())).await.unwrap().subject, "e");
        let rs256 = sign(Algorithm::RS256, None, &claims("e"), &rsa_key("rsa_private.pem"));
        assert_eq!(code(&auth, &rs256).await, ErrorCode::UnsupportedAlgorithm);
        let secret = EncodingKey::from_secret(fixture("ed25519_public.pem").as_bytes());
        assert_eq!(
            code(&auth, &sign(Algorithm::HS256, None, &claims("e"), &secret)).await,
            ErrorCode::UnsupportedAlgorithm
        );
    }

    #[tokio::test]
    async fn an_hs256_secret_refuses_asymmetric_tokens() {
        let rs256 = sign(Algorithm::RS256, None, &claims("h"), &rsa_key("rsa_private.pem"));
        assert_eq!(code(&hs256_auth(), &rs256).await, ErrorCode::UnsupportedAlgorithm);
    }

    #[test]
    fn one_verifier_serves_every_worker_thread() {
        fn shared<T: Send + Sync>() {}
        fn sendable<T: Send>(_: &T) {}
        shared::<ExternalAuth>();
        let auth = hs256_auth();
        sendable(&auth.verify("token"));
    }

    #[test]
    fn configurations_that_cannot_work_are_refused_at_start() {
        let not_a_key = ExternalAuthConfig {
            public_key_pem: Some("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----".into()),
            ..config()
        };
        let private_instead = ExternalAuthConfig { public_key_pem: Some(fixture("rsa_private.pem")), ..config() };
        let no_audience = ExternalAuthConfig { hs256_secret: Some(SECRET.into()), audience: None, ..config() };
        let bad_url = ExternalAuthConfig { jwks_url: Some("jwks.json".into()), ..config() };
        let nothing = config();
        for bad in [not_a_key, private_instead, no_audience, bad_url, nothing] {
            assert!(matches!(ExternalAuth::new(&bad, &http()), Err(ConfigError::Invalid(_))), "{bad:?}");
        }
    }
}
