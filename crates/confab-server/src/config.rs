//! Configuration: CLI flags > environment (`CONFAB_*`) > config file (TOML) > defaults.
//!
//! Clap merges the first two; the file is read into [`Config`] (whose `Default` holds the
//! defaults) and the flags that were given are written over it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use serde::Deserialize;

pub use crate::limits::Rate;

/// Confab: a self-hosted real-time chat server.
#[derive(Debug, Parser)]
#[command(name = "confab", version, about = "Confab: a self-hosted real-time chat server", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no subcommand is given).
    Serve(ServeArgs),
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// TOML config file; its keys mirror the sections of docs/deployment.md.
    #[arg(long, env = "CONFAB_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "CONFAB_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Directory for the embedded database and local files [default: ./confab-data].
    #[arg(long, env = "CONFAB_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite database.
    #[arg(long, env = "CONFAB_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// `redis://…` for the cluster event bus (several nodes).
    #[arg(long, env = "CONFAB_REDIS_URL", value_name = "URL")]
    pub redis_url: Option<String>,
    /// Log format: `text` or `json` [default: text]. Levels come from `RUST_LOG`.
    #[arg(long, env = "CONFAB_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Allow (`true`) or refuse (`false`) registration of built-in accounts [default: true].
    #[arg(long, env = "CONFAB_REGISTRATION", value_name = "BOOL")]
    pub registration: Option<bool>,
    /// Extra origins allowed to open WebSockets, comma-separated (same origin and localhost always are).
    #[arg(long, env = "CONFAB_ALLOWED_ORIGINS", value_name = "ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Option<Vec<String>>,
    /// Profile page of a user in the host app, e.g. `https://game.example/users/{username}`.
    #[arg(long, env = "CONFAB_PROFILE_LINK", value_name = "TEMPLATE")]
    pub profile_link: Option<String>,
    /// Longest message body, in characters [default: 4000].
    #[arg(long, env = "CONFAB_MAX_MESSAGE_CHARS", value_name = "N")]
    pub max_message_chars: Option<usize>,
    /// External auth: expected `iss` of the host app's tokens.
    #[arg(long, env = "CONFAB_EXTERNAL_ISSUER", value_name = "ISS")]
    pub external_issuer: Option<String>,
    /// External auth: expected `aud` of the host app's tokens.
    #[arg(long, env = "CONFAB_EXTERNAL_AUDIENCE", value_name = "AUD")]
    pub external_audience: Option<String>,
    /// External auth: HS256 shared secret.
    #[arg(long, env = "CONFAB_EXTERNAL_HS256_SECRET", value_name = "SECRET", hide_env_values = true)]
    pub external_hs256_secret: Option<String>,
    /// External auth: PEM file with the host app's RS256 or EdDSA public key.
    #[arg(long, env = "CONFAB_EXTERNAL_PUBLIC_KEY_FILE", value_name = "FILE")]
    pub external_public_key_file: Option<PathBuf>,
    /// External auth: JWKS URL of the host app (cached; refetched on an unknown `kid`).
    #[arg(long, env = "CONFAB_EXTERNAL_JWKS_URL", value_name = "URL")]
    pub external_jwks_url: Option<String>,
    /// External auth: RFC 7662 token introspection endpoint, for opaque tokens.
    #[arg(long, env = "CONFAB_EXTERNAL_INTROSPECTION_URL", value_name = "URL")]
    pub external_introspection_url: Option<String>,
    /// Serve Prometheus metrics at `/metrics` (`true`) or answer 404 there (`false`) [default: true].
    /// Keep `/metrics` off the public internet: it reveals traffic volume.
    #[arg(long, env = "CONFAB_METRICS", value_name = "BOOL")]
    pub metrics: Option<bool>,
    /// Enforce (`true`) or lift (`false`) the per-user and per-IP limits on messages, commands,
    /// tickets and sockets of `[rate_limits]` [default: true]. Login limits stay.
    #[arg(long, env = "CONFAB_RATE_LIMITS", value_name = "BOOL")]
    pub rate_limits: Option<bool>,
    /// Who may frame the web client, comma-separated: origins, `'self'`, `'none'` or `*`
    /// [default: `'self'` and the `allowed_origins`].
    #[arg(long, env = "CONFAB_WEB_FRAME_ANCESTORS", value_name = "ORIGINS", value_delimiter = ',')]
    pub web_frame_ancestors: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid config file {path}: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The whole server configuration. Every field has a default, so an empty file is valid.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `None`: embedded SQLite in `data_dir`.
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    /// The Redis channel of the cluster bus; clusters sharing one Redis need different ones.
    pub redis_channel: String,
    /// In a cluster: how long a conversation's event waits for an earlier one still on its way
    /// from another node before the gap is given up and its recipients are told to resync.
    pub bus_gap_wait_ms: u64,
    pub log_format: LogFormat,
    /// Distinguishes nodes in generated ids, bus envelopes and logs (0–1023). In a cluster it is
    /// leased in Redis (`node_lease.rs`): a free one when unset, and a node whose id another live
    /// node holds does not start. Alone, random when unset.
    pub node_id: Option<u16>,
    pub auth: AuthConfig,
    pub gateway: GatewayConfig,
    pub limits: LimitsConfig,
    pub rate_limits: RateLimitsConfig,
    pub presence: PresenceConfig,
    pub profiles: ProfilesConfig,
    /// Activities of the host app that members can invite each other to (`[[activities]]`).
    pub activities: Vec<ActivityConfig>,
    pub invitations: InvitationsConfig,
    pub notifications: NotificationsConfig,
    pub webhooks: WebhookConfig,
    pub metrics: MetricsConfig,
    pub web: WebConfig,
    pub media: MediaConfig,
    pub egress: EgressConfig,
    pub previews: PreviewsConfig,
    pub tones: TonesConfig,
    pub stickers: StickersConfig,
    pub gifs: GifsConfig,
}

