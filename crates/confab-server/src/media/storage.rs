//! Blob storage for media bytes: upload chunks, finished files, thumbnails.
//!
//! One type, [`Blobs`], over `object_store`: a directory on local disk (the default), memory (tests),
//! or an S3-compatible bucket (clusters, where every node must read what any node stored). The media
//! service makes the keys (`uploads/<id>/<n>`, `files/<id>`, `thumbs/<id>`); they are checked again here
//! ([`check_key`]) so that no key can name a file outside the disk root.
//!
//! Writes stream: [`Blobs::put_stream`] and [`Blobs::concat`] hold at most two parts of [`PART_SIZE`]
//! (one uploading while the next fills), whatever the size of the object.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::stream::{BoxStream, Stream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload, PutPayloadMut};
use tokio::task::JoinHandle;

/// The size of every part of a multipart upload but the last: S3's minimum, and the same for all parts
/// (some S3-compatible stores require equal parts). A write buffers at most two of them.
pub const PART_SIZE: usize = 5 * 1024 * 1024;

/// The longest key accepted; the service's keys are far shorter.
const MAX_KEY_LEN: usize = 256;

/// Incoming chunks are copied into blocks of this size, so a buffered part owns exactly its bytes
/// instead of pinning the (possibly larger) network buffers the chunks were sliced from.
const BLOCK_SIZE: usize = 256 * 1024;

/// Where an S3-compatible bucket is and how to sign for it.
#[derive(Clone)]
pub struct S3Config {
    /// `None` for AWS itself; otherwise the store's URL, e.g. `http://minio:9000`.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Allows an `http://` endpoint (a store on the same private network).
    pub allow_http: bool,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// What [`Blobs::put_stream`] stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Bytes stored under the key (0: nothing was stored).
    pub bytes: u64,
    /// The stream ended with an error (a cut connection); `bytes` is what arrived before it.
    pub cut: bool,
}

/// An object being read: its total size, the bytes of it that `body` yields, and the body.
pub struct Blob {
    /// The size of the whole object, whatever range was asked for.
    pub size: u64,
    /// The bytes `body` yields: the range asked for, its end clamped to `size`.
    pub range: Range<u64>,
    pub body: BoxStream<'static, Result<Bytes, BlobError>>,
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blob").field("size", &self.size).field("range", &self.range).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The key is not one the media service makes; nothing was read or written.
    #[error("invalid blob key {0:?}")]
    InvalidKey(String),
    #[error("blob {0} not found")]
    NotFound(String),
    #[error("blob {key} is {size} bytes, more than the {max} allowed")]
    TooLarge { key: String, size: u64, max: u64 },
    /// The range is empty or starts at or past the end; `size` lets the service answer 416 with it.
    #[error("range {}..{} is not within blob {key} of {size} bytes", range.start, range.end)]
    InvalidRange { key: String, range: Range<u64>, size: u64 },
    /// The backend failed (disk, network, credentials): a server-side failure, worth a retry.
    #[error("blob store could not {op} {key}: {source}")]
    Backend {
        op: &'static str,
        key: String,
        #[source]
        source: object_store::Error,
    },
    #[error("cannot open the {backend} blob store: {source}")]
    Open {
        backend: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The media service's byte store; cheap to clone.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
}

impl fmt::Debug for Blobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Blobs({})", self.store)
    }
}

impl Blobs {
    /// Files under `root`, which is created if missing. A write is durable when it returns: the file
    /// and its directory entry are fsynced before the rename that publishes it.
    pub fn disk(root: &std::path::Path) -> Result<Blobs, BlobError> {
        let open_error = |source: Box<dyn std::error::Error + Send + Sync>| BlobError::Open { backend: "disk", source };
        std::fs::create_dir_all(root).map_err(|error| open_error(error.into()))?;
        let store = LocalFileSystem::new_with_prefix(root)
            .map_err(|error| open_error(error.into()))?
            .with_fsync(true)
            // Deleting an upload's last chunk removes its emptied `uploads/<id>` directory.
            .with_automatic_cleanup(true);
        Ok(Blobs::from_store(Arc::new(store)))
    }

    /// Objects in this process's memory, gone when the last clone is dropped.
    pub fn memory() -> Blobs {
        Blobs::from_store(Arc::new(InMemory::new()))
    }

    /// An S3-compatible bucket, addressed path-style (`<endpoint>/<bucket>/<key>`), which every
    /// S3-compatible store understands, unlike bucket subdomains.
    pub fn s3(config: &S3Config) -> Result<Blobs, BlobError> {
        // reqwest is built without a TLS crypto provider of its own; an error only means one is
        // installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .with_allow_http(config.allow_http)
            .with_virtual_hosted_style_request(false);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let store = builder.build().map_err(|error| BlobError::Open { backend: "S3", source: error.into() })?;
        Ok(Blobs::from_store(Arc::new(store)))
    }

