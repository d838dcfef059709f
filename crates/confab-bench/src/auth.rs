//! Tokens of a pretend host app. Signing up thousands of users with passwords would spend most
//! of a run in argon2 (~45 ms each), so the bench runs Confab with external HS256 auth and mints
//! the host app's JWTs itself: a user seen first through a valid token is provisioned on the fly.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use jsonwebtoken::{EncodingKey, Header};
use serde::Serialize;

/// Confab refuses HS256 secrets shorter than this (`auth.external.hs256_secret`).
pub const MIN_SECRET_BYTES: usize = 32;

/// How long minted tokens stay valid: longer than any run, so reconnects never need a new one.
const TOKEN_TTL_SECS: u64 = 24 * 3600;

/// Mints tokens for the users of one run. The subject prefix is unique per run, so runs against
/// a long-lived server (`--url`) get fresh users instead of reusing the previous run's.
#[derive(Clone)]
pub struct Minter {
    key: EncodingKey,
    issuer: String,
    audience: String,
    run_tag: String,
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    iss: &'a str,
    aud: &'a str,
    exp: u64,
    iat: u64,
    preferred_username: &'a str,
}

impl Minter {
    pub fn new(secret: &str, issuer: &str, audience: &str) -> anyhow::Result<Minter> {
        anyhow::ensure!(secret.len() >= MIN_SECRET_BYTES, "the HS256 secret needs at least {MIN_SECRET_BYTES} bytes");
        Ok(Minter {
            key: EncodingKey::from_secret(secret.as_bytes()),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            run_tag: run_tag(),
        })
    }

    /// The token of bench user `index` of this run.
    pub fn token(&self, index: usize) -> anyhow::Result<String> {
        let now = unix_secs();
        let sub = format!("{}-{index}", self.run_tag);
        // Usernames are 3–32 characters of [a-z0-9_.-]: "b" + tag + index fits.
        let username = format!("b{}-{index}", self.run_tag);
        let claims = Claims {
            sub: &sub,
            iss: &self.issuer,
            aud: &self.audience,
            exp: now + TOKEN_TTL_SECS,
            iat: now,
            preferred_username: &username,
        };
        jsonwebtoken::encode(&Header::default(), &claims, &self.key).context("signing a bench token")
    }
}

/// A random secret for a server the bench spawns itself.
pub fn random_secret() -> String {
    // No RNG crate for one value: the clock's nanoseconds and the pid, hashed by the std hasher.
    use std::hash::{BuildHasher, RandomState};
    let state = RandomState::new();
    (0..4).map(|i| format!("{:016x}", state.hash_one((i, std::process::id(), SystemTime::now())))).collect()
}

fn unix_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Base-36 seconds since the epoch: short enough to keep usernames under 32 characters.
fn run_tag() -> String {
    let mut n = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64 / 100).unwrap_or(0);
    let mut digits = Vec::new();
    while n > 0 {
        digits.push(char::from_digit((n % 36) as u32, 36).unwrap_or('0'));
        n /= 36;
    }
    digits.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_the_claims_confab_requires() {
        let secret = "0123456789abcdef0123456789abcdef";
        let token = Minter::new(secret, "bench", "confab").unwrap().token(7).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_issuer(&["bench"]);
        validation.set_audience(&["confab"]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes());
        let claims = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).unwrap().claims;
        assert!(claims["sub"].as_str().unwrap().ends_with("-7"));
        assert!(claims["preferred_username"].as_str().unwrap().starts_with('b'));
    }

    #[test]
    fn short_secrets_are_refused_as_confab_would() {
        assert!(Minter::new("short", "bench", "confab").is_err());
        assert!(random_secret().len() >= MIN_SECRET_BYTES);
    }

    #[test]
    fn usernames_fit_confabs_rules() {
        let tag = run_tag();
        let name = format!("b{tag}-{}", 99_999);
        assert!(name.len() <= 32, "{name}");
        assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
    }
}