/// Every request Confab makes to another host (`egress/`, docs/security.md).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EgressConfig {
    /// `host:port` entries reached even when they resolve to a private address (a host app on
    /// the internal network that link previews should reach too). The hosts of the URLs
    /// configured for the host app (webhooks, JWKS, introspection) need no entry here: each is
    /// trusted by the service it was configured for, and only by it.
    pub allow: Vec<String>,
}

/// Link previews (`previews/`, docs/protocol.md "Link previews").
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PreviewsConfig {
    /// The server-wide switch; each conversation has its own too.
    pub enabled: bool,
    /// How long a fetched page's preview is reused; a failed fetch is remembered for a tenth.
    pub cache_secs: u64,
    /// Providers asked by oEmbed instead of reading the page.
    pub oembed: Vec<OembedProvider>,
}

impl Default for PreviewsConfig {
    fn default() -> Self {
        PreviewsConfig { enabled: true, cache_secs: 24 * 3600, oembed: Vec::new() }
    }
}

/// A provider whose pages are described by its oEmbed endpoint (`https://www.youtube.com/oembed`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OembedProvider {
    /// Hosts whose links this provider describes (`youtube.com`, `www.youtube.com`).
    pub hosts: Vec<String>,
    pub endpoint: String,
}

/// Sticker packs (`stickers/`, docs/protocol.md "Stickers").
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StickersConfig {
    /// Usernames of the accounts that manage the server's packs. Until server roles exist,
    /// this list is what makes someone a sticker admin.
    pub admins: Vec<String>,
    pub max_packs: u32,
    pub max_per_pack: u32,
}

impl Default for StickersConfig {
    fn default() -> Self {
        StickersConfig { admins: Vec::new(), max_packs: 100, max_per_pack: 200 }
    }
}

/// GIF search through a Tenor-v2-compatible provider (`gifs/`, docs/protocol.md "GIFs"): the
/// server asks it, so users' queries and addresses never reach it. Off without `provider_url`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GifsConfig {
    /// The API root: `https://tenor.googleapis.com/v2`.
    pub provider_url: Option<String>,
    pub api_key: String,
    /// Sent as `client_key`, which the provider uses to tell integrations apart.
    pub client_key: String,
    /// `off`, `low`, `medium` or `high` (Tenor's `contentfilter`).
    pub content_filter: String,
    /// Shown under the results, as the provider's terms ask.
    pub attribution: String,
    /// Results per page (1–50).
    pub limit: u32,
}

impl Default for GifsConfig {
    fn default() -> Self {
        GifsConfig {
            provider_url: None,
            api_key: String::new(),
            client_key: "confab".into(),
            content_filter: "medium".into(),
            attribution: "Powered by Tenor".into(),
            limit: 24,
        }
    }
}

/// Tone indicators (`messages/tones.rs`): the built-in list plus the host app's own.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TonesConfig {
    pub extra: Vec<ToneConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToneConfig {
    /// Without the slash: `gg`.
    pub code: String,
    pub meaning: String,
}

