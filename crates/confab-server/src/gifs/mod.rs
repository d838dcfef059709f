//! GIF search through a Tenor-v2-compatible provider, asked by the server so that what users
//! look for and where they are never reach it.
//!
//! Three things pass through here: a search (or the featured list) becomes a page of results
//! whose pictures are served by this server (`preview`, a capability URL signed with a server
//! key, so that it fetches only what the provider's answers named); and the GIF a user picks is
//! fetched by its id (never a URL the client gives) and becomes an ordinary attachment upload of
//! theirs, which they send like a file. Every request goes through the egress guard; the
//! configured provider is trusted by this service only.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use confab_proto::ErrorCode;
use confab_proto::media::{Upload, UploadPurpose};
use confab_proto::rest::{Gif, GifPage, GifProvider, GifQuery};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use url::Url;

use crate::auth::Principal;
use crate::config::GifsConfig;
use crate::egress::{Egress, EgressError, Limits};
use crate::error::{Error, Result};
use crate::media::{Media, UploadRequest};

const MAX_QUERY_CHARS: usize = 100;
const MAX_POS_LEN: usize = 200;
const MAX_TITLE_CHARS: usize = 120;
const PREVIEW_BYTES: usize = 2 << 20;
/// Previews kept in memory, in bytes: the picker shows the same few dozen over and over.
const CACHE_BYTES: usize = 32 << 20;
const FETCH_TIME: Duration = Duration::from_secs(5);
const IMAGE_TYPES: [&str; 4] = ["image/gif", "image/webp", "image/png", "image/jpeg"];

pub struct Gifs {
    root: Url,
    config: GifsConfig,
    egress: Egress,
    media: Arc<Media>,
    key: Vec<u8>,
    cache: Mutex<PreviewCache>,
}

/// A preview image served to a browser.
pub struct Picture {
    pub bytes: Bytes,
    pub content_type: &'static str,
}

impl Gifs {
    /// `None` when no provider is configured: the client then hides its GIF picker.
    /// `secret` is a server secret the preview URLs are signed with (the same on every node).
    pub fn new(config: &GifsConfig, egress: &Egress, media: Arc<Media>, secret: &[u8]) -> Result<Option<Gifs>> {
        let Some(provider) = &config.provider_url else { return Ok(None) };
        let root = Url::parse(provider.trim_end_matches('/'))
            .map_err(|e| Error::Internal(format!("gifs.provider_url: {e}")))?;
        let egress = egress
            .trusting([provider.as_str()])
            .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|e| Error::Internal(e.to_string()))?;
        mac.update(b"confab gif previews");
        let key = mac.finalize().into_bytes().to_vec();
        Ok(Some(Gifs { root, config: config.clone(), egress, media, key, cache: Mutex::new(PreviewCache::default()) }))
    }

    /// What `GET /api/v1/gifs/provider` says, with or without a provider.
    pub fn provider(gifs: Option<&Gifs>) -> GifProvider {
        GifProvider { enabled: gifs.is_some(), attribution: gifs.map(|g| g.config.attribution.clone()) }
    }

    /// A page of results for `query.q`, or of what is featured when it is empty.
    pub async fn search(&self, query: GifQuery) -> Result<GifPage> {
        let q = query.q.as_deref().map(str::trim).unwrap_or_default();
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(Error::invalid(ErrorCode::InvalidParameter, "q has at most 100 characters"));
        }
        let pos = query.pos.as_deref().unwrap_or_default();
        if pos.len() > MAX_POS_LEN {
            return Err(Error::invalid(ErrorCode::InvalidParameter, "pos has at most 200 characters"));
        }
        let mut url = self.endpoint(if q.is_empty() { "featured" } else { "search" });
        {
            let mut pairs = url.query_pairs_mut();
            if !q.is_empty() {
                pairs.append_pair("q", q);
            }
            pairs
                .append_pair("limit", &self.config.limit.to_string())
                .append_pair("media_filter", "gif,tinygif")
                .append_pair("contentfilter", &self.config.content_filter);
            if !pos.is_empty() {
                pairs.append_pair("pos", pos);
            }
        }
        let page = self.ask(url).await?;
        let results = page.results.iter().filter_map(|found| self.result(found)).collect();
        Ok(GifPage { results, next: Some(page.next).filter(|n| !n.is_empty() && n != "0") })
    }

    /// The picture a result's `url` names, if this server signed it.
    pub async fn preview(&self, token: &str) -> Result<Picture> {
        let url = self.verify(token).ok_or(Error::NotFound("GIF preview"))?;
        if let Some(hit) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&url) {
            return Ok(hit);
        }
        let picture = self.picture(&url, PREVIEW_BYTES).await?;
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).put(url, &picture);
        Ok(picture)
    }

    /// Fetches the GIF with this id from the provider and makes it a complete attachment upload
    /// of the caller, to send like any file.
    pub async fn upload(&self, principal: Principal, id: &str) -> Result<Upload> {
        let valid =
            !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b));
        if !valid {
            return Err(Error::NotFound("GIF"));
        }
        let mut url = self.endpoint("posts");
        url.query_pairs_mut().append_pair("ids", id).append_pair("media_filter", "gif");
        let page = self.ask(url).await?;
        let found = page.results.into_iter().find(|g| g.id == id).ok_or(Error::NotFound("GIF"))?;
        let media = found.media_formats.get("gif").ok_or(Error::NotFound("GIF"))?;
        let media_url = Url::parse(&media.url).map_err(|_| unavailable("the provider named no usable GIF"))?;
        let max = usize::try_from(self.media.config().max_image_bytes).unwrap_or(usize::MAX);
        let picture = self.picture(&media_url, max).await?;
        let name = format!("{}.gif", title_of(&found).unwrap_or_else(|| "GIF".into()));
        let length = picture.bytes.len() as u64;
        let req = UploadRequest { length, name: Some(name), sha256: None, purpose: UploadPurpose::Attachment };
        let upload = self.media.create(principal, req).await?;
        let body = futures_util::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(picture.bytes) });
        self.media.append(principal, upload.id, 0, Some(length), Box::pin(body)).await
    }

    fn endpoint(&self, path: &str) -> Url {
        let mut url = self.root.clone();
        url.set_path(&format!("{}/{path}", self.root.path().trim_end_matches('/')));
        url.query_pairs_mut()
            .append_pair("key", &self.config.api_key)
            .append_pair("client_key", &self.config.client_key);
        url
    }

    async fn ask(&self, url: Url) -> Result<ProviderPage> {
        let limits = Limits { max_bytes: 1 << 20, timeout: FETCH_TIME, content_types: vec!["application/json".into()] };
        let answer = self.egress.get(url.as_str(), &limits).await.map_err(provider_error)?;
        serde_json::from_slice(&answer.body).map_err(|e| unavailable(format!("the GIF provider's answer: {e}")))
    }

    /// A result the client can show: its small picture behind a signed URL of ours.
    fn result(&self, found: &ProviderGif) -> Option<Gif> {
        let media = found.media_formats.get("tinygif").or_else(|| found.media_formats.get("gif"))?;
        let url = Url::parse(&media.url).ok().filter(|u| matches!(u.scheme(), "http" | "https"))?;
        let (width, height) = match media.dims[..] {
            [w, h, ..] if w > 0 && h > 0 => (w, h),
            _ => return None,
        };
        let valid_id =
            found.id.len() <= 64 && found.id.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b));
        valid_id.then(|| Gif {
            id: found.id.clone(),
            title: title_of(found).unwrap_or_default(),
            url: format!("/api/v1/gifs/preview/{}", self.sign(&url)),
            width,
            height,
        })
    }

    async fn picture(&self, url: &Url, max_bytes: usize) -> Result<Picture> {
        let limits = Limits { max_bytes, timeout: FETCH_TIME, content_types: IMAGE_TYPES.map(String::from).to_vec() };
        let fetched = self.egress.get(url.as_str(), &limits).await.map_err(provider_error)?;
        // The type is the bytes' own, never the provider's word for it.
        let sniffed = crate::media::image::sniff(&fetched.body[..fetched.body.len().min(64)]);
        if sniffed.image.is_none() {
            return Err(unavailable("the GIF provider sent something that is not an image"));
        }
        Ok(Picture { bytes: fetched.body, content_type: sniffed.mime })
    }

    fn sign(&self, url: &Url) -> String {
        format!("{}.{}", URL_SAFE_NO_PAD.encode(url.as_str()), URL_SAFE_NO_PAD.encode(self.mac(url.as_str())))
    }

    fn verify(&self, token: &str) -> Option<Url> {
        let (url, tag) = token.split_once('.')?;
        let url = String::from_utf8(URL_SAFE_NO_PAD.decode(url).ok()?).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok().filter(|t| t.len() == 16)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).ok()?;
        mac.update(url.as_bytes());
        mac.verify_truncated_left(&tag).ok()?;
        Url::parse(&url).ok()
    }

    fn mac(&self, text: &str) -> Vec<u8> {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else { return Vec::new() };
        mac.update(text.as_bytes());
        mac.finalize().into_bytes()[..16].to_vec()
    }
}

