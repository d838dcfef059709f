//! Text shown as, or beside, someone's name — display names, group names and topics, bios,
//! status texts: one rule against text that looks like something else. Bidirectional
//! embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) reorder what follows them,
//! so U+202E + "ecila" renders as "alice"; zero-width spaces, word joiners, invisible operators,
//! byte-order marks and blank fillers make two names that look the same differ (or a name look
//! empty). None has a use in these fields, so they are refused (`400 invalid_parameter`), not
//! stripped: the user learns what was wrong and nothing is silently changed. Kept: ZWJ and ZWNJ
//! (U+200D, U+200C; emoji sequences and several scripts need them), the direction marks LRM,
//! RLM and ALM (they cannot reverse a word), variation selectors and tags (emoji).
//! Message bodies are not checked: they are shown as text, never as someone's identity.

use confab_proto::ErrorCode;

use crate::error::{Error, Result};

/// True for the characters [`check`] refuses.
pub fn is_deceptive(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' // embeddings and overrides
            | '\u{2066}'..='\u{2069}' // isolates
            | '\u{200B}' // zero-width space
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{FEFF}' // zero-width no-break space (byte-order mark)
            | '\u{180E}' // Mongolian vowel separator (once a space)
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{3164}' | '\u{FFA0}' // Hangul fillers: blank names
    )
}

/// Refuses `text` for `field` when it holds a character of [`is_deceptive`].
pub fn check(field: &str, text: &str) -> Result<()> {
    match text.chars().find(|c| is_deceptive(*c)) {
        Some(c) => Err(Error::invalid(
            ErrorCode::InvalidParameter,
            format!(
                "{field} must not contain bidirectional controls or invisible characters (found U+{:04X})",
                u32::from(c)
            ),
        )),
        None => Ok(()),
    }
}

/// `text` without those characters: for names that come from the host app's tokens, which a
/// user cannot be asked to correct.
pub fn strip(text: &str) -> String {
    text.chars().filter(|c| !is_deceptive(*c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reordering_and_invisible_characters_are_refused() {
        for bad in ["\u{202E}ecila", "a\u{2066}b\u{2069}", "ali\u{200B}ce", "\u{FEFF}bob", "x\u{2028}y", "\u{3164}"] {
            let err = check("display_name", bad).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidParameter, "{bad:?}");
            assert!(err.to_string().contains("display_name"), "{err}");
        }
    }

    #[test]
    fn scripts_marks_and_emoji_sequences_pass() {
        for good in ["Алиса", "مريم\u{200F}", "می\u{200C}خواهم", "👩\u{200D}💻 dev", "❤\u{FE0F}", "plain"]
        {
            assert!(check("display_name", good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn strip_removes_exactly_the_refused_characters() {
        assert_eq!(strip("\u{202E}ecila"), "ecila");
        assert_eq!(strip("👩\u{200D}💻\u{200B}"), "👩\u{200D}💻");
    }
}
