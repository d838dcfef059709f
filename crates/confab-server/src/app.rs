//! The services a request handler or a gateway connection may call ([`App`]). Startup, which
//! builds it and binds the listener, lives in `startup.rs`; `App` sits below `http` so that the
//! handlers can take it without `http` and startup importing each other.

use std::sync::Arc;

use crate::auth::Auth;
use crate::bots::Bots;
use crate::config::Config;
use crate::conversations::Conversations;
use crate::gifs::Gifs;
use crate::hub::Hub;
use crate::invitations::Invitations;
use crate::limits::Traffic;
use crate::media::Media;
use crate::messages::Messages;
use crate::metrics::Metrics;
use crate::notifications::Notifications;
use crate::people::{Blocks, Contacts};
use crate::presence::Presence;
use crate::shutdown::Shutdown;
use crate::stickers::Stickers;
use crate::store::Store;
use crate::sync::Sync;
use crate::tasks::Tasks;
use crate::users::Users;

/// Everything a request handler or a gateway connection may call: the domain services, built
/// once and shared. There is no global state; two `App`s can run in one process.
pub struct App {
    pub config: Config,
    pub store: Store,
    pub hub: Arc<Hub>,
    pub auth: Auth,
    pub users: Arc<Users>,
    pub conversations: Arc<Conversations>,
    pub messages: Arc<Messages>,
    pub invitations: Arc<Invitations>,
    /// Uploads, attachments, avatars (`media/`).
    pub media: Arc<Media>,
    pub notifications: Arc<Notifications>,
    /// Bot accounts and their tokens (`bots/`).
    pub bots: Bots,
    /// The server's sticker packs (`stickers/`).
    pub stickers: Stickers,
    /// GIF search through the configured provider; `None` without one (`gifs/`).
    pub gifs: Option<Gifs>,
    pub sync: Sync,
    pub blocks: Arc<Blocks>,
    pub contacts: Contacts,
    pub presence: Arc<Presence>,
    /// Per-user and per-IP limits on messages, commands, tickets and sockets.
    pub traffic: Arc<Traffic>,
    /// This node's counters, rendered at `GET /metrics`; shared with the hub and the bus.
    pub metrics: Arc<Metrics>,
    pub shutdown: Shutdown,
    /// The node's background tasks, which shutdown waits for (`tasks.rs`).
    pub tasks: Tasks,
    /// This node's id: configured, or leased in a cluster (`node_lease.rs`).
    pub node_id: u16,
}
