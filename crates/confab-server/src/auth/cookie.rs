//! The web client's refresh token in a cookie, so that a session outlives the tab without the
//! token ever being readable by scripts.
//!
//! The cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page makes
//! the browser send it) and `Path=/api/v1/auth` (it reaches refresh and logout, never the
//! WebSocket or any other route). It is `Secure` when the page is served over https (the
//! browser's `Origin` or a proxy's `X-Forwarded-Proto` says so); over plain http on a LAN a
//! Secure cookie would be dropped by the browser and nothing would persist.
//!
//! A client asks for the cookie with [`WEB_CLIENT_HEADER`]; a refresh or logout that relies on
//! the cookie must carry the same header. A cross-site form cannot set a custom header, and a
//! cross-site script cannot send one without a CORS preflight that Confab never grants, so this
//! stands against CSRF even where `SameSite` is not honoured.

use axum::http::{HeaderMap, HeaderValue, header};

/// `X-Confab-Client: web`: "keep my refresh token in the cookie", and the CSRF proof.
pub const WEB_CLIENT_HEADER: &str = "x-confab-client";
pub const WEB_CLIENT_VALUE: &str = "web";
pub const NAME: &str = "confab_refresh";
const PATH: &str = "/api/v1/auth";

/// Whether the request comes from the web client, asking for (or presenting) the cookie.
pub fn is_web_client(headers: &HeaderMap) -> bool {
    headers.get(WEB_CLIENT_HEADER).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(WEB_CLIENT_VALUE.as_bytes()))
}

/// The refresh token the cookie carries, if any.
pub fn read(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == NAME)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// `Set-Cookie` for a fresh refresh token, kept as long as the token is valid.
pub fn set(headers: &HeaderMap, token: &str, max_age_secs: u64) -> HeaderValue {
    build(headers, token, max_age_secs)
}

/// `Set-Cookie` that makes the browser forget the cookie (sign-out).
pub fn clear(headers: &HeaderMap) -> HeaderValue {
    build(headers, "", 0)
}

fn build(headers: &HeaderMap, value: &str, max_age_secs: u64) -> HeaderValue {
    let secure = if over_https(headers) { "; Secure" } else { "" };
    let cookie = format!("{NAME}={value}; Path={PATH}; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{secure}");
    // Tokens are URL-safe base64, so the value is always a valid header.
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("confab_refresh=; Max-Age=0"))
}

/// The page that called is on https: its `Origin` says so, or a TLS-terminating proxy does.
/// Trusting these headers is safe here: they can only make the cookie stricter.
fn over_https(headers: &HeaderMap) -> bool {
    let says = |name: header::HeaderName, prefix: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with(prefix))
    };
    says(header::ORIGIN, "https://") || says(header::HeaderName::from_static("x-forwarded-proto"), "https")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_scoped_to_auth() {
        let plain = set(&headers(&[("origin", "http://localhost:8080")]), "abc", 60);
        assert_eq!(plain, "confab_refresh=abc; Path=/api/v1/auth; Max-Age=60; HttpOnly; SameSite=Strict");
        let tls = set(&headers(&[("origin", "https://chat.example")]), "abc", 60);
        assert!(tls.to_str().unwrap().ends_with("; Secure"));
        let proxied = clear(&headers(&[("x-forwarded-proto", "https")]));
        assert!(proxied.to_str().unwrap().contains("Max-Age=0") && proxied.to_str().unwrap().ends_with("; Secure"));
    }

    #[test]
    fn the_token_is_found_among_other_cookies_and_the_header_is_exact() {
        let h = headers(&[("cookie", "theme=dark; confab_refresh=tok-1"), ("cookie", "x=y")]);
        assert_eq!(read(&h).as_deref(), Some("tok-1"));
        assert_eq!(read(&headers(&[("cookie", "confab_refresh=")])), None);
        assert_eq!(read(&headers(&[("cookie", "not_confab_refresh=tok")])), None);
        assert!(is_web_client(&headers(&[("x-confab-client", "web")])));
        assert!(!is_web_client(&headers(&[("x-confab-client", "webby")])));
        assert!(!is_web_client(&HeaderMap::new()));
    }
}
