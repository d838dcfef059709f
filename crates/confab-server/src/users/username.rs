//! Usernames: 3–32 characters of `[a-z0-9_.-]`, compared and stored lowercased.

use confab_proto::ErrorCode;

use crate::error::Error;

pub const MIN_LEN: usize = 3;
pub const MAX_LEN: usize = 32;

/// A username that is known to be valid; the only way to build one is [`Username::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Accepts any case and folds it: `Alice` and `alice` are the same account.
    pub fn parse(raw: &str) -> Result<Username, Error> {
        let len = raw.chars().count();
        if !(MIN_LEN..=MAX_LEN).contains(&len) {
            return Err(Error::invalid(
                ErrorCode::InvalidUsername,
                format!("a username has {MIN_LEN} to {MAX_LEN} characters"),
            ));
        }
        let folded = raw.to_ascii_lowercase();
        if !folded.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')) {
            return Err(Error::invalid(
                ErrorCode::InvalidUsername,
                "a username may contain only letters a-z, digits, '_', '.' and '-'",
            ));
        }
        Ok(Username(folded))
    }

    /// Derives a valid username from a claim of the host app (`preferred_username`, `name`, or the
    /// subject): invalid characters become `_`, the length is clamped, and a short result is padded.
    pub fn from_hint(hint: &str) -> Username {
        let mut name: String = hint
            .chars()
            .map(|c| c.to_ascii_lowercase())
            .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-') { c } else { '_' })
            .take(MAX_LEN)
            .collect();
        while name.len() < MIN_LEN {
            name.push('_');
        }
        Username(name)
    }

    /// This name with `-suffix`, shortened to fit: `alice` → `alice-2`.
    pub fn with_suffix(&self, suffix: &str) -> Username {
        let keep = MAX_LEN.saturating_sub(suffix.len() + 1);
        let base: String = self.0.chars().take(keep).collect();
        Username(format!("{base}-{suffix}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_are_folded() {
        assert_eq!(Username::parse("Alice_1.x-y").unwrap().as_str(), "alice_1.x-y");
    }

    #[test]
    fn invalid_names_are_refused() {
        let long = "a".repeat(10_000);
        for bad in ["ab", "", "has space", "émile", "a/b", "<img>", "x'; DROP TABLE users; --", long.as_str()] {
            let err = Username::parse(bad).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidUsername, "{bad}");
        }
        assert!(Username::parse(&"a".repeat(32)).is_ok());
        assert!(Username::parse(&"a".repeat(33)).is_err());
    }

    #[test]
    fn hints_become_valid_names() {
        assert_eq!(Username::from_hint("Jean Dupont").as_str(), "jean_dupont");
        assert_eq!(Username::from_hint("é").as_str(), "___");
        let long = Username::from_hint(&"x".repeat(50));
        assert_eq!(long.with_suffix("17").as_str().len(), MAX_LEN);
        for hint in ["Jean Dupont", "é", "a@b.c", "😀😀😀😀"] {
            assert!(Username::parse(Username::from_hint(hint).as_str()).is_ok(), "{hint}");
        }
    }
}