fn title_of(found: &ProviderGif) -> Option<String> {
    let text = if found.content_description.trim().is_empty() { &found.title } else { &found.content_description };
    let text: String = crate::users::shown_text::strip(text.trim()).chars().take(MAX_TITLE_CHARS).collect();
    let text = text.replace(['/', '\\'], " ");
    (!text.trim().is_empty()).then(|| text.trim().to_owned())
}

fn provider_error(e: EgressError) -> Error {
    tracing::warn!(error = %e.describe(), "the GIF provider failed");
    unavailable("the GIF provider did not answer; try again later")
}

fn unavailable(message: impl Into<String>) -> Error {
    Error::Unavailable(message.into())
}

/// The parts of a Tenor v2 answer (`search`, `featured`, `posts`) used here.
#[derive(Deserialize)]
struct ProviderPage {
    #[serde(default)]
    results: Vec<ProviderGif>,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
struct ProviderGif {
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    content_description: String,
    #[serde(default)]
    media_formats: HashMap<String, ProviderMedia>,
}

#[derive(Deserialize)]
struct ProviderMedia {
    url: String,
    #[serde(default)]
    dims: Vec<u32>,
}

/// Preview pictures by URL, the oldest dropped first once they take [`CACHE_BYTES`].
#[derive(Default)]
struct PreviewCache {
    entries: HashMap<Url, (Bytes, &'static str)>,
    order: VecDeque<Url>,
    bytes: usize,
}

impl PreviewCache {
    fn get(&self, url: &Url) -> Option<Picture> {
        self.entries.get(url).map(|(bytes, content_type)| Picture { bytes: bytes.clone(), content_type })
    }

    fn put(&mut self, url: Url, picture: &Picture) {
        if self.entries.contains_key(&url) || picture.bytes.len() > CACHE_BYTES / 8 {
            return;
        }
        self.bytes += picture.bytes.len();
        self.entries.insert(url.clone(), (picture.bytes.clone(), picture.content_type));
        self.order.push_back(url);
        while self.bytes > CACHE_BYTES {
            let Some(oldest) = self.order.pop_front() else { break };
            if let Some((bytes, _)) = self.entries.remove(&oldest) {
                self.bytes -= bytes.len();
            }
        }
    }
}
