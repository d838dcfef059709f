//! Password hashing with argon2id. Hashing takes tens of milliseconds of CPU on purpose, so it
//! runs on the blocking pool, never on the async runtime.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use confab_proto::ErrorCode;

use crate::error::{Error, Result};

pub const MIN_CHARS: usize = 10;
/// Long enough for any passphrase; short enough that nobody hashes megabytes on our CPU.
pub const MAX_BYTES: usize = 1024;

/// A password that satisfies the policy; the only way to build one is [`Password::parse`].
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Password> {
        if raw.chars().count() < MIN_CHARS || raw.len() > MAX_BYTES {
            return Err(Error::invalid(
                ErrorCode::InvalidPassword,
                format!("a password has at least {MIN_CHARS} characters and at most {MAX_BYTES} bytes"),
            ));
        }
        Ok(Password(raw.to_owned()))
    }
}

/// Hashes a new password (argon2id, default parameters, random salt) to a PHC string.
pub async fn hash(password: Password) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.0.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(format!("password hashing task failed: {e}")))?
}

/// A hash to verify against when the account does not exist, so that a wrong username takes as
/// long to refuse as a wrong password and does not reveal which accounts exist.
static DECOY_HASH: LazyLock<Option<String>> =
    LazyLock::new(|| Argon2::default().hash_password(b"decoy password").ok().map(|h| h.to_string()));

/// True when `candidate` matches `stored`. With no stored hash, burns the same time and says no.
pub async fn verify(candidate: String, stored: Option<String>) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let (phc, real) = match stored {
            Some(phc) => (phc, true),
            None => (DECOY_HASH.clone().unwrap_or_default(), false),
        };
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok() && real
    })
    .await
    .map_err(|e| Error::Internal(format!("password verification task failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let phc = hash(Password::parse("correct horse battery").unwrap()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(phc.clone())).await.unwrap());
        assert!(!verify("wrong horse battery".into(), Some(phc)).await.unwrap());
        assert!(!verify("decoy password".into(), None).await.unwrap());
    }

    #[test]
    fn policy() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(MAX_BYTES + 1)).is_err());
        assert!(Password::parse("ten chars!").is_ok());
    }
}
