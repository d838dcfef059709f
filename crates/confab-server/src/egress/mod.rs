//! The one way Confab reaches out to other hosts — link previews and their images, the GIF
//! provider, and the host app's webhooks, JWKS and introspection: requests that may only connect
//! to public addresses, unless the operator named the host.
//!
//! reqwest never asks a DNS resolver about a URL whose host is an IP literal, so the check sits
//! in two places that together cover every connection the client can make: an IP-literal host
//! is judged before the request is sent, and every name is resolved by [`Guard`], which hands
//! reqwest only the public addresses of the answer — the very addresses it then connects to, so
//! a second, rebinding answer cannot slip past. Redirects are followed here, each hop judged
//! again; environment proxies are ignored; answers are capped in size, time and type.
//! Operator-configured `allow` entries (`host:port`) pass without the address check; the URLs
//! the operator configured for the host app are trusted only by the clients made for them
//! ([`Egress::trusting`]), so a user's link cannot reach an internal webhook endpoint.

pub mod address;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

pub use address::is_public;

/// At most this many redirects are followed.
pub const MAX_REDIRECTS: usize = 3;

/// Why a fetch was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    #[error("only http and https URLs are fetched")]
    Scheme,
    #[error("{0} is not a public address")]
    Internal(String),
    #[error("too many redirects")]
    Redirects,
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the answer's type {0:?} is not one asked for")]
    ContentType(String),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("the request failed: {0}")]
    Request(#[from] reqwest::Error),
    #[error("invalid URL: {0}")]
    Url(String),
    #[error("timed out")]
    Timeout,
}

impl EgressError {
    /// The failure in words, with its causes but without the URL (which may carry a secret).
    pub fn describe(&self) -> String {
        let EgressError::Request(err) = self else { return self.to_string() };
        if err.is_timeout() {
            return "timed out".to_owned();
        }
        let mut text = err.to_string();
        if let Some(url) = err.url() {
            text = text.replace(&format!(" for url ({url})"), "");
        }
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }

    /// A timeout, or a refusal that retrying may get past (the connection failed).
    pub fn is_timeout(&self) -> bool {
        match self {
            EgressError::Timeout => true,
            EgressError::Request(e) => e.is_timeout(),
            _ => false,
        }
    }
}

/// How names are looked up: the system resolver, or a test's.
pub trait Lookup: Send + Sync + 'static {
    fn lookup(&self, host: String) -> futures_util::future::BoxFuture<'static, std::io::Result<Vec<IpAddr>>>;
}

/// The system resolver (`getaddrinfo`, through tokio).
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: String) -> futures_util::future::BoxFuture<'static, std::io::Result<Vec<IpAddr>>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.map(|a| a.ip()).collect()) })
    }
}

/// The resolver reqwest uses: only public addresses leave it (allowed hosts excepted).
struct Guard {
    lookup: Arc<dyn Lookup>,
    allow: Arc<Vec<String>>,
}