    fn from_store(store: Arc<dyn ObjectStore>) -> Blobs {
        Blobs { store }
    }

    /// Stores `bytes` under `key` in one request; for small objects (thumbnails, avatars).
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        let path = check_key(key)?;
        self.store.put(&path, bytes.into()).await.map_err(failed("write", key))?;
        Ok(())
    }

    /// Streams `body` into `key` without holding it in memory (at most two parts of [`PART_SIZE`]),
    /// and says how many bytes were stored. When the stream yields an error, what arrived before it
    /// is still stored — a resumable upload keeps what a cut connection delivered — and `cut` is set.
    /// A stream that delivered no bytes stores nothing (an object already under `key` stays).
    pub async fn put_stream<S, E>(&self, key: &str, mut body: S) -> Result<Written, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
    {
        let mut writer = ObjectWriter::new(&self.store, check_key(key)?, key);
        let mut cut = false;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(chunk) => writer.write(&chunk).await?,
                Err(_) => {
                    cut = true;
                    break;
                }
            }
        }
        let bytes = writer.finish(WhenEmpty::StoreNothing).await?;
        if cut {
            tracing::debug!(key, bytes, "upload stream cut; keeping what arrived");
        }
        Ok(Written { bytes, cut })
    }

    /// The whole object under `key`, or the bytes of it in `range` (an end past the object is
    /// clamped; a start at or past it is [`BlobError::InvalidRange`]).
    pub async fn get(&self, key: &str, range: Option<Range<u64>>) -> Result<Blob, BlobError> {
        let path = check_key(key)?;
        if let Some(range) = &range
            && range.start >= range.end
        {
            return Err(self.invalid_range(key, range).await);
        }
        let options = GetOptions { range: range.clone().map(GetRange::Bounded), ..GetOptions::default() };
        match self.store.get_opts(&path, options).await {
            Ok(result) => {
                let size = result.meta.size;
                let returned = result.range.clone();
                let owned_key = key.to_owned();
                let body = result.into_stream().map_err(move |error| failed("read", &owned_key)(error)).boxed();
                Ok(Blob { size, range: returned, body })
            }
            Err(object_store::Error::NotFound { .. }) => Err(BlobError::NotFound(key.to_owned())),
            // Backends word "range past the end" differently; the object's size settles it.
            Err(source) => match range {
                Some(range) => match self.size(key).await? {
                    Some(size) if range.start >= size => {
                        Err(BlobError::InvalidRange { key: key.to_owned(), range, size })
                    }
                    None => Err(BlobError::NotFound(key.to_owned())),
                    Some(_) => Err(BlobError::Backend { op: "read", key: key.to_owned(), source }),
                },
                None => Err(BlobError::Backend { op: "read", key: key.to_owned(), source }),
            },
        }
    }

    async fn invalid_range(&self, key: &str, range: &Range<u64>) -> BlobError {
        match self.size(key).await {
            Ok(Some(size)) => BlobError::InvalidRange { key: key.to_owned(), range: range.clone(), size },
            Ok(None) => BlobError::NotFound(key.to_owned()),
            Err(error) => error,
        }
    }

    /// The whole object in memory, refused ([`BlobError::TooLarge`]) when larger than `max` bytes:
    /// for what must be decoded whole (an image to thumbnail).
    pub async fn read_all(&self, key: &str, max: u64) -> Result<Bytes, BlobError> {
        let blob = self.get(key, None).await?;
        let too_large = |size| BlobError::TooLarge { key: key.to_owned(), size, max };
        if blob.size > max {
            return Err(too_large(blob.size));
        }
        let capacity = usize::try_from(blob.size).map_err(|_| too_large(blob.size))?;
        let mut bytes = BytesMut::with_capacity(capacity);
        let mut body = blob.body;
        while let Some(chunk) = body.try_next().await? {
            // The announced size was checked, not the body: an object replaced while being read may
            // be longer than it said.
            let read = u64::try_from(bytes.len().saturating_add(chunk.len())).unwrap_or(u64::MAX);
            if read > max {
                return Err(too_large(read));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes.freeze())
    }

    /// The size of the object under `key`, `None` when there is none.
    pub async fn size(&self, key: &str) -> Result<Option<u64>, BlobError> {
        let path = check_key(key)?;
        match self.store.head(&path).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(BlobError::Backend { op: "look up", key: key.to_owned(), source }),
        }
    }

    /// Removes the object under `key`; one that is already gone is fine.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = check_key(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(BlobError::Backend { op: "delete", key: key.to_owned(), source }),
        }
    }

    /// Removes every object whose key starts with `prefix` + `/`: an upload's parts, including
    /// one a crashed node wrote but never recorded.
    pub async fn delete_under(&self, prefix: &str) -> Result<(), BlobError> {
        let path = check_key(prefix)?;
        let listing_error = |source| BlobError::Backend { op: "list", key: prefix.to_owned(), source };
        let keys: Vec<Path> =
            self.store.list(Some(&path)).map_ok(|meta| meta.location).try_collect().await.map_err(listing_error)?;
        for key in keys {
            match self.store.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(source) => return Err(BlobError::Backend { op: "delete", key: key.to_string(), source }),
            }
        }
        Ok(())
    }

    /// Writes the objects under `parts`, in order, into one object under `key`, streaming (no part is
    /// loaded whole), and calls `inspect` with every chunk as it passes (the service hashes the file
    /// through it). Returns the size of the result; no parts make an empty object. The parts stay.
    pub async fn concat(
        &self,
        parts: &[String],
        key: &str,
        mut inspect: impl FnMut(&[u8]) + Send,
    ) -> Result<u64, BlobError> {
        let path = check_key(key)?;
        // Every key is checked before anything is written.
        for part in parts {
            check_key(part)?;
        }
        let mut writer = ObjectWriter::new(&self.store, path, key);
        for part in parts {
            let mut body = self.get(part, None).await?.body;
            while let Some(chunk) = body.try_next().await? {
                inspect(&chunk);
                writer.write(&chunk).await?;
            }
        }
        writer.finish(WhenEmpty::StoreEmpty).await
    }
}