/// Files and images (`media/`, docs/media.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// Largest file, in bytes (`Upload-Length`).
    pub max_file_bytes: u64,
    /// Bytes one user's uploads may hold in all (unfinished, unused and attached ones).
    pub quota_bytes: u64,
    /// Unfinished uploads one user may have at once.
    pub max_open_uploads: u32,
    /// How long an upload that no message uses is kept after its last byte or its creation.
    pub upload_expiry_secs: u64,
    /// Images: the largest width or height, pixel count, frame count of an animation, and
    /// file size read into memory to strip and scale. Larger images are refused
    /// (`image_too_large`) before anything is decoded.
    pub max_image_side: u32,
    pub max_image_pixels: u64,
    pub max_image_frames: u32,
    pub max_image_bytes: u64,
    /// Images decoded at once on this node (each may take up to `max_decode_bytes`).
    pub decode_concurrency: usize,
    pub max_decode_bytes: u64,
    /// Images larger than this (either side) get a thumbnail of this size.
    pub thumbnail_side: u32,
    /// Side of the square avatars made from avatar uploads.
    pub avatar_side: u32,
    /// An origin (`https://media.example-cdn.net`) that serves `/api/v1/media/…` and
    /// `/api/v1/avatars/…` of this server, ideally on another registrable domain than the web
    /// client; attachment URLs then point there. `None`: relative URLs, same origin.
    pub public_origin: Option<String>,
    /// Where file bytes are kept: `disk` or `s3`.
    pub storage: StorageKind,
    /// With `disk`: the directory (by default `data_dir/media`); nodes of a cluster may share one
    /// on a network file system instead of a bucket.
    pub disk_path: Option<PathBuf>,
    pub s3: Option<S3Settings>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageKind {
    Disk,
    S3,
}

/// An S3-compatible bucket (AWS, MinIO, Garage, Ceph…), signed with SigV4, path-style requests.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    /// `None`: AWS for `region`.
    pub endpoint: Option<String>,
    pub bucket: String,
    #[serde(default = "default_region")]
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Allow an `http://` endpoint (a bucket on the same host or network).
    #[serde(default)]
    pub allow_http: bool,
}

fn default_region() -> String {
    "us-east-1".to_owned()
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive() // the secret stays out of logs
    }
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            max_file_bytes: 100 << 20,
            quota_bytes: 2 << 30,
            max_open_uploads: 20,
            upload_expiry_secs: 24 * 3600,
            max_image_side: 16_384,
            max_image_pixels: 40_000_000,
            max_image_frames: 500,
            max_image_bytes: 32 << 20,
            decode_concurrency: 2,
            max_decode_bytes: 160 << 20,
            thumbnail_side: 480,
            avatar_side: 256,
            public_origin: None,
            storage: StorageKind::Disk,
            disk_path: None,
            s3: None,
        }
    }
}

/// The web client served at `/`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// The CSP `frame-ancestors` of the client: the sites that may embed it in an iframe.
    /// `None`: `'self'` plus `gateway.allowed_origins` (the host app's origins).
    pub frame_ancestors: Option<Vec<String>>,
}

impl Config {
    /// The sources of the web client's `frame-ancestors`, the configured ones or the default.
    pub fn frame_ancestors(&self) -> Vec<String> {
        match &self.web.frame_ancestors {
            Some(list) => list.clone(),
            // An allowed origin that is no CSP source (a typo) is left out rather than failing startup.
            None => std::iter::once("'self'".to_owned())
                .chain(
                    self.gateway
                        .allowed_origins
                        .iter()
                        .filter(|o| o.contains("://") && valid_frame_ancestor(o))
                        .cloned(),
                )
                .collect(),
        }
    }
}

/// One `frame-ancestors` source: `'self'`, `'none'`, `*`, or `http(s)://host[:port]` (a host may
/// start with `*.`). Nothing else, so that a value can never add a directive to the CSP.
fn valid_frame_ancestor(source: &str) -> bool {
    if matches!(source, "'self'" | "'none'" | "*") {
        return true;
    }
    let Some(rest) = source.strip_prefix("https://").or_else(|| source.strip_prefix("http://")) else {
        return false;
    };
    let (host, port) = rest.split_once(':').unwrap_or((rest, ""));
    let host = host.strip_prefix("*.").unwrap_or(host);
    !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && (port.is_empty() || (port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())))
}

