//! Calls to the host app's endpoints (JWKS, introspection). Each call has a timeout and a cap on
//! the answer's size, so that a slow or confused host app cannot hold requests or memory; and
//! failures are described without the URL's credentials or query, which may carry secrets.

use reqwest::Url;
use serde::de::DeserializeOwned;

use crate::config::ConfigError;

/// A configured endpoint of the host app.
pub(super) struct Endpoint {
    pub url: Url,
    /// Origin and path only: what logs and error details may show.
    pub label: String,
}

impl Endpoint {
    /// Parses the URL of `setting` at start-up, so that a typo fails the start and not every
    /// sign-in.
    pub fn parse(url: &str, setting: &str) -> Result<Endpoint, ConfigError> {
        let invalid = || ConfigError::Invalid(format!("auth.external.{setting} must be an http or https URL"));
        let url = Url::parse(url).map_err(|_| invalid())?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(invalid());
        }
        let label = format!("{}{}", url.origin().ascii_serialization(), url.path());
        Ok(Endpoint { url, label })
    }

    /// `scheme://host[:port]`.
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }
}

/// Reads a successful JSON answer of at most `max_bytes`. The request's timeout covers the
/// body too, so a host app trickling bytes is cut off as well.
pub(super) async fn read_json<T: DeserializeOwned>(
    mut response: reqwest::Response,
    max_bytes: usize,
) -> Result<T, String> {
    let status = response.status();
    if !status.is_success() {
        return Err(format!("answered {status}"));
    }
    let too_large = || format!("answer larger than {max_bytes} bytes");
    if response.content_length().is_some_and(|len| len > max_bytes as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if body.len() + chunk.len() > max_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| format!("malformed answer: {e}"))
}

/// A transport failure in words, with its causes but without the URL.
pub(super) fn describe(err: reqwest::Error) -> String {
    crate::egress::EgressError::Request(err.without_url()).describe()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_http_and_are_labelled_without_secrets() {
        let endpoint = Endpoint::parse("https://client:pw@auth.example:8443/oauth/introspect?key=abc", "x").unwrap();
        assert_eq!(endpoint.label, "https://auth.example:8443/oauth/introspect");
        assert_eq!(endpoint.origin(), "https://auth.example:8443");
        for bad in ["", "auth.example/jwks", "ftp://auth.example/jwks", "file:///etc/jwks.json"] {
            assert!(matches!(Endpoint::parse(bad, "jwks_url"), Err(ConfigError::Invalid(_))), "{bad}");
        }
    }
}