/// The key as an `object_store` path, if it is one the service makes: segments of `[a-z0-9_-]`
/// joined by `/`. No `.` at all (so no `..`), no leading, trailing or doubled `/` (no two keys name
/// the same object), nothing a filesystem or URL gives a meaning to.
fn check_key(key: &str) -> Result<Path, BlobError> {
    let invalid = || BlobError::InvalidKey(key.to_owned());
    let allowed = |byte: u8| matches!(byte, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-');
    let well_formed = !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && key.split('/').all(|segment| !segment.is_empty() && segment.bytes().all(allowed));
    if !well_formed {
        return Err(invalid());
    }
    Path::parse(key).map_err(|_| invalid())
}

/// Turns a backend error about `key` into a [`BlobError`], keeping "not found" apart.
fn failed(op: &'static str, key: &str) -> impl FnOnce(object_store::Error) -> BlobError {
    move |source| match source {
        object_store::Error::NotFound { .. } => BlobError::NotFound(key.to_owned()),
        source => BlobError::Backend { op, key: key.to_owned(), source },
    }
}

/// Whether a write that received no bytes creates an (empty) object.
#[derive(Clone, Copy)]
enum WhenEmpty {
    StoreNothing,
    StoreEmpty,
}

/// Streams bytes into one object. Up to one part it is a single PUT at the end; beyond that a multipart
/// upload with one part in flight while the next fills. Dropped before [`ObjectWriter::finish`] (an
/// error, or the request was cancelled), it aborts the multipart upload so no parts linger in a bucket.
struct ObjectWriter<'a> {
    store: &'a Arc<dyn ObjectStore>,
    path: Path,
    key: &'a str,
    /// The next part; always shorter than [`PART_SIZE`] between calls.
    filling: PutPayloadMut,
    upload: Option<Box<dyn MultipartUpload>>,
    in_flight: Option<JoinHandle<object_store::Result<()>>>,
    written: u64,
}

impl<'a> ObjectWriter<'a> {
    fn new(store: &'a Arc<dyn ObjectStore>, path: Path, key: &'a str) -> Self {
        ObjectWriter { store, path, key, filling: part_buffer(), upload: None, in_flight: None, written: 0 }
    }

    async fn write(&mut self, mut chunk: &[u8]) -> Result<(), BlobError> {
        while !chunk.is_empty() {
            let room = PART_SIZE.saturating_sub(self.filling.content_length());
            let (now, rest) = chunk.split_at(room.min(chunk.len()));
            self.filling.extend_from_slice(now);
            self.written = self.written.saturating_add(now.len() as u64);
            chunk = rest;
            if self.filling.content_length() >= PART_SIZE {
                let part = std::mem::replace(&mut self.filling, part_buffer()).freeze();
                self.send_part(part).await?;
            }
        }
        Ok(())
    }

    /// Starts uploading `part` once the previous one has landed, so that at most one is in flight.
    async fn send_part(&mut self, part: PutPayload) -> Result<(), BlobError> {
        self.land_in_flight().await?;
        let upload = match &mut self.upload {
            Some(upload) => upload,
            None => {
                let upload = self.store.put_multipart(&self.path).await.map_err(failed("write", self.key))?;
                self.upload.insert(upload)
            }
        };
        // Spawned, as an upload part makes progress only while polled.
        self.in_flight = Some(tokio::spawn(upload.put_part(part)));
        Ok(())
    }

