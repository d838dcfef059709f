//! The type of a file from its first bytes. The client's Content-Type and file name are never
//! consulted: they are what an attacker chooses.

use super::Format;

/// What a file is, as far as its bytes tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    /// The type to label it with. A label, not a permission: everything but an `image` is served
    /// as a download.
    pub mime: &'static str,
    /// `Some` only for the formats the server inspects, cleans and previews. SVG is never one:
    /// it can carry script, and the server never rasterizes it.
    pub image: Option<Format>,
}

/// How much of a file is read to decide it is text (and to find `<svg` after an XML prologue).
const TEXT_WINDOW: usize = 64 * 1024;

const OCTET_STREAM: &str = "application/octet-stream";

/// `bytes` may be the whole file or only its head (a few KiB is enough; at most the first 64 KiB
/// are read).
pub fn sniff(bytes: &[u8]) -> Sniffed {
    if let Some(format) = image_format(bytes) {
        return Sniffed { mime: format.mime(), image: Some(format) };
    }
    Sniffed { mime: other_type(bytes), image: None }
}

fn image_format(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some(Format::Jpeg)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(Format::Gif)
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some(Format::Webp)
    } else {
        None
    }
}

fn other_type(bytes: &[u8]) -> &'static str {
    let magic: &[(&[u8], &str)] = &[
        (b"%PDF-", "application/pdf"),
        (b"PK\x03\x04", "application/zip"),
        (b"PK\x05\x06", "application/zip"),
        (b"\x1f\x8b\x08", "application/gzip"),
        (b"OggS", "audio/ogg"),
        (b"ID3", "audio/mpeg"),
        (b"fLaC", "audio/flac"),
    ];
    if let Some((_, mime)) = magic.iter().find(|(prefix, _)| bytes.starts_with(prefix)) {
        return mime;
    }
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WAVE") {
        return "audio/wav";
    }
    if bytes.get(4..8) == Some(b"ftyp") {
        return iso_media_type(bytes.get(8..12).unwrap_or_default());
    }
    if bytes.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        // EBML: WebM names its doctype in the first few dozen bytes.
        let head = &bytes[..bytes.len().min(64)];
        return if head.windows(4).any(|w| w == b"webm") { "video/webm" } else { "video/x-matroska" };
    }
    if let [0xff, second, ..] = bytes
        && second & 0xe0 == 0xe0
    {
        // An MPEG audio frame sync; layer bits 00 mean ADTS (AAC).
        return if second & 0x06 == 0 { "audio/aac" } else { "audio/mpeg" };
    }
    markup_or_text(bytes)
}

/// The ISO base media (MP4 family) type from the major brand.
fn iso_media_type(brand: &[u8]) -> &'static str {
    match brand {
        b"qt  " => "video/quicktime",
        b"M4A " | b"M4B " => "audio/mp4",
        b"avif" | b"avis" => "image/avif",
        b"heic" | b"heix" | b"mif1" | b"msf1" => "image/heic",
        _ => "video/mp4",
    }
}

fn markup_or_text(bytes: &[u8]) -> &'static str {
    let window = &bytes[..bytes.len().min(TEXT_WINDOW)];
    let text = window.strip_prefix(b"\xef\xbb\xbf").unwrap_or(window);
    let start = text.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(text.len());
    let text = &text[start..];

    if starts_with_tag(text, b"<svg") {
        return "image/svg+xml";
    }
    let prologue = [&b"<?xml"[..], b"<!--", b"<!doctype svg"];
    if prologue.iter().any(|p| starts_with_ignore_case(text, p)) && contains_ignore_case(text, b"<svg") {
        return "image/svg+xml";
    }
    if is_html(text) {
        return "text/html";
    }
    if starts_with_ignore_case(text, b"<?xml") {
        return "application/xml";
    }
    if bytes.is_empty() {
        return OCTET_STREAM;
    }
    if !window.contains(&0) && is_utf8_prefix(window) {
        return "text/plain";
    }
    OCTET_STREAM
}