/// `GET /metrics` (Prometheus text format). It carries no user data but reveals traffic volume,
/// so operators keep it reachable from their monitoring only (a proxy rule or a firewall); see
/// docs/deployment.md.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// `false`: `/metrics` answers 404 (the counters still run; they cost an atomic add each).
    pub enabled: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { enabled: true }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityConfig {
    /// Short id used in requests, e.g. `pong`.
    pub id: String,
    /// Shown to users, e.g. `a game of Pong`.
    pub label: String,
    /// Called (signed) when an invitation is accepted; its JSON answer is relayed to the players.
    pub webhook_url: String,
    /// HMAC key shared with the host app for this activity.
    pub secret: String,
    /// How long an invitation stays open [default: invitations.default_ttl_secs].
    pub ttl_secs: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InvitationsConfig {
    pub default_ttl_secs: u64,
    /// How often pending invitations past their time are expired.
    pub sweep_interval_ms: u64,
}

impl Default for InvitationsConfig {
    fn default() -> Self {
        InvitationsConfig { default_ttl_secs: 600, sweep_interval_ms: 5000 }
    }
}

/// Offline delivery: notifications for users with no connected session are posted, batched per
/// user, to the host app so that it can send an e-mail or a push notification. Off unless
/// `webhook_url` is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    pub webhook_url: Option<String>,
    pub secret: Option<String>,
    /// Notifications of one user within this window go in one request.
    pub batch_window_ms: u64,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        NotificationsConfig { webhook_url: None, secret: None, batch_window_ms: 2000 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Per attempt.
    pub timeout_ms: u64,
    /// Attempts after the first.
    pub retries: u32,
    /// Wait before the first retry; doubles each time.
    pub backoff_ms: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig { timeout_ms: 5000, retries: 3, backoff_ms: 500 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PresenceConfig {
    /// How long a user stays online after their last session closes, so that a reload or a
    /// flaky network causes no offline/online flap.
    pub grace_ms: u64,
    /// In a cluster: a node that has not refreshed its liveness for this long is considered dead
    /// and its sessions are swept (users go offline within about 4/3 of it).
    pub node_ttl_secs: u64,
    /// Presence changes are pushed to the members of groups up to this size. In larger groups
    /// every connect would fan out to everyone (a community of thousands coming online sends
    /// millions of events); their members read presence from the conversation endpoints.
    pub push_group_limit: u32,
}

impl Default for PresenceConfig {
    fn default() -> Self {
        PresenceConfig { grace_ms: 5000, node_ttl_secs: 15, push_group_limit: 100 }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfilesConfig {
    /// The host app's profile page of a user, e.g. `https://game.example/users/{username}`;
    /// `{username}`, `{id}` and `{external_id}` (the host app's `sub`) are filled in.
    pub link_template: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Whether `POST /auth/register` creates accounts.
    pub registration: bool,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// Login attempts allowed per client IP per minute.
    pub login_attempts_per_ip_per_minute: u32,
    /// Login attempts allowed per username per minute.
    pub login_attempts_per_username_per_minute: u32,
    /// Registrations allowed per client IP per hour.
    pub registrations_per_ip_per_hour: u32,
    pub external: Option<ExternalAuthConfig>,
}

/// Trust in the host app's tokens. Exactly one of the key sources must be set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExternalAuthConfig {
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub hs256_secret: Option<String>,
    /// PEM (SPKI) of an RSA or Ed25519 public key.
    pub public_key_pem: Option<String>,
    pub public_key_file: Option<PathBuf>,
    pub jwks_url: Option<String>,
    pub introspection_url: Option<String>,
    /// HTTP Basic credentials for the introspection endpoint, when it asks for them.
    pub introspection_client_id: Option<String>,
    pub introspection_client_secret: Option<String>,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway_secs: u64,
    /// How long a fetched JWKS is trusted before it is fetched again.
    pub jwks_cache_secs: u64,
    /// Shortest time between two JWKS fetches caused by unknown `kid`s.
    pub jwks_min_refetch_secs: u64,
    /// How long an introspection answer is reused (never past the token's `exp`).
    pub introspection_cache_secs: u64,
    /// Timeout of each call to the JWKS or introspection endpoint.
    pub http_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Origins (`scheme://host[:port]`) allowed besides the server's own origin and localhost.
    pub allowed_origins: Vec<String>,
    pub heartbeat_secs: u64,
    pub idle_timeout_secs: u64,
    /// Largest WebSocket message read; bigger ones close the connection with 1009.
    pub max_frame_bytes: usize,
    /// Events queued for one session before it is closed as a slow consumer (4008).
    pub outbound_queue: usize,
    /// Read and write buffer of each socket. Small buffers keep idle connections cheap (the read
    /// buffer is allocated up front); a larger frame is still read whole, in several reads.
    pub socket_buffer_bytes: usize,
    /// Bad frames tolerated per minute before the connection is closed (4002).
    pub max_bad_frames_per_minute: u32,
    /// Longest a WebSocket command may run before it is answered with `unavailable`.
    pub command_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    pub max_message_chars: usize,
    /// Most members a group may have, its owner included.
    pub max_group_members: usize,
    /// Largest REST request body.
    pub max_request_bytes: usize,
    /// Time a client has to send a request's headers (the WebSocket handshake included), from
    /// connecting or from the previous answer: silent and half-sent connections are closed.
    pub header_read_timeout_secs: u64,
}

/// What one user and one client IP may send. Rates are written `"300/10s"`, `"30/min"`, or
/// `"off"`; a cap of 0 is no cap. Per-IP limits count the TCP peer address: behind a reverse
/// proxy that is the proxy, so raise or turn off the `_per_ip` ones there.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitsConfig {
    /// `false` lifts every limit of this section (benchmarks, trusted load tests).
    pub enabled: bool,
    /// Messages sent (REST and WebSocket) per user; counted cluster-wide with Redis.
    pub messages_per_user: Rate,
    pub messages_per_ip: Rate,
    /// A bot's messages, instead of `messages_per_user` (docs/bots.md).
    pub messages_per_bot: Rate,
    /// WebSocket commands of any kind (sends, typing, reads, reactions, …).
    pub commands_per_user: Rate,
    pub commands_per_ip: Rate,
    /// `POST /ws-ticket`.
    pub tickets_per_user: Rate,
    pub tickets_per_ip: Rate,
    /// Uploads created (`POST /api/v1/uploads`); bytes are bounded by `media.max_file_bytes`
    /// and `media.quota_bytes`.
    pub uploads_per_user: Rate,
    pub uploads_per_ip: Rate,
    /// Open WebSockets on one node.
    pub sockets_per_user: u32,
    pub sockets_per_ip: u32,
}

impl Default for RateLimitsConfig {
    fn default() -> Self {
        RateLimitsConfig {
            enabled: true,
            messages_per_user: Rate::per_secs(300, 10),
            messages_per_ip: Rate::per_secs(3000, 10),
            messages_per_bot: Rate::per_secs(100, 10),
            commands_per_user: Rate::per_secs(600, 10),
            commands_per_ip: Rate::per_secs(6000, 10),
            tickets_per_user: Rate::per_secs(30, 60),
            tickets_per_ip: Rate::per_secs(300, 60),
            uploads_per_user: Rate::per_secs(60, 60),
            uploads_per_ip: Rate::per_secs(600, 60),
            sockets_per_user: 64,
            sockets_per_ip: 1024,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("confab-data"),
            database_url: None,
            redis_url: None,
            redis_channel: "confab:events".to_owned(),
            bus_gap_wait_ms: 250,
            log_format: LogFormat::Text,
            node_id: None,
            auth: AuthConfig::default(),
            gateway: GatewayConfig::default(),
            limits: LimitsConfig::default(),
            rate_limits: RateLimitsConfig::default(),
            presence: PresenceConfig::default(),
            profiles: ProfilesConfig::default(),
            activities: Vec::new(),
            invitations: InvitationsConfig::default(),
            notifications: NotificationsConfig::default(),
            webhooks: WebhookConfig::default(),
            metrics: MetricsConfig::default(),
            web: WebConfig::default(),
            media: MediaConfig::default(),
            egress: EgressConfig::default(),
            previews: PreviewsConfig::default(),
            tones: TonesConfig::default(),
            stickers: StickersConfig::default(),
            gifs: GifsConfig::default(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            registration: true,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            login_attempts_per_ip_per_minute: 30,
            login_attempts_per_username_per_minute: 10,
            registrations_per_ip_per_hour: 30,
            external: None,
        }
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            allowed_origins: Vec::new(),
            heartbeat_secs: 25,
            idle_timeout_secs: 60,
            max_frame_bytes: 64 * 1024,
            outbound_queue: 1024,
            socket_buffer_bytes: 1024,
            max_bad_frames_per_minute: 20,
            command_timeout_secs: 10,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_message_chars: 4000,
            max_group_members: 1000,
            max_request_bytes: 64 * 1024,
            header_read_timeout_secs: 10,
        }
    }
}

impl ExternalAuthConfig {
    fn with_defaults(mut self) -> Self {
        let d = |v: &mut u64, default: u64| {
            if *v == 0 {
                *v = default;
            }
        };
        d(&mut self.leeway_secs, 30);
        d(&mut self.jwks_cache_secs, 600);
        d(&mut self.jwks_min_refetch_secs, 30);
        d(&mut self.introspection_cache_secs, 30);
        d(&mut self.http_timeout_ms, 5000);
        self
    }
}

impl Config {
    /// Builds the configuration from the command line (and, through clap, the environment),
    /// reading the config file it names.
    pub fn load(args: ServeArgs) -> Result<Config, ConfigError> {
        let mut config = match &args.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        config.apply(args)?;
        config.validate()?;
        Ok(config)
    }

    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.into(), source })
    }

    fn apply(&mut self, args: ServeArgs) -> Result<(), ConfigError> {
        if let Some(v) = args.listen {
            self.listen = v;
        }
        if let Some(v) = args.data_dir {
            self.data_dir = v;
        }
        if args.database_url.is_some() {
            self.database_url = args.database_url;
        }
        if args.redis_url.is_some() {
            self.redis_url = args.redis_url;
        }
        if let Some(v) = args.log_format {
            self.log_format = v;
        }
        if let Some(v) = args.registration {
            self.auth.registration = v;
        }
        if let Some(v) = args.allowed_origins {
            self.gateway.allowed_origins = v;
        }
        if args.profile_link.is_some() {
            self.profiles.link_template = args.profile_link;
        }
        if let Some(v) = args.max_message_chars {
            self.limits.max_message_chars = v;
        }
        if let Some(v) = args.metrics {
            self.metrics.enabled = v;
        }
        if let Some(v) = args.rate_limits {
            self.rate_limits.enabled = v;
        }
        if args.web_frame_ancestors.is_some() {
            self.web.frame_ancestors = args.web_frame_ancestors;
        }
        let external_flags = [
            args.external_issuer.is_some(),
            args.external_audience.is_some(),
            args.external_hs256_secret.is_some(),
            args.external_public_key_file.is_some(),
            args.external_jwks_url.is_some(),
            args.external_introspection_url.is_some(),
        ];
        if external_flags.iter().any(|given| *given) {
            let ext = self.auth.external.get_or_insert_with(ExternalAuthConfig::default);
            let set = |slot: &mut Option<String>, v: Option<String>| {
                if v.is_some() {
                    *slot = v;
                }
            };
            set(&mut ext.issuer, args.external_issuer);
            set(&mut ext.audience, args.external_audience);
            set(&mut ext.hs256_secret, args.external_hs256_secret);
            set(&mut ext.jwks_url, args.external_jwks_url);
            set(&mut ext.introspection_url, args.external_introspection_url);
            if args.external_public_key_file.is_some() {
                ext.public_key_file = args.external_public_key_file;
            }
        }
        Ok(())
    }

    /// Checks what serde cannot, and fills the zero-means-default fields of external auth.
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        let invalid = |msg: &str| Err(ConfigError::Invalid(msg.to_owned()));
        if self.redis_url.is_some() && self.database_url.is_none() {
            // Nodes of a cluster must share one database; an embedded SQLite file cannot be shared.
            return invalid("redis_url (a cluster) needs database_url: every node must use the same PostgreSQL");
        }
        if self.node_id.is_some_and(|id| id > crate::node_lease::MAX_NODE_ID) {
            // Generated ids keep 10 bits of it: 1 and 1025 would make the same ids.
            return invalid("node_id must be between 0 and 1023");
        }
        for (i, activity) in self.activities.iter().enumerate() {
            let valid_id = !activity.id.is_empty()
                && activity.id.len() <= 64
                && activity.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !valid_id || self.activities[..i].iter().any(|a| a.id == activity.id) {
                return invalid("activities: each needs a unique id of [A-Za-z0-9_-], up to 64 characters");
            }
            if !(activity.webhook_url.starts_with("http://") || activity.webhook_url.starts_with("https://")) {
                return invalid("activities: webhook_url must be an http or https URL");
            }
            if activity.secret.len() < 16 {
                return invalid("activities: secret must be at least 16 bytes");
            }
        }
        if self
            .egress
            .allow
            .iter()
            .any(|a| a.rsplit_once(':').is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err()))
        {
            return invalid("egress.allow: each entry is host:port (example.internal:8080, [fd00::1]:80)");
        }
        for provider in &self.previews.oembed {
            if !provider.endpoint.starts_with("https://") && !provider.endpoint.starts_with("http://") {
                return invalid("previews.oembed: endpoint must be an http or https URL");
            }
        }
        if let Some(url) = &self.gifs.provider_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return invalid("gifs.provider_url must be an http or https URL");
        }
        if !(1..=50).contains(&self.gifs.limit)
            || !["off", "low", "medium", "high"].contains(&self.gifs.content_filter.as_str())
        {
            return invalid("gifs: limit is 1–50 and content_filter one of off, low, medium, high");
        }
        if self.stickers.max_packs == 0 || self.stickers.max_per_pack == 0 {
            return invalid("stickers: max_packs and max_per_pack must be at least 1");
        }
        if self.notifications.webhook_url.is_some() && self.notifications.secret.as_ref().is_none_or(|s| s.len() < 16) {
            return invalid("notifications: a webhook_url needs a secret of at least 16 bytes");
        }
        if self.media.storage == StorageKind::S3 && self.media.s3.is_none() {
            return invalid(
                "media.storage = \"s3\" needs a [media.s3] section (bucket, access_key_id, secret_access_key)",
            );
        }
        if let Some(origin) = &self.media.public_origin
            && !((origin.starts_with("https://") || origin.starts_with("http://")) && valid_frame_ancestor(origin))
        {
            return invalid("media.public_origin must be an origin: http(s)://host[:port], no path");
        }
        if self.media.decode_concurrency == 0 || self.media.thumbnail_side < 16 || self.media.avatar_side < 16 {
            return invalid("media: decode_concurrency must be at least 1, thumbnail_side and avatar_side at least 16");
        }
        if let Some(template) = &self.profiles.link_template
            && !(template.starts_with("https://") || template.starts_with("http://"))
        {
            return invalid("profiles.link_template must be an http or https URL");
        }
        if self.limits.header_read_timeout_secs == 0 {
            return invalid("limits.header_read_timeout_secs must be at least 1");
        }
        if let Some(ancestors) = &self.web.frame_ancestors
            && (ancestors.is_empty()
                || !ancestors.iter().all(|a| valid_frame_ancestor(a))
                || (ancestors.len() > 1 && ancestors.iter().any(|a| a == "'none'")))
        {
            return invalid("web.frame_ancestors takes origins (https://host[:port]), 'self', 'none' (alone) or *");
        }
        if self.limits.max_message_chars == 0 {
            return invalid("limits.max_message_chars must be at least 1");
        }
        if self.gateway.command_timeout_secs == 0 {
            return invalid("gateway.command_timeout_secs must be at least 1");
        }
        if self.gateway.outbound_queue == 0 || self.gateway.max_frame_bytes < 1024 {
            return invalid("gateway.outbound_queue must be positive and gateway.max_frame_bytes at least 1024");
        }
        if self.presence.node_ttl_secs < 2 {
            return invalid("presence.node_ttl_secs must be at least 2");
        }
        if self.gateway.heartbeat_secs == 0 || self.gateway.idle_timeout_secs <= self.gateway.heartbeat_secs {
            return invalid("gateway.idle_timeout_secs must exceed gateway.heartbeat_secs (> 0)");
        }
        if let Some(ext) = self.auth.external.take() {
            let mut ext = ext.with_defaults();
            if let Some(path) = ext.public_key_file.take() {
                let pem = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path, source })?;
                ext.public_key_pem = Some(pem);
            }
            let sources = [
                ext.hs256_secret.is_some(),
                ext.public_key_pem.is_some(),
                ext.jwks_url.is_some(),
                ext.introspection_url.is_some(),
            ];
            if sources.iter().filter(|s| **s).count() != 1 {
                return invalid(
                    "auth.external needs exactly one of hs256_secret, public_key_pem/public_key_file, jwks_url, introspection_url",
                );
            }
            if ext.introspection_url.is_none() && (ext.issuer.is_none() || ext.audience.is_none()) {
                return invalid("auth.external needs issuer and audience to verify JWTs");
            }
            if ext.issuer.as_deref() == Some(crate::auth::tokens::INTERNAL_ISSUER) {
                return invalid("auth.external.issuer must differ from Confab's own issuer \"confab\"");
            }
            if ext.hs256_secret.as_ref().is_some_and(|s| s.len() < 32) {
                return invalid("auth.external.hs256_secret must be at least 32 bytes");
            }
            self.auth.external = Some(ext);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_which_overrides_defaults() {
        let mut config: Config = toml::from_str(
            r#"
            listen = "0.0.0.0:9000"
            data_dir = "/var/lib/confab"
            [limits]
            max_message_chars = 100
            "#,
        )
        .unwrap();
        let args = ServeArgs { listen: Some("127.0.0.1:7000".parse().unwrap()), ..ServeArgs::default() };
        config.apply(args).unwrap();
        config.validate().unwrap();
        assert_eq!(config.listen.port(), 7000);
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/confab"));
        assert_eq!(config.limits.max_message_chars, 100);
        assert_eq!(config.limits.max_request_bytes, LimitsConfig::default().max_request_bytes);
    }

    #[test]
    fn rate_limits_are_read_from_the_file_and_lifted_by_the_flag() {
        let mut config: Config = toml::from_str(
            "[rate_limits]\nmessages_per_user = \"5/2s\"\ntickets_per_ip = \"off\"\nsockets_per_user = 3",
        )
        .unwrap();
        assert_eq!(config.rate_limits.messages_per_user, Rate::per_secs(5, 2));
        assert!(config.rate_limits.tickets_per_ip.is_off());
        assert_eq!(config.rate_limits.sockets_per_user, 3);
        assert_eq!(config.rate_limits.commands_per_user, RateLimitsConfig::default().commands_per_user);
        assert!(toml::from_str::<Config>("[rate_limits]\nmessages_per_user = \"lots\"").is_err());
        config.apply(ServeArgs { rate_limits: Some(false), ..ServeArgs::default() }).unwrap();
        assert!(!config.rate_limits.enabled);
    }

    #[test]
    fn metrics_are_served_unless_turned_off() {
        assert!(Config::default().metrics.enabled);
        let mut config: Config = toml::from_str("[metrics]\nenabled = false").unwrap();
        assert!(!config.metrics.enabled);
        config.apply(ServeArgs { metrics: Some(true), ..ServeArgs::default() }).unwrap();
        assert!(config.metrics.enabled, "the flag wins over the file");
    }

    #[test]
    fn frame_ancestors_default_to_self_and_the_host_app_origins() {
        let mut config: Config = toml::from_str("[gateway]\nallowed_origins = [\"https://game.example\"]").unwrap();
        config.validate().unwrap();
        assert_eq!(config.frame_ancestors(), ["'self'", "https://game.example"]);
        let args =
            ServeArgs { web_frame_ancestors: Some(vec!["https://a.example:8443".into()]), ..ServeArgs::default() };
        config.apply(args).unwrap();
        config.validate().unwrap();
        assert_eq!(config.frame_ancestors(), ["https://a.example:8443"], "the flag replaces the default");
    }

    #[test]
    fn frame_ancestors_that_could_change_the_policy_are_refused() {
        for bad in ["https://a.example; script-src *", "javascript:x", "a.example", "'unsafe-inline'", "https://", ""] {
            let mut config = Config::default();
            config.web.frame_ancestors = Some(vec![bad.to_owned()]);
            assert!(matches!(config.validate(), Err(ConfigError::Invalid(_))), "{bad:?} is refused");
        }
        let mut config = Config::default();
        config.web.frame_ancestors = Some(vec!["'none'".into(), "https://a.example".into()]);
        assert!(config.validate().is_err(), "'none' stands alone");
        config.web.frame_ancestors = Some(vec![]);
        assert!(config.validate().is_err(), "an empty list is refused, not read as 'none'");
    }

    #[test]
    fn unknown_keys_and_ambiguous_external_auth_are_refused() {
        assert!(toml::from_str::<Config>("lisen = \"x\"").is_err());
        let mut config: Config = toml::from_str(
            r#"
            [auth.external]
            issuer = "https://app"
            audience = "confab"
            hs256_secret = "0123456789abcdef0123456789abcdef"
            jwks_url = "https://app/jwks"
            "#,
        )
        .unwrap();
        assert!(matches!(config.validate(), Err(ConfigError::Invalid(_))));
    }
}
