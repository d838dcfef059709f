//! What a page says about itself: OpenGraph, then Twitter cards, then `<title>` and the meta
//! description. Read with lol_html, a streaming parser with bounded memory and no recursion (a
//! page of a million nested elements costs no stack), and only as far as `<body>`.

use std::cell::RefCell;

use lol_html::{HtmlRewriter, Settings, element, text};
use url::Url;

/// Characters kept of each field; longer ones are cut at a character boundary.
pub const MAX_TITLE: usize = 300;
pub const MAX_DESCRIPTION: usize = 1000;
pub const MAX_SITE_NAME: usize = 100;
/// Longer `content` values are not meant for people: ignored (Synapse does the same).
const MAX_VALUE_BYTES: usize = 4096;

/// A page's description of itself, as plain text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PageMeta {
    pub title: Option<String>,
    pub description: Option<String>,
    pub site_name: Option<String>,
    /// Absolute: resolved against the page's URL.
    pub image: Option<Url>,
}

impl PageMeta {
    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.description.is_none()
    }
}

#[derive(Default)]
struct Found {
    og: [Option<String>; 4],
    twitter: [Option<String>; 3],
    description: Option<String>,
    title: String,
}

/// Reads the `<head>` of `html`, served from `base`.
pub fn read(html: &[u8], base: &Url) -> PageMeta {
    let found = RefCell::new(Found::default());
    {
        let mut rewriter = HtmlRewriter::new(
            Settings::new()
                .append_element_content_handler(element!("meta[content]", |el| {
                    let key = el.get_attribute("property").or_else(|| el.get_attribute("name"));
                    let (Some(key), Some(value)) = (key, el.get_attribute("content")) else { return Ok(()) };
                    if value.len() > MAX_VALUE_BYTES {
                        return Ok(());
                    }
                    let mut f = found.borrow_mut();
                    let slot = match key.to_ascii_lowercase().as_str() {
                        "og:title" => &mut f.og[0],
                        "og:description" => &mut f.og[1],
                        "og:site_name" => &mut f.og[2],
                        "og:image" | "og:image:url" | "og:image:secure_url" => &mut f.og[3],
                        "twitter:title" => &mut f.twitter[0],
                        "twitter:description" => &mut f.twitter[1],
                        "twitter:image" | "twitter:image:src" => &mut f.twitter[2],
                        "description" => &mut f.description,
                        _ => return Ok(()),
                    };
                    slot.get_or_insert(value); // the first one counts
                    Ok(())
                }))
                .append_element_content_handler(text!("head > title", |t| {
                    let mut f = found.borrow_mut();
                    if f.title.len() < MAX_VALUE_BYTES {
                        f.title.push_str(t.as_str());
                    }
                    Ok(())
                }))
                // Everything worth reading is in the head: stop at the body.
                .append_element_content_handler(element!("body", |_| Err("the head is read".into()))),
            |_: &[u8]| {},
        );
        // An error is the stop at <body> or a page lol_html refuses: what was found counts.
        if rewriter.write(html).is_ok() {
            let _ = rewriter.end();
        }
    }
    let f = found.into_inner();
    let [og_title, og_description, og_site, og_image] = f.og;
    let [tw_title, tw_description, tw_image] = f.twitter;
    let title = (!f.title.trim().is_empty()).then_some(f.title);
    PageMeta {
        title: og_title.or(tw_title).or(title).and_then(|t| plain(&t, MAX_TITLE)),
        description: og_description.or(tw_description).or(f.description).and_then(|d| plain(&d, MAX_DESCRIPTION)),
        site_name: og_site.and_then(|s| plain(&s, MAX_SITE_NAME)),
        image: og_image
            .or(tw_image)
            .and_then(|i| base.join(html_escape::decode_html_entities(i.trim()).as_ref()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https")),
    }
}

/// Text as it is shown: entities decoded, control and invisible formatting characters dropped,
/// runs of whitespace made one space, at most `max` characters. `None` when nothing is left.
pub fn plain(raw: &str, max: usize) -> Option<String> {
    let decoded = html_escape::decode_html_entities(raw);
    let mut out = String::new();
    let mut count = 0;
    for word in decoded.split(|c: char| c.is_whitespace()).filter(|w| !w.is_empty()) {
        let word: String = word.chars().filter(|c| !c.is_control() && !is_format(*c)).collect();
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            if count == max {
                break;
            }
            out.push(' ');
            count += 1;
        }
        for c in word.chars() {
            if count == max {
                break;
            }
            out.push(c);
            count += 1;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Bidirectional controls and zero-width characters: they can make text read otherwise than it is.
fn is_format(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://news.example/articles/1").unwrap()
    }

    #[test]
    fn opengraph_first_then_twitter_then_the_title() {
        let html = br#"<!doctype html><html><head>
            <title>Plain &amp; simple</title>
            <meta name="description" content="The meta description">
            <meta name="twitter:title" content="Twitter title">
            <meta property="og:title" content="An &quot;OG&quot; title">
            <meta property="og:description" content="What it is about">
            <meta property="og:site_name" content="News">
            <meta property="og:image" content="/img/cover.png?a=1&amp;b=2">
            </head><body><meta property="og:title" content="in the body"></body></html>"#;
        let meta = read(html, &base());
        assert_eq!(meta.title.as_deref(), Some("An \"OG\" title"));
        assert_eq!(meta.description.as_deref(), Some("What it is about"));
        assert_eq!(meta.site_name.as_deref(), Some("News"));
        assert_eq!(meta.image.unwrap().as_str(), "https://news.example/img/cover.png?a=1&b=2");

        let meta =
            read(b"<html><head><title>Plain &amp; simple</title><meta name=description content=Desc></head>", &base());
        assert_eq!((meta.title.as_deref(), meta.description.as_deref()), (Some("Plain & simple"), Some("Desc")));
        assert_eq!(meta.image, None);
        let meta = read(b"<head><meta name='twitter:title' content='Tw'><meta name='twitter:image' content='https://cdn.example/i.jpg'>", &base());
        assert_eq!(meta.title.as_deref(), Some("Tw"));
        assert_eq!(meta.image.unwrap().host_str(), Some("cdn.example"));
    }

    #[test]
    fn hostile_pages_give_text_or_nothing() {
        // Markup in values stays text; controls and bidi overrides go; whitespace collapses.
        let html = "<head><meta property=og:title content='<script>alert(1)</script>\u{202e}gnp.exe \n\t x'>\
                    <meta property=og:image content='javascript:alert(1)'></head>";
        let meta = read(html.as_bytes(), &base());
        assert_eq!(meta.title.as_deref(), Some("<script>alert(1)</script>gnp.exe x"));
        assert_eq!(meta.image, None);
        // Deep nesting neither recurses nor crashes; nothing found is nothing.
        let deep = "<div>".repeat(200_000);
        assert!(read(deep.as_bytes(), &base()).is_empty());
        assert!(read(b"\xff\xfe\x00garbage", &base()).is_empty());
        // Long fields are cut.
        let long = format!("<head><title>{}</title></head>", "é".repeat(1000));
        assert_eq!(read(long.as_bytes(), &base()).title.unwrap().chars().count(), MAX_TITLE);
    }

    #[test]
    fn plain_text() {
        assert_eq!(plain("  a \u{200b}b\n\nc  ", 10).as_deref(), Some("a b c"));
        assert_eq!(plain("abcdef", 3).as_deref(), Some("abc"));
        assert_eq!(plain(" \u{200f} ", 3), None);
    }
}