    async fn land_in_flight(&mut self) -> Result<(), BlobError> {
        if let Some(part) = self.in_flight.take() {
            let landed = part.await.unwrap_or_else(|source| Err(object_store::Error::JoinError { source }));
            landed.map_err(failed("write", self.key))?;
        }
        Ok(())
    }

    /// Stores what was written and returns its size.
    async fn finish(mut self, when_empty: WhenEmpty) -> Result<u64, BlobError> {
        let last = std::mem::take(&mut self.filling).freeze();
        if self.upload.is_none() {
            if self.written > 0 || matches!(when_empty, WhenEmpty::StoreEmpty) {
                self.store.put(&self.path, last).await.map_err(failed("write", self.key))?;
            }
            return Ok(self.written);
        }
        if last.content_length() > 0 {
            self.send_part(last).await?;
        }
        self.land_in_flight().await?;
        if let Some(upload) = self.upload.as_mut() {
            upload.complete().await.map_err(failed("write", self.key))?;
        }
        // Completed: nothing left for `drop` to abort.
        self.upload = None;
        Ok(self.written)
    }
}

impl Drop for ObjectWriter<'_> {
    fn drop(&mut self) {
        let Some(mut upload) = self.upload.take() else { return };
        let in_flight = self.in_flight.take();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let key = self.key.to_owned();
        runtime.spawn(async move {
            // Abort after the last part has landed: S3 may keep a part that lands after the abort.
            if let Some(part) = in_flight {
                let _ = part.await;
            }
            if let Err(error) = upload.abort().await {
                tracing::warn!(key, %error, "could not abort an unfinished multipart upload");
            }
        });
    }
}

