//! The page at `/`. The full web client is its own piece of work; until it lands this page
//! says what the server is and where its API is documented.

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse};

const INDEX: &str = include_str!("index.html");

pub async fn index() -> impl IntoResponse {
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"),
        )],
        Html(INDEX),
    )
}
