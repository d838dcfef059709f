//! Validation of what a message carries, identical for REST and WebSocket because both call it
//! through [`super::Messages::send`].

use confab_proto::ErrorCode;

use crate::error::{Error, Result};

/// Longest `client_id`.
pub const MAX_CLIENT_ID_LEN: usize = 64;

/// A message body: not blank, at most `max_chars` characters; empty (but not blank) when the
/// message carries attachments. Stored verbatim — markup, quotes and SQL metacharacters are
/// just text to us.
pub fn check_body(body: &str, max_chars: usize, attachments: bool) -> Result<()> {
    if body.is_empty() && attachments {
        return Ok(());
    }
    if body.trim().is_empty() {
        return Err(Error::invalid(ErrorCode::EmptyMessage, "the message body is empty"));
    }
    // Counting stops early, so a huge body costs no more than the limit.
    if body.chars().nth(max_chars).is_some() {
        return Err(Error::invalid(ErrorCode::MessageTooLong, format!("a message has at most {max_chars} characters")));
    }
    crate::text::check_text("the message body", body)
}

/// A client id: 1–64 printable ASCII characters.
pub fn check_client_id(client_id: &str) -> Result<()> {
    if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID_LEN || !client_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid(
            ErrorCode::InvalidParameter,
            format!("client_id must be 1 to {MAX_CLIENT_ID_LEN} printable ASCII characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        assert_eq!(check_body(" \n\t", 10, false).unwrap_err().code(), ErrorCode::EmptyMessage);
        assert_eq!(check_body(&"é".repeat(11), 10, false).unwrap_err().code(), ErrorCode::MessageTooLong);
        assert!(check_body(&"é".repeat(10), 10, false).is_ok());
        assert!(check_body("<img src=1 onerror='alert(1)'>", 100, false).is_ok());
        assert!(check_body("tab\tand\r\nlines", 100, false).is_ok());
        assert_eq!(check_body("nul\0", 100, false).unwrap_err().code(), ErrorCode::InvalidParameter);
        // With attachments the body may be left empty, but a blank one is still refused.
        assert!(check_body("", 10, true).is_ok());
        assert_eq!(check_body("", 10, false).unwrap_err().code(), ErrorCode::EmptyMessage);
        assert_eq!(check_body(" ", 10, true).unwrap_err().code(), ErrorCode::EmptyMessage);
    }

    #[test]
    fn client_ids() {
        assert!(check_client_id("3f2a-77").is_ok());
        for bad in ["", "has space", "ü", &"x".repeat(65)] {
            assert!(check_client_id(bad).is_err(), "{bad}");
        }
    }
}

/// Longest reaction, in bytes: enough for any emoji sequence (flags, skin tones, families) or a
/// `:shortcode:`.
pub const MAX_EMOJI_BYTES: usize = 64;

/// A reaction: 1–64 bytes, no whitespace or control characters.
pub fn check_emoji(emoji: &str) -> Result<()> {
    if emoji.is_empty() || emoji.len() > MAX_EMOJI_BYTES || emoji.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(
            ErrorCode::InvalidEmoji,
            format!("a reaction is 1 to {MAX_EMOJI_BYTES} bytes without spaces or control characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod emoji_tests {
    use super::*;

    #[test]
    fn emojis() {
        for ok in ["👍", "👨‍👩‍👧‍👦", "🏳️‍🌈", ":party:", "+1"] {
            assert!(check_emoji(ok).is_ok(), "{ok}");
        }
        for bad in ["", " ", "a b", "\n", &"😀".repeat(256)] {
            assert!(check_emoji(bad).is_err(), "{bad:?}");
        }
    }
}
