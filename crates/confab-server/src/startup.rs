//! Startup: wires the services together into an [`App`] and binds the listener ([`Application`]).
//! The binary and the tests build the server the same way; tests bind port 0 and ask `port()`.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::app::App;
use crate::auth::Auth;
use crate::auth::external::ExternalAuth;
use crate::bots::Bots;
use crate::config::{Config, ConfigError, StorageKind};
use crate::conversations::{ConversationDeps, Conversations};
use crate::egress::{Egress, SystemLookup};
use crate::gifs::Gifs;
use crate::http;
use crate::hub::Hub;
use crate::hub::bus::{Bus, Invalidation};
use crate::ids::IdGenerator;
use crate::invitations::{InvitationDeps, Invitations};
use crate::limits::Traffic;
use crate::media::storage::S3Config;
use crate::media::{Blobs, Media, MediaDeps};
use crate::messages::tones::Tones;
use crate::messages::{MessageDeps, Messages};
use crate::metrics::Metrics;
use crate::node_lease::{MAX_NODE_ID, NodeLease};
use crate::notifications::{Notifications, OfflineDelivery};
use crate::people::{Blocks, Contacts};
use crate::presence::Presence;
use crate::previews::{PreviewDeps, Previews};
use crate::render::Renderer;
use crate::shutdown::{self, ShutdownTrigger};
use crate::stickers::Stickers;
use crate::store::{Store, StoreError};
use crate::sync::Sync;
use crate::tasks::Tasks;
use crate::timeline::Timeline;
use crate::users::Users;
use crate::webhooks::Webhooks;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("{0}")]
    Other(String),
}

