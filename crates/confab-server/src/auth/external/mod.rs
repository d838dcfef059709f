//! Trust in the host app's login. The host app issues tokens; Confab verifies them with one of:
//! an HS256 shared secret, an RS256/EdDSA public key, the host app's JWKS (`jwks.rs`), or its
//! RFC 7662 introspection endpoint for opaque tokens (`introspection.rs`). The outcome is an
//! [`ExternalIdentity`]; `users::Users::provision_external` turns it into a chat user.

mod introspection;
mod jwks;

use confab_proto::ErrorCode;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::auth::jwt;
use crate::config::{ConfigError, ExternalAuthConfig};
use crate::error::{Error, Result};
use introspection::Introspector;
use jwks::JwksCache;

/// Who the host app says the bearer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// The configured issuer (or, with introspection, the `iss` of the answer or the endpoint's URL).
    pub issuer: String,
    /// `sub`: the host app's stable id for the user.
    pub subject: String,
    /// `preferred_username`, as given (sanitized when the user is created).
    pub username: Option<String>,
    /// `name`
    pub display_name: Option<String>,
    /// `picture`
    pub avatar_url: Option<String>,
    /// `exp`, in Unix seconds.
    pub expires_at: Option<i64>,
}

pub struct ExternalAuth {
    verifier: Verifier,
    issuer: Option<String>,
    audience: Option<String>,
    leeway_secs: u64,
}

enum Verifier {
    /// One key from the configuration, valid for exactly one algorithm.
    Key(DecodingKey, Algorithm),
    Jwks(JwksCache),
    Introspection(Introspector),
}

/// The claims Confab reads from a host-app JWT. `exp`, `iss` and `aud` are checked by the
/// validation itself.
#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    picture: Option<String>,
}

impl ExternalAuth {
    /// Builds the verifier from a validated configuration (`Config::validate` ensures exactly
    /// one key source, and issuer and audience for JWTs).
    pub fn new(config: &ExternalAuthConfig, http: reqwest::Client) -> Result<ExternalAuth, ConfigError> {
        let invalid = |msg: String| ConfigError::Invalid(msg);
        let verifier = if let Some(secret) = &config.hs256_secret {
            Verifier::Key(DecodingKey::from_secret(secret.as_bytes()), Algorithm::HS256)
        } else if let Some(pem) = &config.public_key_pem {
            if let Ok(key) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
                Verifier::Key(key, Algorithm::RS256)
            } else if let Ok(key) = DecodingKey::from_ed_pem(pem.as_bytes()) {
                Verifier::Key(key, Algorithm::EdDSA)
            } else {
                return Err(invalid("auth.external public key is neither an RSA nor an Ed25519 SPKI PEM".into()));
            }
        } else if let Some(url) = &config.jwks_url {
            Verifier::Jwks(JwksCache::new(url.clone(), http, config))
        } else if let Some(url) = &config.introspection_url {
            Verifier::Introspection(Introspector::new(url.clone(), http, config))
        } else {
            return Err(invalid("auth.external needs a key source".into()));
        };
        Ok(ExternalAuth {
            verifier,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            leeway_secs: config.leeway_secs,
        })
    }

    /// Verifies a token of the host app: a JWT, or any token when introspection is configured.
    pub async fn verify(&self, token: &str) -> Result<ExternalIdentity> {
        match &self.verifier {
            Verifier::Key(key, algorithm) => {
                jwt::peek(token)?;
                self.decode(token, key, *algorithm)
            }
            Verifier::Jwks(jwks) => {
                let peek = jwt::peek(token)?;
                let (key, algorithm) = jwks.key(peek.kid.as_deref()).await?;
                self.decode(token, &key, algorithm)
            }
            Verifier::Introspection(introspector) => {
                introspector.verify(token, self.issuer.as_deref(), self.audience.as_deref()).await
            }
        }
    }

    fn decode(&self, token: &str, key: &DecodingKey, algorithm: Algorithm) -> Result<ExternalIdentity> {
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.leeway_secs;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        let issuer = self.issuer.clone().unwrap_or_default();
        validation.set_issuer(&[issuer.as_str()]);
        validation.set_audience(&[self.audience.as_deref().unwrap_or_default()]);
        let claims = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(jwt::verification_error)?.claims;
        identity(issuer, claims)
    }
}