/// The WHATWG MIME sniffing standard's HTML patterns: a tag name then a space or `>`.
fn is_html(text: &[u8]) -> bool {
    const TAGS: [&[u8]; 17] = [
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<script",
        b"<iframe",
        b"<h1",
        b"<div",
        b"<font",
        b"<table",
        b"<a",
        b"<style",
        b"<title",
        b"<b",
        b"<body",
        b"<br",
        b"<p",
        b"<!--",
    ];
    TAGS.iter().any(|tag| starts_with_tag(text, tag))
}

fn starts_with_tag(text: &[u8], tag: &[u8]) -> bool {
    starts_with_ignore_case(text, tag) && text.get(tag.len()).is_some_and(|&b| b == b'>' || b.is_ascii_whitespace())
}

fn starts_with_ignore_case(text: &[u8], prefix: &[u8]) -> bool {
    text.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

fn contains_ignore_case(text: &[u8], needle: &[u8]) -> bool {
    text.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

/// Valid UTF-8, allowing a character cut at the end: the caller may pass only the file's head.
fn is_utf8_prefix(window: &[u8]) -> bool {
    match std::str::from_utf8(window) {
        Ok(_) => true,
        Err(err) => err.error_len().is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_magic_is_recognised() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").image, Some(Format::Png));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\0\x10JFIF").image, Some(Format::Jpeg));
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), Sniffed { mime: "image/gif", image: Some(Format::Gif) });
        assert_eq!(sniff(b"GIF87a"), Sniffed { mime: "image/gif", image: Some(Format::Gif) });
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8L"), Sniffed { mime: "image/webp", image: Some(Format::Webp) });
        assert_eq!(sniff(b"RIFF\x10\0\0\0WAVEfmt ").image, None);
    }

    #[test]
    fn html_named_png_is_html() {
        // What the client called "cat.png": the bytes decide.
        let sniffed = sniff(b"\xef\xbb\xbf\n  <!DOCTYPE html><html><script>alert(1)</script>");
        assert_eq!(sniffed, Sniffed { mime: "text/html", image: None });
        assert_eq!(sniff(b"<IFRAME src=x>").mime, "text/html");
        assert_eq!(sniff(b"<p>hello").mime, "text/html");
    }

    #[test]
    fn svg_is_never_an_image_for_us() {
        let svg = sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>");
        assert_eq!(svg, Sniffed { mime: "image/svg+xml", image: None });
        let with_prologue = b"<?xml version=\"1.0\"?>\n<!-- drawn -->\n<svg onload=\"alert(1)\"/>";
        assert_eq!(sniff(with_prologue), Sniffed { mime: "image/svg+xml", image: None });
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><note/>").mime, "application/xml");
    }

    #[test]
    fn common_files_get_their_type() {
        let cases: [(&[u8], &str); 13] = [
            (b"%PDF-1.7\n", "application/pdf"),
            (b"PK\x03\x04\x14\0", "application/zip"),
            (b"\x1f\x8b\x08\0", "application/gzip"),
            (b"\0\0\0\x20ftypisom\0\0\x02\0", "video/mp4"),
            (b"\0\0\0\x14ftypqt  ", "video/quicktime"),
            (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"),
            (b"ID3\x04\0", "audio/mpeg"),
            (b"\xff\xfb\x90\x64", "audio/mpeg"),
            (b"OggS\0\x02", "audio/ogg"),
            ("héllo, wörld\n".as_bytes(), "text/plain"),
            (b"text with a \0 NUL", OCTET_STREAM),
            (b"\xc3\x28 not utf-8", OCTET_STREAM),
            (b"", OCTET_STREAM),
        ];
        for (bytes, mime) in cases {
            assert_eq!(sniff(bytes), Sniffed { mime, image: None }, "{bytes:?}");
        }
    }

    #[test]
    fn long_text_cut_mid_character_is_still_text() {
        let mut text = "a".repeat(TEXT_WINDOW - 1).into_bytes();
        text.extend_from_slice("é and more".as_bytes());
        assert_eq!(sniff(&text).mime, "text/plain");
        // The head the media service passes may end inside a character.
        let head = "abc é".as_bytes();
        assert_eq!(sniff(&head[..head.len() - 1]).mime, "text/plain");
    }
}
