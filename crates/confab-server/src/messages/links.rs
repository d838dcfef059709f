//! The links of a message that get previews, and the queue that hands them to the preview
//! builder (`previews/`) without holding up the send.

use confab_proto::{ConversationId, MessageId, UserId};
use tokio::sync::mpsc;

/// Previews waiting to be built on this node; beyond it, a message gets none.
pub const QUEUE: usize = 1024;

/// A message whose links need previews (again, after an edit).
#[derive(Debug, Clone)]
pub struct PreviewJob {
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
    pub sender_id: UserId,
    /// The message as the links were read from it: previews are stored only if it is still so.
    pub edited_at: Option<i64>,
    pub links: Vec<String>,
}

/// Where [`super::Messages`] hands its preview jobs.
pub type PreviewQueue = mpsc::Sender<PreviewJob>;

/// The first `max` distinct `http`/`https` links of `body`, outside code (`` `…` `` and
/// fenced blocks), as written: from a word start (or after `(`, `<`, a quote) to whitespace,
/// without trailing punctuation or an unbalanced `)`.
pub fn links(body: &str, max: usize) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    if max == 0 || !body.contains("://") {
        return found;
    }
    for (i, block) in body.split("```").enumerate() {
        if i % 2 == 1 {
            continue; // inside a fenced block
        }
        for (j, text) in block.split('`').enumerate() {
            if j % 2 == 1 {
                continue; // inside inline code
            }
            for link in links_in_text(text) {
                if found.len() == max {
                    return found;
                }
                if !found.contains(&link) {
                    found.push(link);
                }
            }
        }
    }
    found
}

fn links_in_text(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find("http").map(|i| i + from) {
        from = at + 4;
        let rest = &lower[at..];
        if !(rest.starts_with("http://") || rest.starts_with("https://")) {
            continue;
        }
        let starts_word = text[..at].chars().next_back().is_none_or(|c| c.is_whitespace() || "(<\"'[".contains(c));
        if !starts_word {
            continue;
        }
        let end = text[at..].find(|c: char| c.is_whitespace() || "<>\"".contains(c)).map_or(text.len(), |e| at + e);
        let candidate = trim_link(&text[at..end]);
        from = at + candidate.len().max(4);
        if let Ok(url) = url::Url::parse(candidate)
            && url.host_str().is_some()
        {
            out.push(candidate.to_owned());
        }
    }
    out
}

/// Drops what ends a sentence rather than the link: `.`, `,`, `!`, … and a `)` that closes a
/// parenthesis opened before the link.
fn trim_link(mut link: &str) -> &str {
    loop {
        let trimmed = link.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '*', '_', ']']);
        let trimmed = if trimmed.ends_with(')') && trimmed.matches('(').count() < trimmed.matches(')').count() {
            &trimmed[..trimmed.len() - 1]
        } else {
            trimmed
        };
        if trimmed.len() == link.len() {
            return link;
        }
        link = trimmed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_links_as_people_write_them() {
        assert_eq!(links("see https://example.com/a?b=1.", 3), ["https://example.com/a?b=1"]);
        assert_eq!(
            links("(https://example.com/x) and <http://b.example/>", 3),
            ["https://example.com/x", "http://b.example/"]
        );
        assert_eq!(
            links("wiki https://en.wikipedia.org/wiki/Rust_(language)!", 3),
            ["https://en.wikipedia.org/wiki/Rust_(language)"]
        );
        assert_eq!(links("[docs](https://docs.example/guide)", 3), ["https://docs.example/guide"]);
        assert_eq!(links("HTTPS://EXAMPLE.COM/Up", 3), ["HTTPS://EXAMPLE.COM/Up"]);
    }

    #[test]
    fn leaves_out_code_repeats_and_non_links() {
        assert!(links("`https://in.code/` and ```\nhttps://in.block/\n```", 3).is_empty());
        assert!(links("nohttps://glued.example ftp://x.example mailto:a@b http:// https://", 3).is_empty());
        assert_eq!(
            links("https://a.example https://a.example https://b.example", 3),
            ["https://a.example", "https://b.example"]
        );
        let many = "https://1.example https://2.example https://3.example https://4.example";
        assert_eq!(links(many, 3).len(), 3);
        assert!(links(many, 0).is_empty());
    }
}
