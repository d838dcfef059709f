//! `@username` mentions: found in the body, kept only when they name a member.

use crate::users::Username;

/// The usernames written as `@name` in `body`: `@` at the start or after a character that
/// cannot be part of a name (so `mail@example.com` mentions nobody), folded to lowercase.
pub fn mentioned_usernames(body: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut previous: Option<char> = None;
    for (at, c) in body.char_indices() {
        let boundary = previous.is_none_or(|p| !is_name_char(p));
        previous = Some(c);
        if c != '@' || !boundary {
            continue;
        }
        let start = at + 1;
        let end = body[start..].find(|ch: char| !is_name_char(ch)).map_or(body.len(), |n| start + n);
        // A trailing dot ends a sentence, not a name.
        let name = body[start..end].trim_end_matches('.');
        if let Ok(username) = Username::parse(name) {
            let username = username.as_str().to_owned();
            if !found.contains(&username) {
                found.push(username);
            }
        }
    }
    found
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_mentions_at_word_boundaries() {
        assert_eq!(mentioned_usernames("hi @Alice and @bob_2, see @alice."), vec!["alice", "bob_2"]);
        assert!(mentioned_usernames("mail me: x@example.com").is_empty());
        assert!(mentioned_usernames("@ab is too short, @ alone").is_empty());
        assert_eq!(mentioned_usernames("(@carol)"), vec!["carol"]);
    }
}
