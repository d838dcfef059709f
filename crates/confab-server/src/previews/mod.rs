//! Link previews, built once by the server after a message is sent (`Messages` queues the
//! message's links, [`Previews`] builds and `Messages::apply_previews` stores and announces
//! them), so recipients never fetch anything and their addresses never reach the linked site.
//!
//! A link's page is read through the egress guard (`egress/`): oEmbed for the hosts of a
//! configured provider, the page's own `<head>` (`page.rs`) otherwise. Its image goes through
//! the media pipeline like an upload (stripped, thumbnailed) and is served from here. What a
//! link showed is cached in the database by its normalized URL, so a link shared in many
//! conversations, or by many nodes, is fetched once per `cache_secs`; concurrent builds of one
//! link on a node wait for the first.

pub mod page;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use confab_proto::rest::LinkPreview;
use serde::Deserialize;
use tokio::sync::{OnceCell, Semaphore, mpsc};
use url::Url;

use crate::clock::now_ms;
use crate::config::{OembedProvider, PreviewsConfig};
use crate::egress::{Egress, Limits};
use crate::media::Media;
use crate::messages::Messages;
use crate::messages::links::PreviewJob;
use crate::store::{FileId, FileRow, NewPreview, Store};
use crate::tasks::Tasks;
use page::{MAX_DESCRIPTION, MAX_SITE_NAME, MAX_TITLE, PageMeta, plain};

/// Messages whose previews are built at once on a node.
const CONCURRENT_JOBS: usize = 4;
/// The largest page read, and how long a fetch may take.
const PAGE_BYTES: usize = 1 << 20;
const IMAGE_BYTES: usize = 5 << 20;
const FETCH_TIME: Duration = Duration::from_secs(5);

/// What a link showed: the preview's text (its `url` left empty) and its image.
#[derive(Clone)]
struct Built {
    text: LinkPreview,
    file: Option<FileId>,
}

pub struct Previews {
    store: Store,
    egress: Egress,
    media: Arc<Media>,
    messages: Arc<Messages>,
    config: PreviewsConfig,
    /// Links being built on this node: a second build of one waits for the first.
    building: Mutex<HashMap<String, Arc<OnceCell<Option<Built>>>>>,
}

/// The services [`Previews`] works with.
pub struct PreviewDeps {
    pub store: Store,
    pub egress: Egress,
    pub media: Arc<Media>,
    pub messages: Arc<Messages>,
}

impl Previews {
    /// Builds previews for the jobs `Messages` queues, until shutdown.
    pub fn start(deps: PreviewDeps, config: PreviewsConfig, mut jobs: mpsc::Receiver<PreviewJob>, tasks: &Tasks) {
        let PreviewDeps { store, egress, media, messages } = deps;
        let previews =
            Arc::new(Previews { store, egress, media, messages, config, building: Mutex::new(HashMap::new()) });
        let running = Arc::new(Semaphore::new(CONCURRENT_JOBS));
        let spawner = tasks.clone();
        tasks.spawn_worker("link previews", |mut shutdown| async move {
            loop {
                let job = tokio::select! {
                    job = jobs.recv() => job,
                    () = shutdown.wait() => return,
                };
                let Some(job) = job else { return };
                let Ok(permit) = running.clone().acquire_owned().await else { return };
                let previews = previews.clone();
                spawner.spawn_job("link previews of a message", async move {
                    let _permit = permit;
                    if let Err(e) = previews.run(&job).await {
                        tracing::warn!(error = %e, message = %job.message_id, "link previews failed");
                    }
                });
            }
        });
    }

    async fn run(&self, job: &PreviewJob) -> crate::error::Result<()> {
        let on = self.store.conversation(job.conversation_id).await?.is_some_and(|c| c.link_previews != 0);
        if !on {
            return Ok(());
        }
        let mut built = Vec::new();
        for link in &job.links {
            if let Some(b) = self.preview(link).await {
                let text = LinkPreview { url: link.clone(), ..b.text };
                built.push((serde_json::to_string(&text).unwrap_or_default(), b.file));
            }
        }
        if built.is_empty() && self.store.previews_of(&[job.message_id]).await?.is_empty() {
            return Ok(()); // nothing to show, and nothing shown before
        }
        let previews: Vec<NewPreview<'_>> =
            built.iter().map(|(preview, file)| NewPreview { preview, file: *file }).collect();
        self.messages.apply_previews(job, &previews).await
    }

    /// What `link` shows: from the cache, or fetched once however many ask at the same time.
    async fn preview(&self, link: &str) -> Option<Built> {
        let key = normalized(link)?;
        if let Ok(Some(cached)) = self.store.cached_preview(&key).await
            && cached.expires_at > now_ms()
        {
            let text: LinkPreview = serde_json::from_str(cached.preview.as_deref()?).ok()?;
            return Some(Built { text, file: cached.file.map(|f| f.id) });
        }
        let cell = self.building.lock().unwrap_or_else(|e| e.into_inner()).entry(key.clone()).or_default().clone();
        let built = cell.get_or_init(|| self.build(&key)).await.clone();
        self.building.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
        built
    }