/// Applies the cache invalidations other nodes announce.
fn spawn_invalidation_listener(tasks: &Tasks, hub: &Arc<Hub>, conversations: Arc<Conversations>, blocks: Arc<Blocks>) {
    let mut invalidations = hub.invalidations();
    tasks.spawn_worker("cache invalidations", |mut shutdown| async move {
        loop {
            let received = tokio::select! {
                received = invalidations.recv() => received,
                () = shutdown.wait() => return,
            };
            match received {
                Ok(Invalidation::Membership { conversation }) => conversations.forget_membership(conversation),
                Ok(Invalidation::Blocks { user }) => blocks.forget_user(user),
                // Missed some: any cached entry may be stale, so drop them all.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    tracing::warn!("missed cache invalidations; clearing caches");
                    conversations.forget_all_memberships();
                    blocks.forget_all();
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

/// A server bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    app: Arc<App>,
    trigger: ShutdownTrigger,
}

/// How long shutdown waits for background tasks after the last request: webhook retries past it
/// are given up (and logged by name).
const BACKGROUND_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Name of the access-token signing key in `server_secrets`.
const TOKEN_KEY: &str = "access_token_hs256";

impl Application {
    pub async fn build(config: Config) -> Result<Application, StartError> {
        // reqwest is built without a default TLS provider (one crypto backend: ring).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = Store::open(config.database_url.as_deref(), &config.data_dir).await?;
        let mut candidate = [0u8; 32];
        rand::fill(&mut candidate);
        let token_secret = store.secret_or_insert(TOKEN_KEY, &candidate).await?;

        // Every background task from here on stops with the server, and shutdown waits for it.
        let (trigger, shutdown) = shutdown::channel();
        let tasks = Tasks::new(shutdown.clone());

        let redis_error = |e: redis::RedisError| StartError::Other(format!("cannot connect to Redis: {e}"));
        // One connection for the node id lease, sessions and users; the bus and presence have their own.
        let cluster_conn = match &config.redis_url {
            Some(url) => Some(
                redis::Client::open(url.as_str())
                    .map_err(redis_error)?
                    .get_connection_manager_with_config(crate::hub::bus::bounded_config())
                    .await
                    .map_err(redis_error)?,
            ),
            None => None,
        };
        let lease = match &cluster_conn {
            Some(conn) => {
                let ttl = std::time::Duration::from_secs(config.presence.node_ttl_secs);
                let lease = NodeLease::acquire(conn.clone(), &config.redis_channel, config.node_id, ttl)
                    .await
                    .map_err(|e| StartError::Other(e.to_string()))?;
                Some(lease)
            }
            None => None,
        };
        let node_id = match &lease {
            Some(lease) => lease.id,
            None => config.node_id.unwrap_or_else(|| rand::random::<u16>() % (MAX_NODE_ID + 1)),
        };
        let ids = Arc::new(IdGenerator::new(node_id));
        let metrics = Arc::new(Metrics::new(node_id, config.redis_url.is_some()));
        let hub = Arc::new(Hub::new(metrics.clone()));
        // Every outbound request goes through the egress guard; the host app's own URLs are
        // trusted only by the services configured with them.
        let client_error = |e: reqwest::Error| StartError::Other(format!("cannot build the HTTP client: {e}"));
        let egress = Egress::new(config.egress.allow.clone(), Arc::new(SystemLookup)).map_err(client_error)?;
        let external = match &config.auth.external {
            Some(external) => Some(ExternalAuth::new(external, &egress)?),
            None => None,
        };
        let webhook_urls = config.activities.iter().map(|a| a.webhook_url.as_str());
        let webhook_urls = webhook_urls.chain(config.notifications.webhook_url.as_deref());
        let webhooks = Webhooks::new(egress.trusting(webhook_urls).map_err(client_error)?, config.webhooks.clone());
        let offline = match (&config.notifications.webhook_url, &config.notifications.secret) {
            (Some(url), Some(secret)) => Some(OfflineDelivery::start(
                webhooks.clone(),
                url.clone(),
                secret.clone(),
                std::time::Duration::from_millis(config.notifications.batch_window_ms),
                ids.clone(),
                &tasks,
            )),
            _ => None,
        };
        let users = Arc::new(Users::new(store.clone(), ids.clone(), config.profiles.link_template.clone()));
        let blocks = Arc::new(Blocks::new(store.clone(), users.clone(), hub.clone()));
        let presence =
            Arc::new(Presence::new(store.clone(), hub.clone(), blocks.clone(), &config.presence, tasks.clone()));
        let notifications = Arc::new(Notifications::new(
            store.clone(),
            ids.clone(),
            hub.clone(),
            blocks.clone(),
            presence.clone(),
            offline,
        ));
        let contacts = Contacts::new(
            store.clone(),
            users.clone(),
            blocks.clone(),
            presence.clone(),
            hub.clone(),
            notifications.clone(),
        );
        let auth = Auth::new(
            config.auth.clone(),
            &token_secret,
            external,
            store.clone(),
            users.clone(),
            ids.clone(),
            hub.clone(),
        );
        let timeline = Arc::new(Timeline::new(ids.clone()));
        let render = Renderer::new(store.clone(), config.media.public_origin.as_deref());
        let blobs = open_blobs(&config)?;
        let conversations = Arc::new(Conversations::new(
            ConversationDeps {
                store: store.clone(),
                ids: ids.clone(),
                users: users.clone(),
                hub: hub.clone(),
                timeline: timeline.clone(),
                blocks: blocks.clone(),
                presence: presence.clone(),
                render: render.clone(),
            },
            config.limits.clone(),
        ));
        let media = Arc::new(Media::new(
            MediaDeps {
                store: store.clone(),
                blobs,
                ids: ids.clone(),
                conversations: conversations.clone(),
                users: users.clone(),
                blocks: blocks.clone(),
                presence: presence.clone(),
                render: render.clone(),
            },
            config.media.clone(),
        ));
        let tones = Arc::new(Tones::new(&config.tones.extra)?);
        let (preview_queue, preview_jobs) = tokio::sync::mpsc::channel(crate::messages::links::QUEUE);
        let messages = Arc::new(Messages::new(
            MessageDeps {
                store: store.clone(),
                ids: ids.clone(),
                conversations: conversations.clone(),
                hub: hub.clone(),
                timeline: timeline.clone(),
                blocks: blocks.clone(),
                notifications: notifications.clone(),
                media: media.clone(),
                render: render.clone(),
                tasks: tasks.clone(),
                tones,
                previews: config.previews.enabled.then_some(preview_queue),
            },
            config.limits.max_message_chars,
        ));
        let stickers = Stickers::new(
            store.clone(),
            ids.clone(),
            users.clone(),
            media.clone(),
            render.clone(),
            config.stickers.clone(),
        );
        let bots = Bots::new(store.clone(), ids.clone(), users.clone(), hub.clone());
        let gifs = Gifs::new(&config.gifs, &egress, media.clone(), &token_secret)
            .map_err(|e| StartError::Other(e.to_string()))?;
        if config.previews.enabled {
            let deps = PreviewDeps { store: store.clone(), egress, media: media.clone(), messages: messages.clone() };
            Previews::start(deps, config.previews.clone(), preview_jobs, &tasks);
        }
        let invitations = Invitations::new(
            InvitationDeps {
                store: store.clone(),
                ids: ids.clone(),
                users: users.clone(),
                conversations: conversations.clone(),
                messages: messages.clone(),
                notifications: notifications.clone(),
                blocks: blocks.clone(),
                timeline,
                webhooks,
                tasks: tasks.clone(),
            },
            &config.activities,
            config.invitations.clone(),
        );
        let sync = Sync::new(store.clone(), render, conversations.clone(), blocks.clone());
        let traffic = Arc::new(Traffic::new(&config.rate_limits));

        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Bind { addr: config.listen, source })?;
        if let Some(url) = &config.redis_url {
            let bus = Bus::connect(url, &config.redis_channel, node_id, Arc::downgrade(&hub), metrics.clone(), &tasks)
                .await
                .map_err(|e| StartError::Other(format!("cannot connect to Redis: {e}")))?;
            hub.attach_bus(bus, std::time::Duration::from_millis(config.bus_gap_wait_ms), &tasks);
            spawn_invalidation_listener(&tasks, &hub, conversations.clone(), blocks.clone());
        }
        tracing::info!(node_id, cluster = config.redis_url.is_some(), "node ready");
        if let Some(url) = &config.redis_url {
            let node_ttl = std::time::Duration::from_secs(config.presence.node_ttl_secs);
            let registry =
                crate::presence::cluster::ClusterRegistry::connect(url, &config.redis_channel, node_id, node_ttl)
                    .await
                    .map_err(|e| StartError::Other(format!("cannot connect to Redis: {e}")))?;
            registry.heartbeat().await.map_err(|e| StartError::Other(format!("cannot reach Redis: {e}")))?;
            presence.attach_cluster(registry);
        }
        if let Some(conn) = cluster_conn {
            auth.join_cluster(conn.clone(), &config.redis_channel);
            traffic.join_cluster(conn.clone(), &config.redis_channel);
            users.join_cluster(conn, &config.redis_channel);
        }
        if let Some(lease) = lease {
            lease.keep(&tasks);
        }
        crate::invitations::spawn_sweeper(invitations.clone(), &tasks);
        crate::media::spawn_sweeper(media.clone(), &tasks);
        let app = Arc::new(App {
            config,
            store,
            hub,
            auth,
            users,
            conversations,
            messages,
            invitations,
            media,
            notifications,
            bots,
            stickers,
            gifs,
            sync,
            blocks,
            contacts,
            presence,
            traffic,
            metrics,
            shutdown,
            tasks,
            node_id,
        });
        Ok(Application { listener, app, trigger })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.app.config.listen)
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn app(&self) -> Arc<App> {
        self.app.clone()
    }

    /// Serves until [`ShutdownTrigger::trigger`] (or the returned handle's drop) — then stops
    /// accepting, asks WebSocket clients to reconnect (1001), and lets in-flight requests finish.
    pub async fn run_until_stopped(self, trigger_on: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let Application { listener, app, trigger } = self;
        let tasks = app.tasks.clone();
        let router = http::router(app.clone());
        let mut shutdown = app.shutdown.clone();
        tokio::spawn(async move {
            trigger_on.await;
            trigger.trigger();
        });
        let header_read_timeout = std::time::Duration::from_secs(app.config.limits.header_read_timeout_secs);
        let drain = async move {
            shutdown.wait().await;
            tracing::info!("shutting down: closing WebSockets, finishing in-flight requests");
            app.hub.close_all(1001, "server shutting down");
        };
        let served = http::serve(listener, router, header_read_timeout, drain).await;
        // Requests are done; the background work (last webhook calls, notification batches,
        // the lease's release) finishes before the server reports it stopped.
        tasks.stopped(BACKGROUND_GRACE).await;
        served
    }

    /// Runs the server on a background task; stops when the returned handle is dropped or
    /// [`RunningServer::stop`] is called. For tests and embedding.
    pub fn spawn(self) -> RunningServer {
        let addr = self.local_addr();
        let app = self.app();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(self.run_until_stopped(async move {
            let _ = stop_rx.await;
        }));
        RunningServer { addr, app, stop: Some(stop_tx), task }
    }
}

/// A server running on a background task.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Shuts down gracefully and waits for the server task to end.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
        self.app.store.close().await;
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// File bytes: under the data dir, or in the configured bucket (a cluster's nodes must share one).
fn open_blobs(config: &Config) -> Result<Blobs, StartError> {
    let opened = match (&config.media.storage, &config.media.s3) {
        (StorageKind::S3, Some(s3)) => Blobs::s3(&S3Config {
            endpoint: s3.endpoint.clone(),
            bucket: s3.bucket.clone(),
            region: s3.region.clone(),
            access_key_id: s3.access_key_id.clone(),
            secret_access_key: s3.secret_access_key.clone(),
            allow_http: s3.allow_http,
        }),
        _ => Blobs::disk(&config.media.disk_path.clone().unwrap_or_else(|| config.data_dir.join("media"))),
    };
    opened.map_err(|e| StartError::Other(format!("cannot open media storage: {e}")))
}