fn identity(issuer: String, claims: Claims) -> Result<ExternalIdentity> {
    let subject = claims.sub.filter(|s| !s.is_empty() && s.len() <= 255);
    let Some(subject) = subject else {
        return Err(Error::unauthenticated(ErrorCode::InvalidToken, "token lacks a usable sub"));
    };
    Ok(ExternalIdentity {
        issuer,
        subject,
        username: claims.preferred_username,
        display_name: claims.name,
        avatar_url: claims.picture,
        expires_at: claims.exp,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    pub const ISSUER: &str = "https://game.example";
    pub const AUDIENCE: &str = "confab";
    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    pub fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    pub fn claims(sub: &str) -> serde_json::Value {
        json!({"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "exp": now() + 600, "name": "Zed", "preferred_username": "zed"})
    }

    pub fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).expect("fixture")
    }

    pub fn sign(alg: Algorithm, kid: Option<&str>, claims: &serde_json::Value, key: &EncodingKey) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    fn config() -> ExternalAuthConfig {
        ExternalAuthConfig {
            issuer: Some(ISSUER.into()),
            audience: Some(AUDIENCE.into()),
            leeway_secs: 5,
            ..ExternalAuthConfig::default()
        }
    }

    fn http() -> reqwest::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::new()
    }

    #[tokio::test]
    async fn hs256_tokens_are_checked_claim_by_claim() {
        let auth =
            ExternalAuth::new(&ExternalAuthConfig { hs256_secret: Some(SECRET.into()), ..config() }, http()).unwrap();
        let key = EncodingKey::from_secret(SECRET.as_bytes());
        let ok = sign(Algorithm::HS256, None, &claims("u1"), &key);
        let identity = auth.verify(&ok).await.unwrap();
        assert_eq!((identity.issuer.as_str(), identity.subject.as_str()), (ISSUER, "u1"));
        assert_eq!(identity.username.as_deref(), Some("zed"));

        let with = |patch: serde_json::Value| {
            let mut c = claims("u1");
            for (k, v) in patch.as_object().unwrap() {
                c[k] = v.clone();
            }
            sign(Algorithm::HS256, None, &c, &key)
        };
        let cases = [
            (with(json!({"exp": now() - 600})), ErrorCode::TokenExpired),
            (with(json!({"nbf": now() + 600})), ErrorCode::TokenNotYetValid),
            (with(json!({"iss": "https://evil.example"})), ErrorCode::InvalidIssuer),
            (with(json!({"aud": "someone-else"})), ErrorCode::InvalidAudience),
            (with(json!({"sub": ""})), ErrorCode::InvalidToken),
            (
                sign(
                    Algorithm::HS256,
                    None,
                    &claims("u1"),
                    &EncodingKey::from_secret(b"another secret, thirty-two bytes"),
                ),
                ErrorCode::InvalidToken,
            ),
        ];
        for (token, code) in cases {
            assert_eq!(auth.verify(&token).await.unwrap_err().code(), code);
        }
        let mut no_exp = claims("u1");
        no_exp.as_object_mut().unwrap().remove("exp");
        let no_exp = sign(Algorithm::HS256, None, &no_exp, &key);
        assert_eq!(auth.verify(&no_exp).await.unwrap_err().code(), ErrorCode::InvalidToken);
    }

    #[tokio::test]
    async fn a_public_key_accepts_only_its_own_algorithm() {
        let rsa = ExternalAuth::new(
            &ExternalAuthConfig { public_key_pem: Some(fixture("rsa_public.pem")), ..config() },
            http(),
        )
        .unwrap();
        let key = EncodingKey::from_rsa_pem(fixture("rsa_private.pem").as_bytes()).unwrap();
        assert_eq!(rsa.verify(&sign(Algorithm::RS256, None, &claims("r"), &key)).await.unwrap().subject, "r");

        // Key confusion: an HS256 token "signed" with the public key as secret must not pass.
        let confused =
            sign(Algorithm::HS256, None, &claims("r"), &EncodingKey::from_secret(fixture("rsa_public.pem").as_bytes()));
        assert_eq!(rsa.verify(&confused).await.unwrap_err().code(), ErrorCode::UnsupportedAlgorithm);

        let other = EncodingKey::from_rsa_pem(fixture("rsa2_private.pem").as_bytes()).unwrap();
        let forged = sign(Algorithm::RS256, None, &claims("r"), &other);
        assert_eq!(rsa.verify(&forged).await.unwrap_err().code(), ErrorCode::InvalidToken);

        let ed = ExternalAuth::new(
            &ExternalAuthConfig { public_key_pem: Some(fixture("ed25519_public.pem")), ..config() },
            http(),
        )
        .unwrap();
        let ed_key = EncodingKey::from_ed_pem(fixture("ed25519_private.pem").as_bytes()).unwrap();
        assert_eq!(ed.verify(&sign(Algorithm::EdDSA, None, &claims("e"), &ed_key)).await.unwrap().subject, "e");
        assert_eq!(
            ed.verify(&sign(Algorithm::RS256, None, &claims("e"), &key)).await.unwrap_err().code(),
            ErrorCode::UnsupportedAlgorithm
        );
    }

    #[test]
    fn a_pem_that_is_no_key_is_a_config_error() {
        let bad = ExternalAuthConfig {
            public_key_pem: Some("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----".into()),
            ..config()
        };
        assert!(matches!(ExternalAuth::new(&bad, http()), Err(ConfigError::Invalid(_))));
    }
}
