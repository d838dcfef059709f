//! The web client: the files of `web/`, embedded in the release binary and read from disk in
//! debug builds (edit, reload). Served under a strict Content-Security-Policy: scripts and styles
//! only from this origin, no inline code, so that text a user wrote can never run as code, and
//! framed only by the sites the configuration names (`web.frame_ancestors`), so that no other
//! site can overlay it (clickjacking).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::config::Config;

#[derive(RustEmbed)]
#[folder = "../../web/"]
#[exclude = "e2e/*"]
#[exclude = "tests/*"]
#[exclude = "tools/*"]
struct WebClient;

/// `connect-src` names ws(s) explicitly because some browsers do not count them as 'self'.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data: blob:; \
     connect-src 'self' ws: wss:; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'";

/// The page's Content-Security-Policy, built once at startup from the configuration (whose
/// validation keeps every `frame-ancestors` source free of `;` and other policy syntax).
#[derive(Clone)]
pub struct Csp(HeaderValue);

impl Csp {
    pub fn new(config: &Config) -> Csp {
        let policy = format!("{CSP}; frame-ancestors {}", config.frame_ancestors().join(" "));
        // Unreachable with a validated config; refusing all framing is the safe fallback.
        Csp(HeaderValue::from_str(&policy)
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'")))
    }
}

pub async fn index(State(csp): State<Csp>) -> Response {
    asset("index.html", &csp)
}

pub async fn file(State(csp): State<Csp>, Path(path): Path<String>) -> Response {
    asset(&path, &csp)
}

fn asset(path: &str, csp: &Csp) -> Response {
    let Some(file) = WebClient::get(path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mime = file.metadata.mimetype();
    let mut response = file.data.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CONTENT_SECURITY_POLICY, csp.0.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