    /// Fetches what `url` shows and caches it (a failure too, for a tenth of the time).
    async fn build(&self, url: &str) -> Option<Built> {
        let meta = match self.describe(url).await {
            Ok(meta) => meta.filter(|m| !m.is_empty()),
            Err(e) => {
                tracing::debug!(error = %e, "no preview for a link");
                None
            }
        };
        let image = match meta.as_ref().and_then(|m| m.image.clone()) {
            Some(image) => self.image(&image).await,
            None => None,
        };
        let text = meta.map(|m| LinkPreview {
            url: String::new(),
            title: m.title,
            description: m.description,
            site_name: m.site_name,
            image: None,
        });
        let json = text.as_ref().map(|t| serde_json::to_string(t).unwrap_or_default());
        let now = now_ms();
        let keep = self.config.cache_secs.saturating_mul(1000);
        let keep = if text.is_some() { keep } else { keep / 10 };
        let expires = now.saturating_add(i64::try_from(keep).unwrap_or(i64::MAX));
        let held = match self.store.cache_preview(url, json.as_deref(), image.as_ref(), now, expires).await {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = %e, "cannot cache a link preview");
                None
            }
        };
        if let Some(image) = &image
            && held.as_ref().is_none_or(|h| h.id != image.id)
        {
            self.media.discard(image).await; // the same bytes were stored before
        }
        Some(Built { text: text?, file: held.map(|f| f.id) })
    }

    /// The page's description of itself, or its oEmbed provider's.
    async fn describe(&self, url: &str) -> Result<Option<PageMeta>, crate::egress::EgressError> {
        let parsed = Url::parse(url).map_err(|e| crate::egress::EgressError::Url(e.to_string()))?;
        if let Some(provider) = provider_for(&self.config.oembed, &parsed) {
            return self.oembed(provider, &parsed).await.map(Some);
        }
        let limits = Limits {
            max_bytes: PAGE_BYTES,
            timeout: FETCH_TIME,
            content_types: vec!["text/html".into(), "application/xhtml+xml".into()],
        };
        let page = self.egress.get(url, &limits).await?;
        Ok(Some(page::read(&page.body, &page.url)))
    }

    async fn oembed(&self, provider: &OembedProvider, url: &Url) -> Result<PageMeta, crate::egress::EgressError> {
        let mut endpoint =
            Url::parse(&provider.endpoint).map_err(|e| crate::egress::EgressError::Url(e.to_string()))?;
        endpoint.query_pairs_mut().append_pair("url", url.as_str()).append_pair("format", "json");
        let limits = Limits {
            max_bytes: 64 * 1024,
            timeout: FETCH_TIME,
            content_types: vec!["application/json".into(), "text/json".into(), "text/javascript".into()],
        };
        let answer = self.egress.get(endpoint.as_str(), &limits).await?;
        let oembed: Oembed = serde_json::from_slice(&answer.body)
            .map_err(|e| crate::egress::EgressError::Url(format!("not an oEmbed answer: {e}")))?;
        Ok(PageMeta {
            title: oembed.title.as_deref().and_then(|t| plain(t, MAX_TITLE)),
            description: oembed.author_name.as_deref().and_then(|a| plain(a, MAX_DESCRIPTION)),
            site_name: oembed.provider_name.as_deref().and_then(|p| plain(p, MAX_SITE_NAME)),
            image: oembed.thumbnail_url.and_then(|u| answer.url.join(&u).ok()),
        })
    }

    /// The image of a page, fetched and stored like an uploaded one.
    async fn image(&self, url: &Url) -> Option<FileRow> {
        let limits = Limits {
            max_bytes: IMAGE_BYTES,
            timeout: FETCH_TIME,
            content_types: ["image/png", "image/jpeg", "image/gif", "image/webp"].map(String::from).to_vec(),
        };
        let fetched = match self.egress.get(url.as_str(), &limits).await {
            Ok(fetched) => fetched,
            Err(e) => {
                tracing::debug!(error = %e.describe(), "no image for a link preview");
                return None;
            }
        };
        match self.media.import_image(fetched.body).await {
            Ok(file) => Some(file),
            Err(e) => {
                tracing::debug!(error = %e, "a link preview's image was refused");
                None
            }
        }
    }
}

/// The fields of an oEmbed answer a preview uses; `html` never is.
#[derive(Deserialize)]
struct Oembed {
    title: Option<String>,
    author_name: Option<String>,
    provider_name: Option<String>,
    thumbnail_url: Option<String>,
}

fn provider_for<'a>(providers: &'a [OembedProvider], url: &Url) -> Option<&'a OembedProvider> {
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    providers.iter().find(|p| p.hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)))
}

/// The cache key of a link: no fragment, no `utm_*` tracking parameters, host lowercased (the
/// URL parser's form). `None` for what is not an http(s) URL.
pub fn normalized(link: &str) -> Option<String> {
    let mut url = Url::parse(link).ok().filter(|u| matches!(u.scheme(), "http" | "https"))?;
    url.set_fragment(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !k.starts_with("utm_"))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    Some(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys_ignore_fragments_and_tracking() {
        assert_eq!(normalized("HTTPS://Example.COM/a#top").as_deref(), Some("https://example.com/a"));
        assert_eq!(
            normalized("https://example.com/a?utm_source=x&id=7&utm_medium=y").as_deref(),
            Some("https://example.com/a?id=7")
        );
        assert_eq!(normalized("https://example.com/a?utm_source=x").as_deref(), Some("https://example.com/a"));
        assert_eq!(normalized("ftp://example.com/"), None);
    }

    #[test]
    fn providers_match_by_host() {
        let providers = vec![OembedProvider {
            hosts: vec!["video.example".into(), "www.video.example".into()],
            endpoint: "https://video.example/oembed".into(),
        }];
        let found = |u: &str| provider_for(&providers, &Url::parse(u).unwrap()).is_some();
        assert!(found("https://WWW.video.example/watch?v=1"));
        assert!(!found("https://video.example.evil/watch"));
        assert!(!found("https://evil.example/?u=video.example"));
    }
}
