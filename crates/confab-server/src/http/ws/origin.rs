//! Which web pages may open a WebSocket. Tokens never travel in cookies, so cross-site
//! hijacking cannot borrow a user's credentials; the allowlist still keeps foreign pages from
//! using a ticket or token they obtained, and is what browsers expect of a careful server.
//!
//! Allowed: no `Origin` (non-browser clients), the server's own origin (same host as `Host`),
//! localhost in any port, and the configured `allowed_origins`.

use axum::http::{HeaderMap, header};

pub fn allowed(headers: &HeaderMap, allowlist: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim_end_matches('/').to_ascii_lowercase();
    if allowlist.iter().any(|allowed| allowed.trim_end_matches('/').eq_ignore_ascii_case(&origin)) {
        return true;
    }
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false; // includes the literal "null" origin of sandboxed frames and files
    };
    if !matches!(scheme, "http" | "https") {
        return false;
    }
    if is_localhost(authority) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_ascii_lowercase);
    host.is_some_and(|host| host == authority)
}

fn is_localhost(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        h
    }

    #[test]
    fn decisions() {
        let allow = vec!["https://game.example".to_owned()];
        assert!(allowed(&headers(None, "chat.example"), &allow));
        assert!(allowed(&headers(Some("https://chat.example"), "chat.example"), &allow));
        assert!(allowed(&headers(Some("https://GAME.example/"), "chat.example"), &allow));
        assert!(allowed(&headers(Some("http://localhost:5173"), "chat.example"), &allow));
        assert!(allowed(&headers(Some("http://[::1]:8080"), "chat.example"), &allow));
        assert!(!allowed(&headers(Some("https://evil.example"), "chat.example"), &allow));
        assert!(!allowed(&headers(Some("https://chat.example.evil.example"), "chat.example"), &allow));
        assert!(!allowed(&headers(Some("https://localhost.evil.example"), "chat.example"), &allow));
        assert!(!allowed(&headers(Some("null"), "chat.example"), &allow));
    }
}