impl Resolve for Guard {
    fn resolve(&self, name: Name) -> Resolving {
        let lookup = self.lookup.clone();
        let allow = self.allow.clone();
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        Box::pin(async move {
            let found = lookup.lookup(host.clone()).await?;
            let allowed = allow.iter().any(|a| a.rsplit_once(':').is_some_and(|(h, _)| h == host));
            let public: Vec<SocketAddr> =
                found.into_iter().filter(|ip| allowed || is_public(*ip)).map(|ip| SocketAddr::new(ip, 0)).collect();
            if public.is_empty() {
                return Err(Box::new(EgressError::Internal(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// Caps of one fetch.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_bytes: usize,
    pub timeout: Duration,
    /// Accepted `Content-Type` prefixes (`text/html`, `image/`); empty: any.
    pub content_types: Vec<String>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_bytes: 1 << 20, timeout: Duration::from_secs(5), content_types: Vec::new() }
    }
}

/// What a fetch brought back.
#[derive(Debug)]
pub struct Fetched {
    /// Where the answer came from, after redirects.
    pub url: Url,
    pub content_type: Option<String>,
    pub body: Bytes,
}

/// The guarded client; cheap to clone.
#[derive(Clone)]
pub struct Egress {
    http: reqwest::Client,
    allow: Arc<Vec<String>>,
    lookup: Arc<dyn Lookup>,
}

impl Egress {
    /// `allow`: `host:port` entries the operator trusts (a host app on the internal network).
    pub fn new(allow: Vec<String>, lookup: Arc<dyn Lookup>) -> Result<Egress, reqwest::Error> {
        let allow: Arc<Vec<String>> = Arc::new(allow.into_iter().map(|a| a.to_ascii_lowercase()).collect());
        // reqwest is built without a TLS crypto provider of its own; an error only means one is
        // installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("confab/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_secs(3))
            .dns_resolver(Arc::new(Guard { lookup: lookup.clone(), allow: allow.clone() }))
            .build()?;
        Ok(Egress { http, allow, lookup })
    }

    /// A client for URLs the operator configured (the host app's webhooks, its JWKS): the same
    /// guard, with the `host:port` of each of `urls` trusted as well. Only the service the URLs
    /// were configured for holds it.
    pub fn trusting<'a>(&self, urls: impl IntoIterator<Item = &'a str>) -> Result<Egress, reqwest::Error> {
        let mut allow = self.allow.as_ref().clone();
        for url in urls.into_iter().filter_map(|u| Url::parse(u).ok()) {
            let port = url.port_or_known_default().unwrap_or(0);
            match url.host() {
                Some(Host::Domain(name)) => allow.push(format!("{}:{port}", name.trim_end_matches('.'))),
                Some(Host::Ipv4(ip)) => allow.push(format!("{ip}:{port}")),
                Some(Host::Ipv6(ip)) => allow.push(format!("[{ip}]:{port}")),
                None => {}
            }
        }
        Egress::new(allow, self.lookup.clone())
    }

    /// A request to build and hand to [`Egress::send`].
    pub fn request(&self, method: reqwest::Method, url: Url) -> reqwest::RequestBuilder {
        self.http.request(method, url)
    }

    /// Sends one request, without following redirects: its URL is judged as every hop of
    /// [`Egress::get`] is (the name by the resolver guard).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, EgressError> {
        let request = request.build()?;
        self.check(request.url())?;
        Ok(self.http.execute(request).await?)
    }

    /// GETs `url`, following up to [`MAX_REDIRECTS`] redirects, each hop checked.
    pub async fn get(&self, url: &str, limits: &Limits) -> Result<Fetched, EgressError> {
        let mut url = Url::parse(url).map_err(|e| EgressError::Url(e.to_string()))?;
        let fetch = async {
            for _ in 0..=MAX_REDIRECTS {
                self.check(&url)?;
                let answer = self.http.get(url.clone()).send().await?;
                if answer.status().is_redirection() {
                    let location = answer.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok());
                    let location = location.ok_or(EgressError::Status(answer.status().as_u16()))?;
                    url = url.join(location).map_err(|e| EgressError::Url(e.to_string()))?;
                    continue;
                }
                return self.read(url.clone(), answer, limits).await;
            }
            Err(EgressError::Redirects)
        };
        match tokio::time::timeout(limits.timeout, fetch).await {
            Ok(result) => result,
            Err(_) => Err(EgressError::Timeout),
        }
    }

    /// The checks that do not need DNS: the scheme, and an IP-literal host (which reqwest would
    /// connect to without asking the resolver).
    fn check(&self, url: &Url) -> Result<(), EgressError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(EgressError::Scheme);
        }
        let port = url.port_or_known_default().unwrap_or(0);
        let ip = match url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(Host::Domain(_)) => return Ok(()),
            None => return Err(EgressError::Url("no host".into())),
        };
        let literal = match ip {
            IpAddr::V4(v4) => format!("{v4}:{port}"),
            IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        };
        if self.allow.contains(&literal) || is_public(ip) { Ok(()) } else { Err(EgressError::Internal(ip.to_string())) }
    }

    async fn read(&self, url: Url, answer: reqwest::Response, limits: &Limits) -> Result<Fetched, EgressError> {
        if !answer.status().is_success() {
            return Err(EgressError::Status(answer.status().as_u16()));
        }
        let content_type =
            answer.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let wanted = |t: &str| limits.content_types.iter().any(|p| t.to_ascii_lowercase().starts_with(p.as_str()));
        if !limits.content_types.is_empty() && !content_type.as_deref().is_some_and(wanted) {
            return Err(EgressError::ContentType(content_type.unwrap_or_default()));
        }
        if answer.content_length().is_some_and(|n| n > limits.max_bytes as u64) {
            return Err(EgressError::TooLarge(limits.max_bytes));
        }
        let mut body = BytesMut::new();
        let mut answer = answer;
        while let Some(chunk) = answer.chunk().await? {
            if body.len() + chunk.len() > limits.max_bytes {
                return Err(EgressError::TooLarge(limits.max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { url, content_type, body: body.freeze() })
    }
}
