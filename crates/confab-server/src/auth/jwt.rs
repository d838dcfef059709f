//! What internal and external JWT verification share: a look at the token before trusting it,
//! and one mapping from verification failures to error codes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use confab_proto::ErrorCode;
use jsonwebtoken::errors::ErrorKind;
use serde::Deserialize;

use crate::error::Error;

/// The unverified header and issuer of a JWT: enough to choose a key, never to trust anything.
#[derive(Debug, Clone)]
pub struct Peek {
    pub alg: String,
    pub kid: Option<String>,
    pub iss: Option<String>,
}

/// True when `token` has the three-part shape of a JWS compact serialization.
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

/// Decodes the header and the `iss` claim without verifying anything. `alg: none` and other
/// algorithms outside HS256/RS256/EdDSA are refused here, before any key is looked at.
pub fn peek(token: &str) -> Result<Peek, Error> {
    #[derive(Deserialize)]
    struct Header {
        alg: String,
        #[serde(default)]
        kid: Option<String>,
    }
    #[derive(Deserialize)]
    struct Claims {
        #[serde(default)]
        iss: Option<String>,
    }
    let malformed = || Error::unauthenticated(ErrorCode::InvalidToken, "malformed token");
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(malformed());
    };
    let header: Header = decode_part(header).ok_or_else(malformed)?;
    let claims: Claims = decode_part(payload).ok_or_else(malformed)?;
    if !matches!(header.alg.as_str(), "HS256" | "RS256" | "EdDSA") {
        return Err(Error::unauthenticated(
            ErrorCode::UnsupportedAlgorithm,
            format!("token algorithm {:?} is not accepted", truncate(&header.alg, 16)),
        ));
    }
    Ok(Peek { alg: header.alg, kid: header.kid, iss: claims.iss })
}

fn decode_part<T: serde::de::DeserializeOwned>(part: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn truncate(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(at, _)| &s[..at])
}

/// Maps a failed `jsonwebtoken::decode` to the error the client sees.
pub fn verification_error(err: jsonwebtoken::errors::Error) -> Error {
    let (code, message) = match err.kind() {
        ErrorKind::ExpiredSignature => (ErrorCode::TokenExpired, "token has expired"),
        ErrorKind::ImmatureSignature => (ErrorCode::TokenNotYetValid, "token is not valid yet"),
        ErrorKind::InvalidIssuer => (ErrorCode::InvalidIssuer, "token issuer is not accepted"),
        ErrorKind::InvalidAudience => (ErrorCode::InvalidAudience, "token audience is not accepted"),
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::MissingAlgorithm => {
            (ErrorCode::UnsupportedAlgorithm, "token algorithm is not accepted for this key")
        }
        ErrorKind::InvalidSignature => (ErrorCode::InvalidToken, "token signature does not verify"),
        ErrorKind::MissingRequiredClaim(_) => (ErrorCode::InvalidToken, "token lacks a required claim"),
        _ => (ErrorCode::InvalidToken, "malformed token"),
    };
    Error::unauthenticated(code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn alg_none_is_refused_before_any_key() {
        let token = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(r#"{"sub":"1"}"#));
        let err = peek(&token).unwrap_err();
        assert_eq!(err.code(), ErrorCode::UnsupportedAlgorithm);
    }

    #[test]
    fn peek_reads_kid_and_issuer() {
        let token = format!("{}.{}.sig", b64(r#"{"alg":"RS256","kid":"k1"}"#), b64(r#"{"iss":"https://app"}"#));
        let p = peek(&token).unwrap();
        assert_eq!((p.alg.as_str(), p.kid.as_deref(), p.iss.as_deref()), ("RS256", Some("k1"), Some("https://app")));
    }

    #[test]
    fn garbage_is_malformed() {
        for token in ["", "a.b", "a.b.c.d", "!!.??.x", "e30.e30"] {
            assert_eq!(peek(token).unwrap_err().code(), ErrorCode::InvalidToken, "{token}");
        }
    }
}
