//! Confab's own tokens: short-lived access JWTs (HS256 with a key kept in the database, so every
//! node of a cluster verifies every other's tokens) and opaque refresh tokens stored as hashes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use confab_proto::{ErrorCode, SessionId, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::jwt;
use crate::error::{Error, Result};

/// `iss` and `aud` of access tokens minted here; tokens with another issuer are the host app's.
pub const INTERNAL_ISSUER: &str = "confab";

#[derive(Debug, Serialize, Deserialize)]
struct AccessClaims {
    iss: String,
    aud: String,
    /// User id as a string.
    sub: String,
    /// Session id as a string.
    sid: String,
    iat: i64,
    exp: i64,
}

pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub ttl_secs: u64,
}

impl AccessTokens {
    pub fn new(secret: &[u8], ttl_secs: u64) -> AccessTokens {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[INTERNAL_ISSUER]);
        validation.set_audience(&[INTERNAL_ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        AccessTokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs,
        }
    }

    pub fn issue(&self, user: UserId, session: SessionId, now_secs: i64) -> Result<String> {
        let claims = AccessClaims {
            iss: INTERNAL_ISSUER.to_owned(),
            aud: INTERNAL_ISSUER.to_owned(),
            sub: user.to_string(),
            sid: session.to_string(),
            iat: now_secs,
            exp: now_secs + self.ttl_secs as i64,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| Error::Internal(format!("cannot sign access token: {e}")))
    }

    /// Checks signature, expiry, issuer and audience; does not check that the session is live.
    pub fn verify(&self, token: &str) -> Result<(UserId, SessionId)> {
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(jwt::verification_error)?;
        let malformed = || Error::unauthenticated(ErrorCode::InvalidToken, "malformed token claims");
        let user = data.claims.sub.parse().map_err(|_| malformed())?;
        let session = data.claims.sid.parse().map_err(|_| malformed())?;
        Ok((user, session))
    }
}

/// A fresh random secret of 32 bytes, as URL-safe base64 (for refresh tokens and tickets).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a bearer secret: its SHA-256, so a leaked table grants nothing.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_and_forged_ones_do_not() {
        let tokens = AccessTokens::new(b"0123456789abcdef0123456789abcdef", 900);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let token = tokens.issue(UserId(7), SessionId(9), now).unwrap();
        assert_eq!(tokens.verify(&token).unwrap(), (UserId(7), SessionId(9)));

        let other = AccessTokens::new(b"another secret, another server!!", 900);
        assert_eq!(other.verify(&token).unwrap_err().code(), ErrorCode::InvalidToken);

        let expired = tokens.issue(UserId(7), SessionId(9), now - 3600).unwrap();
        assert_eq!(tokens.verify(&expired).unwrap_err().code(), ErrorCode::TokenExpired);
    }

    #[test]
    fn random_tokens_differ() {
        assert_ne!(random_token(), random_token());
        assert_eq!(token_hash("a").len(), 32);
    }
}