fn part_buffer() -> PutPayloadMut {
    PutPayloadMut::new().with_block_size(BLOCK_SIZE)
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use futures_util::stream;
    use object_store::{CopyOptions, ListResult, ObjectMeta, PutMultipartOptions, PutOptions, PutResult, UploadPart};
    use tempfile::TempDir;
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;

    use super::*;

    const MIB: usize = 1024 * 1024;

    /// A backend under test, wrapped so a test can see how far the backend has got, and kept alive
    /// with whatever it runs on (a directory, an S3 server).
    struct Backend {
        blobs: Blobs,
        progress: Arc<Progress>,
        s3: Option<S3Server>,
        dir: Option<TempDir>,
    }

    async fn disk() -> Backend {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::disk(&dir.path().join("media")).unwrap();
        Backend::watch(blobs, None, Some(dir))
    }

    async fn memory() -> Backend {
        Backend::watch(Blobs::memory(), None, None)
    }

    async fn s3() -> Backend {
        let server = S3Server::start().await;
        let blobs = Blobs::s3(&server.config(SECRET_KEY)).unwrap();
        Backend::watch(blobs, Some(server), None)
    }

    impl Backend {
        fn watch(blobs: Blobs, s3: Option<S3Server>, dir: Option<TempDir>) -> Backend {
            let progress = Arc::new(Progress::default());
            let store = Arc::new(Watched { inner: blobs.store, progress: progress.clone() });
            Backend { blobs: Blobs::from_store(store), progress, s3, dir }
        }

        /// Files of multipart uploads neither completed nor aborted: staging files (`<key>#<n>`) on
        /// disk, part and upload files on the S3 server. `None` in memory, where nothing shows.
        fn unfinished_uploads(&self) -> Option<usize> {
            if let Some(server) = &self.s3 {
                return Some(files_named(server.root.path(), |name| name.starts_with(".upload")));
            }
            self.dir.as_ref().map(|dir| files_named(dir.path(), |name| name.contains('#')))
        }
    }

    /// Counts the files under `dir` (recursively) whose name passes `wanted`.
    fn files_named(dir: &std::path::Path, wanted: impl Fn(&str) -> bool + Copy) -> usize {
        let mut count = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                count += files_named(&entry.path(), wanted);
            } else if entry.file_name().to_str().is_some_and(wanted) {
                count += 1;
            }
        }
        count
    }

    /// Bytes at `offset` of the test data: no short period, so a part stored at the wrong place or
    /// twice shows.
    fn pattern_byte(offset: u64) -> u8 {
        (offset.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8
    }

    fn pattern(range: Range<u64>) -> Bytes {
        range.map(pattern_byte).collect()
    }

    /// A stream of `total` pattern bytes in chunks of `chunk`, ending with an error when `cut`.
    fn chunks(total: usize, chunk: usize, cut: bool) -> impl Stream<Item = Result<Bytes, io::Error>> + Unpin + Send {
        let ends = (0..total).step_by(chunk).map(move |start| start as u64..(start + chunk).min(total) as u64);
        let body = stream::iter(ends.map(|range| Ok(pattern(range))));
        let end = cut.then(|| Err(io::Error::new(io::ErrorKind::ConnectionReset, "client went away")));
        body.chain(stream::iter(end))
    }

    async fn collect(blob: Blob) -> Vec<u8> {
        blob.body
            .try_fold(Vec::new(), |mut all, chunk| async move {
                all.extend_from_slice(&chunk);
                Ok(all)
            })
            .await
            .unwrap()
    }

    /// `f` unchanged; fails to compile unless its future can run on a multi-threaded runtime (axum).
    fn require_send<F: Send>(f: F) -> F {
        f
    }

    async fn put_then_get_returns_the_bytes_and_a_second_put_replaces_them(backend: Backend) {
        let blobs = &backend.blobs;
        blobs.put("files/1", Bytes::from_static(b"first version")).await.unwrap();
        blobs.put("files/1", Bytes::from_static(b"hello, world")).await.unwrap();

        let blob = blobs.get("files/1", None).await.unwrap();
        assert_eq!((blob.size, blob.range.clone()), (12, 0..12));
        assert_eq!(collect(blob).await, b"hello, world");
        assert_eq!(blobs.size("files/1").await.unwrap(), Some(12));
        assert_eq!(blobs.read_all("files/1", 12).await.unwrap(), Bytes::from_static(b"hello, world"));
        assert!(matches!(blobs.read_all("files/1", 11).await, Err(BlobError::TooLarge { size: 12, max: 11, .. })));

        blobs.put("files/empty", Bytes::new()).await.unwrap();
        assert_eq!(blobs.read_all("files/empty", 0).await.unwrap(), Bytes::new());
    }

    async fn a_range_read_returns_those_bytes_and_the_whole_size(backend: Backend) {
        let blobs = &backend.blobs;
        blobs.put("files/ranged", pattern(0..1000)).await.unwrap();

        let blob = blobs.get("files/ranged", Some(10..20)).await.unwrap();
        assert_eq!((blob.size, blob.range.clone()), (1000, 10..20));
        assert_eq!(collect(blob).await, pattern(10..20));

        let past_the_end = blobs.get("files/ranged", Some(990..5000)).await.unwrap();
        assert_eq!((past_the_end.size, past_the_end.range.clone()), (1000, 990..1000));
        assert_eq!(collect(past_the_end).await, pattern(990..1000));

        for outside in [1000..1001, 5000..6000, 10..10] {
            match blobs.get("files/ranged", Some(outside.clone())).await {
                Err(BlobError::InvalidRange { size: 1000, range, .. }) => assert_eq!(range, outside),
                other => panic!("range {outside:?}: expected InvalidRange, got {other:?}"),
            }
        }
        assert!(matches!(blobs.get("files/absent", Some(0..10)).await, Err(BlobError::NotFound(_))));
    }

    async fn a_large_stream_is_stored_without_running_ahead_of_the_backend(backend: Backend) {
        const TOTAL: usize = 30 * MIB;
        const CHUNK: usize = 64 * 1024;
        const QUEUE: usize = 4;
        // A producer feeds a bounded queue, as an HTTP body does. Before each chunk it notes how far it
        // is ahead of what the backend has acknowledged (parts landed, PUTs done); buffering the
        // stream would make that 30 MiB, streaming keeps it to the two parts a writer may hold, plus
        // the queue and the chunk in hand.
        let (sender, receiver) = mpsc::channel::<Result<Bytes, io::Error>>(QUEUE);
        let progress = backend.progress.clone();
        let producer = tokio::spawn(async move {
            let mut produced = 0u64;
            let mut most_ahead = 0u64;
            for start in (0..TOTAL as u64).step_by(CHUNK) {
                most_ahead = most_ahead.max(produced.saturating_sub(progress.stored()));
                sender.send(Ok(pattern(start..start + CHUNK as u64))).await.unwrap();
                produced += CHUNK as u64;
            }
            most_ahead
        });
        let body = Box::pin(stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|chunk| (chunk, receiver))
        }));

        let written = require_send(backend.blobs.put_stream("files/large", body)).await.unwrap();
        assert_eq!(written, Written { bytes: TOTAL as u64, cut: false });

        let most_ahead = producer.await.unwrap();
        let allowed = 2 * PART_SIZE + (QUEUE + 2) * CHUNK;
        assert!(most_ahead <= allowed as u64, "producer was {most_ahead} bytes ahead of the backend");
        assert_eq!(backend.progress.parts(), vec![PART_SIZE as u64; TOTAL / PART_SIZE]);

        let stored = backend.blobs.get("files/large", None).await.unwrap();
        assert_eq!(stored.size, TOTAL as u64);
        let mut offset = 0u64;
        let mut body = stored.body;
        while let Some(chunk) = body.try_next().await.unwrap() {
            let end = offset + chunk.len() as u64;
            assert!(chunk == pattern(offset..end), "stored bytes differ within {offset}..{end}");
            offset = end;
        }
        assert_eq!(offset, TOTAL as u64);
    }

    async fn a_cut_stream_keeps_what_arrived(backend: Backend) {
        let blobs = &backend.blobs;
        // 3 MiB goes in one PUT; 11 MiB is two full parts and a short last one.
        for (key, total) in [("uploads/1/0", 3 * MIB), ("uploads/1/1", 11 * MIB)] {
            let written = blobs.put_stream(key, chunks(total, 64 * 1024, true)).await.unwrap();
            assert_eq!(written, Written { bytes: total as u64, cut: true }, "{key}");
            assert!(blobs.read_all(key, total as u64).await.unwrap() == pattern(0..total as u64), "{key}");
        }
    }

    async fn a_stream_that_delivers_nothing_stores_nothing(backend: Backend) {
        let blobs = &backend.blobs;
        let empty = blobs.put_stream("uploads/2/0", chunks(0, 1, false)).await.unwrap();
        assert_eq!(empty, Written { bytes: 0, cut: false });
        let cut_at_once = blobs.put_stream("uploads/2/1", chunks(0, 1, true)).await.unwrap();
        assert_eq!(cut_at_once, Written { bytes: 0, cut: true });
        assert_eq!(blobs.size("uploads/2/0").await.unwrap(), None);
        assert_eq!(blobs.size("uploads/2/1").await.unwrap(), None);
    }

    async fn concat_joins_the_parts_in_order_and_shows_every_byte(backend: Backend) {
        let blobs = &backend.blobs;
        // Sizes that end a multipart part in the middle of a source part.
        let sizes = [MIB + 7, 6 * MIB, 3];
        let mut keys = Vec::new();
        let mut expected = Vec::new();
        let mut offset = 0u64;
        for (n, size) in sizes.into_iter().enumerate() {
            let bytes = pattern(offset..offset + size as u64);
            offset += size as u64;
            let key = format!("uploads/3/{n}");
            expected.extend_from_slice(&bytes);
            blobs.put(&key, bytes).await.unwrap();
            keys.push(key);
        }

        let mut inspected = Vec::new();
        let size = blobs.concat(&keys, "files/3", |chunk| inspected.extend_from_slice(chunk)).await.unwrap();
        assert_eq!(size, expected.len() as u64);
        assert!(inspected == expected, "the inspected bytes differ from the parts");
        let stored = blobs.read_all("files/3", size).await.unwrap();
        assert!(stored == expected, "the stored bytes differ from the parts");
        assert_eq!(blobs.size(&keys[0]).await.unwrap(), Some(sizes[0] as u64), "parts stay");

        assert_eq!(blobs.concat(&[], "files/nothing", |_| {}).await.unwrap(), 0);
        assert_eq!(blobs.size("files/nothing").await.unwrap(), Some(0));

        let with_a_gap = [keys[0].clone(), "uploads/3/9".to_owned()];
        assert!(
            matches!(blobs.concat(&with_a_gap, "files/4", |_| {}).await, Err(BlobError::NotFound(key)) if key == "uploads/3/9")
        );
        assert_eq!(blobs.size("files/4").await.unwrap(), None);
    }

    async fn a_deleted_blob_is_not_found(backend: Backend) {
        let blobs = &backend.blobs;
        blobs.put("thumbs/5", Bytes::from_static(b"thumb")).await.unwrap();
        blobs.delete("thumbs/5").await.unwrap();
        assert!(matches!(blobs.get("thumbs/5", None).await, Err(BlobError::NotFound(key)) if key == "thumbs/5"));
        assert!(matches!(blobs.read_all("thumbs/5", 100).await, Err(BlobError::NotFound(_))));
        assert_eq!(blobs.size("thumbs/5").await.unwrap(), None);
        blobs.delete("thumbs/5").await.expect("deleting what is gone is fine");
    }

    async fn a_key_the_service_does_not_make_is_refused(backend: Backend) {
        let blobs = &backend.blobs;
        let too_long = "a".repeat(MAX_KEY_LEN + 1);
        let bad = [
            "",
            "/files/1",
            "files/1/",
            "files//1",
            "../escape",
            "files/../../escape",
            "files/1.png",
            "Files/1",
            "files/1 ",
            "files\\1",
            "files/ü",
            "files/%2e%2e",
            &too_long,
        ];
        let good = "files/ok";
        blobs.put(good, Bytes::from_static(b"ok")).await.unwrap();
        for key in bad {
            let refused = |result: Result<(), BlobError>| matches!(result, Err(BlobError::InvalidKey(k)) if k == key);
            assert!(refused(blobs.put(key, Bytes::from_static(b"x")).await), "put {key:?}");
            assert!(refused(blobs.put_stream(key, chunks(10, 10, false)).await.map(drop)), "put_stream {key:?}");
            assert!(refused(blobs.get(key, None).await.map(drop)), "get {key:?}");
            assert!(refused(blobs.read_all(key, 10).await.map(drop)), "read_all {key:?}");
            assert!(refused(blobs.size(key).await.map(drop)), "size {key:?}");
            assert!(refused(blobs.delete(key).await), "delete {key:?}");
            assert!(refused(blobs.concat(&[good.to_owned()], key, |_| {}).await.map(drop)), "concat into {key:?}");
            assert!(refused(blobs.concat(&[key.to_owned()], good, |_| {}).await.map(drop)), "concat from {key:?}");
        }
        assert_eq!(blobs.read_all(good, 2).await.unwrap(), Bytes::from_static(b"ok"), "a refused concat wrote nothing");
        assert_eq!(backend.progress.stored(), 2, "only the good key reached the backend");
    }

    async fn a_cancelled_write_stores_nothing_and_leaves_no_parts(backend: Backend) {
        let blobs = backend.blobs.clone();
        // A body that delivers 6 MiB (so a part goes out) and then stalls, like a client gone quiet;
        // the request handler is then cancelled.
        let body = chunks(6 * MIB, MIB, false).chain(stream::pending());
        let write = tokio::spawn(async move { blobs.put_stream("uploads/6/0", body).await });
        while backend.progress.parts().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if let Some(unfinished) = backend.unfinished_uploads() {
            assert!(unfinished > 0, "the part that landed should be visible in the backend");
        }
        write.abort();
        assert!(write.await.unwrap_err().is_cancelled());

        // The abort runs in the background.
        for _ in 0..200 {
            if backend.unfinished_uploads().unwrap_or(0) == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(backend.unfinished_uploads().unwrap_or(0), 0, "the multipart upload was not aborted");
        assert_eq!(backend.blobs.size("uploads/6/0").await.unwrap(), None);
    }

    macro_rules! on_every_backend {
        ($($case:ident),* $(,)?) => {
            mod on_disk {
                $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() { super::$case(super::disk().await).await })*
            }
            mod in_memory {
                $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() { super::$case(super::memory().await).await })*
            }
            mod on_s3 {
                $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() { super::$case(super::s3().await).await })*
            }
        };
    }

    on_every_backend!(
        put_then_get_returns_the_bytes_and_a_second_put_replaces_them,
        a_range_read_returns_those_bytes_and_the_whole_size,
        a_large_stream_is_stored_without_running_ahead_of_the_backend,
        a_cut_stream_keeps_what_arrived,
        a_stream_that_delivers_nothing_stores_nothing,
        concat_joins_the_parts_in_order_and_shows_every_byte,
        a_deleted_blob_is_not_found,
        a_key_the_service_does_not_make_is_refused,
        a_cancelled_write_stores_nothing_and_leaves_no_parts,
    );

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn s3_refuses_a_client_signing_with_the_wrong_secret() {
        let backend = s3().await;
        backend.blobs.put("files/signed", Bytes::from_static(b"secret")).await.unwrap();
        let server = backend.s3.as_ref().unwrap();
        let forger = Blobs::s3(&server.config("not-the-secret-key")).unwrap();

        let denied = |result: Result<(), BlobError>| {
            matches!(result, Err(BlobError::Backend { source: object_store::Error::PermissionDenied { .. }, .. }))
        };
        assert!(denied(forger.put("files/forged", Bytes::from_static(b"x")).await));
        assert!(denied(forger.get("files/signed", None).await.map(drop)));
        assert!(denied(forger.delete("files/signed").await));
        assert_eq!(backend.blobs.size("files/forged").await.unwrap(), None);
        assert_eq!(backend.blobs.read_all("files/signed", 6).await.unwrap(), Bytes::from_static(b"secret"));
    }

    #[test]
    fn disk_refuses_a_root_it_cannot_create() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"").unwrap();
        assert!(matches!(Blobs::disk(&file.join("media")), Err(BlobError::Open { backend: "disk", .. })));
    }

    /// What a [`Watched`] store has seen reach its backend.
    #[derive(Default)]
    struct Progress {
        stored: AtomicU64,
        parts: Mutex<Vec<u64>>,
    }

    impl Progress {
        /// Bytes the backend has acknowledged: PUTs done and parts landed.
        fn stored(&self) -> u64 {
            self.stored.load(Ordering::SeqCst)
        }

        /// The sizes of the multipart parts that landed, in order.
        fn parts(&self) -> Vec<u64> {
            self.parts.lock().unwrap().clone()
        }

        fn landed(&self, bytes: usize, part: bool) {
            self.stored.fetch_add(bytes as u64, Ordering::SeqCst);
            if part {
                self.parts.lock().unwrap().push(bytes as u64);
            }
        }
    }

    /// A store that passes everything to `inner` and counts the bytes it acknowledges.
    #[derive(Debug)]
    struct Watched {
        inner: Arc<dyn ObjectStore>,
        progress: Arc<Progress>,
    }

    impl fmt::Debug for Progress {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Progress").field("stored", &self.stored()).finish()
        }
    }

    impl fmt::Display for Watched {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "Watched({})", self.inner)
        }
    }

    #[async_trait::async_trait]
    impl ObjectStore for Watched {
        async fn put_opts(
            &self,
            location: &Path,
            payload: PutPayload,
            opts: PutOptions,
        ) -> object_store::Result<PutResult> {
            let bytes = payload.content_length();
            let result = self.inner.put_opts(location, payload, opts).await?;
            self.progress.landed(bytes, false);
            Ok(result)
        }

        async fn put_multipart_opts(
            &self,
            location: &Path,
            opts: PutMultipartOptions,
        ) -> object_store::Result<Box<dyn MultipartUpload>> {
            let inner = self.inner.put_multipart_opts(location, opts).await?;
            Ok(Box::new(WatchedUpload { inner, progress: self.progress.clone() }))
        }

        async fn get_opts(
            &self,
            location: &Path,
            options: GetOptions,
        ) -> object_store::Result<object_store::GetResult> {
            self.inner.get_opts(location, options).await
        }

        fn delete_stream(
            &self,
            locations: BoxStream<'static, object_store::Result<Path>>,
        ) -> BoxStream<'static, object_store::Result<Path>> {
            self.inner.delete_stream(locations)
        }

        fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
            self.inner.list(prefix)
        }

        async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
            self.inner.list_with_delimiter(prefix).await
        }

        async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> object_store::Result<()> {
            self.inner.copy_opts(from, to, options).await
        }
    }

    #[derive(Debug)]
    struct WatchedUpload {
        inner: Box<dyn MultipartUpload>,
        progress: Arc<Progress>,
    }

    #[async_trait::async_trait]
    impl MultipartUpload for WatchedUpload {
        fn put_part(&mut self, data: PutPayload) -> UploadPart {
            let bytes = data.content_length();
            let part = self.inner.put_part(data);
            let progress = self.progress.clone();
            Box::pin(async move {
                part.await?;
                progress.landed(bytes, true);
                Ok(())
            })
        }

        async fn complete(&mut self) -> object_store::Result<PutResult> {
            self.inner.complete().await
        }

        async fn abort(&mut self) -> object_store::Result<()> {
            self.inner.abort().await
        }
    }

    const BUCKET: &str = "media";
    const ACCESS_KEY: &str = "confab-test-access";
    const SECRET_KEY: &str = "confab-test-secret-key";

    /// An S3 server in this process (`s3s-fs` over a temporary directory) that checks SigV4
    /// signatures against one known key pair.
    struct S3Server {
        endpoint: String,
        accept: JoinHandle<()>,
        root: TempDir,
    }

    impl S3Server {
        async fn start() -> S3Server {
            let root = tempfile::tempdir().unwrap();
            std::fs::create_dir(root.path().join(BUCKET)).unwrap();
            let mut service = s3s::service::S3ServiceBuilder::new(s3s_fs::FileSystem::new(root.path()).unwrap());
            service.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
            let service = service.build();

            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let endpoint = format!("http://{}", listener.local_addr().unwrap());
            let accept = tokio::spawn(async move {
                while let Ok((socket, _)) = listener.accept().await {
                    let connection = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(socket), service.clone());
                    tokio::spawn(connection);
                }
            });
            S3Server { endpoint, accept, root }
        }

        fn config(&self, secret_access_key: &str) -> S3Config {
            S3Config {
                endpoint: Some(self.endpoint.clone()),
                bucket: BUCKET.to_owned(),
                region: "us-east-1".to_owned(),
                access_key_id: ACCESS_KEY.to_owned(),
                secret_access_key: secret_access_key.to_owned(),
                allow_http: true,
            }
        }
    }

    impl Drop for S3Server {
        fn drop(&mut self) {
            self.accept.abort();
        }
    }
}
