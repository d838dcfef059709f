//! File names: what a client says a file is called becomes a name that is safe to store, show
//! and send back in a `Content-Disposition` header.

use confab_proto::media::MAX_FILE_NAME_BYTES;

/// The name to keep for a file. Paths are cut to their last part (`../../x` is `x`, `C:\a\b` is
/// `b`); control characters (CR and LF included), bidirectional controls and the characters
/// Windows refuses become `_`; leading dots and surrounding spaces go (no hidden files, no
/// `..`); the result is at most 255 bytes on a character boundary. Nothing left: `file`.
pub fn clean(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut cleaned: String = last
        .chars()
        .map(|c| match c {
            c if c.is_control() => '_',
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}' => '_',
            '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c => c,
        })
        .collect();
    cleaned = cleaned.trim().trim_start_matches('.').trim().to_owned();
    if cleaned.len() > MAX_FILE_NAME_BYTES {
        let mut end = MAX_FILE_NAME_BYTES;
        while !cleaned.is_char_boundary(end) {
            end -= 1;
        }
        cleaned.truncate(end);
    }
    if cleaned.is_empty() { "file".to_owned() } else { cleaned }
}

/// `Content-Disposition` for a stored name (RFC 6266): an ASCII fallback in `filename` (quotes
/// and backslashes replaced, non-ASCII as `_`) and the exact name, percent-encoded as UTF-8, in
/// `filename*`. The value never contains a control character, so it cannot split the header.
pub fn content_disposition(inline: bool, name: &str) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let fallback: String = name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' && c != '%' || c == ' ' { c } else { '_' })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for byte in name.bytes() {
        // attr-char of RFC 8187: ALPHA / DIGIT / "!#$&+-.^_`|~"
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_control_characters_are_harmless() {
        assert_eq!(clean("../../x"), "x");
        assert_eq!(clean("..\\..\\windows\\system32"), "system32");
        assert_eq!(clean("/etc/passwd"), "passwd");
        assert_eq!(clean("a\r\nSet-Cookie: x=1.txt"), "a__Set-Cookie_ x=1.txt");
        assert_eq!(clean(".."), "file");
        assert_eq!(clean(".bashrc"), "bashrc");
        assert_eq!(clean(""), "file");
        assert_eq!(clean("invoice\u{202e}fdp.exe"), "invoice_fdp.exe");
        assert_eq!(clean("photo.jpg"), "photo.jpg");
        assert_eq!(clean("résumé 2026.pdf"), "résumé 2026.pdf");
        let long = "é".repeat(200);
        let cut = clean(&long);
        assert!(cut.len() <= 255 && cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn dispositions_encode_every_name_safely() {
        assert_eq!(content_disposition(true, "a.png"), "inline; filename=\"a.png\"; filename*=UTF-8''a.png");
        let header = content_disposition(false, "résumé \"final\".pdf");
        assert_eq!(
            header,
            "attachment; filename=\"r_sum_ _final_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf"
        );
        // Whatever the name, the header has no control character and one quoted filename.
        for name in ["a\r\nb", "x\";evil=1", "%41", "\\\\"] {
            let header = content_disposition(false, &clean(name));
            assert!(!header.chars().any(|c| c.is_control()), "{header}");
            assert_eq!(header.matches('"').count(), 2, "{header}");
        }
    }
}
