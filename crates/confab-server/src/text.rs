//! Rules for text a client sends, shared by every service that stores it (message bodies,
//! names, topics, bios, status texts, search terms): one decision for both backends.
//!
//! Control characters are refused rather than stripped: PostgreSQL cannot store U+0000 in TEXT
//! at all (SQLite can), and the others only serve to hide or garble text in other people's
//! clients. Refusing them everywhere makes both backends answer the same `invalid_parameter`.

use confab_proto::ErrorCode;

use crate::error::{Error, Result};

/// A control character that no text needs: C0 except tab, line feed and carriage return; DEL;
/// C1 (U+0080–U+009F).
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Text that may span lines (a message body, a topic, a bio): no control character other than
/// tab, line feed and carriage return.
pub fn check_text(field: &str, value: &str) -> Result<()> {
    if value.chars().any(is_forbidden_control) {
        return Err(Error::invalid(ErrorCode::InvalidParameter, format!("{field} contains control characters")));
    }
    Ok(())
}

/// One line (a name, a status text, a search term, an id chosen by the client): no control
/// character at all.
pub fn check_line(field: &str, value: &str) -> Result<()> {
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(ErrorCode::InvalidParameter, format!("{field} contains control characters")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_tabs_and_line_breaks_and_refuses_other_controls() {
        assert!(check_text("body", "two\nlines\r\n\tand a tab, émoji 👍").is_ok());
        for bad in ["nul\0", "\u{1}", "bell\u{7}", "esc\u{1b}[31m", "del\u{7f}", "c1\u{85}", "\u{9f}"] {
            let error = check_text("body", bad).unwrap_err();
            assert_eq!(error.code(), ErrorCode::InvalidParameter, "{bad:?}");
        }
    }

    #[test]
    fn a_line_refuses_every_control() {
        assert!(check_line("name", "Ålice <3").is_ok());
        for bad in ["a\nb", "a\tb", "\r", "\0"] {
            assert!(check_line("name", bad).is_err(), "{bad:?}");
        }
    }
}
