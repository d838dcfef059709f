//! The store: the only module with SQL.
//!
//! One SQL text per query, with `$N` placeholders, runs on both backends through sqlx's `Any`
//! driver. Backend differences live here and nowhere else: the migrations folder, the connection
//! pragmas, and the pool size. Callers see typed rows and [`StoreError`], never sqlx.

mod bots;
mod column;
mod conversations;
mod invitations;
mod media;
mod messages;
mod notifications;
mod people;
mod previews;
mod secrets;
mod sessions;
mod stickers;
mod users;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection, Executor};

pub use bots::BotRow;
pub use column::Named;
pub use conversations::{AuditRow, ConversationRow, GroupEvent, GroupPatch, MemberRow, NewConversation};
pub use invitations::{InvitationRow, Transition};
pub use media::{AttachmentRow, FileId, FileRow, NewUpload, PartRow, Refusal, UploadQuota, UploadRow};
pub use messages::{
    ChangeOutcome, EditRow, EditedText, HistoryRange, MessageRow, NewAudit, NewMessage, QueuedMessage, ReactionRow,
    SendOutcome,
};
pub use notifications::{NewNotification, NotificationRow};
pub use people::{ContactRow, ProfilePatch, Relation};
pub use previews::{CachedPreview, MessagePreviewRow, NewPreview};
pub use sessions::{NewSession, RefreshOutcome, SessionRow};
pub use stickers::{NewSticker, StickerPackRow, StickerRefusal, StickerRow};
pub use users::{NewUser, UserRow};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot prepare the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("unsupported database url (expected postgres://… or sqlite://…)")]
    UnsupportedUrl,
    #[error("the message writer has stopped")]
    WriterStopped,
    #[error("cannot start the message writer: {0}")]
    Writer(std::io::Error),
    /// The store's own code broke one of its invariants: a bug, not an unreachable database.
    #[error("store bug: {0}")]
    Bug(String),
    /// One failure handed to every message of a batch (the writer does not retry a batch one
    /// by one when the database is unavailable: each retry would wait as long again).
    #[error("{0}")]
    Shared(Arc<StoreError>),
}

impl StoreError {
    /// The writer's batch came back without one of its messages (a bug in `writer.rs`).
    pub fn lost_in_batch(index: usize) -> StoreError {
        StoreError::Bug(format!("batch lost message {index}"))
    }

    /// True when a UNIQUE constraint refused the write: the caller lost a race or repeated itself.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => e.is_unique_violation(),
            StoreError::Shared(e) => e.is_unique_violation(),
            _ => false,
        }
    }

    /// True when the database could not be reached (as opposed to refusing a query): the
    /// connection failed, broke mid-handshake, or none came free in time.
    /// Also when it answered that it has no room (a full disk): the request was fine and may
    /// succeed once space is freed.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => out_of_space(e.code().as_deref()),
            StoreError::Shared(e) => e.is_unavailable(),
            other => matches!(
                other,
                StoreError::Database(
                    sqlx::Error::Io(_)
                        | sqlx::Error::Tls(_)
                        | sqlx::Error::Protocol(_)
                        | sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::WorkerCrashed
                ) | StoreError::WriterStopped
            ),
        }
    }
}

/// SQLite's SQLITE_FULL (13) and SQLITE_IOERR (10, with its extended codes in the upper bits);
/// PostgreSQL's class 53, insufficient resources (53100 is disk_full).
fn out_of_space(code: Option<&str>) -> bool {
    match code {
        Some(code) if code.starts_with("53") && code.len() == 5 => true,
        Some(code) => code.parse::<i32>().is_ok_and(|n| n == 13 || n & 0xff == 10),
        None => false,
    }
}

/// SQL text assembled from this module's own constants (column lists, `$N` placeholders, a sort
/// direction), never from input; every value is bound. Marked so for sqlx's injection guard.
fn composed(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle to the database; cheap to clone.
///
/// Every method takes and returns the wire crate's typed ids and enums (`store/column.rs` turns
/// them into the integers and strings the database holds), so swapped arguments do not compile —
/// a user id where a conversation id belongs:
///
/// ```compile_fail,E0308
/// # use confab_proto::{ConversationId, UserId};
/// # async fn mark(store: &confab_server::store::Store, conversation: ConversationId, user: UserId) {
/// store.set_read(user, conversation, 1).await; // (conversation, user, seq) swapped
/// # }
/// ```
///
/// nor a string where a message kind belongs:
///
/// ```compile_fail,E0308
/// # use confab_proto::{ConversationId, MessageId, UserId};
/// # use confab_server::store::NewMessage;
/// let message = NewMessage {
///     kind: "text",
/// #   id: MessageId(1), conversation_id: ConversationId(2), sender_id: UserId(3), body: "hi",
/// #   client_id: None, reply_to: None, mentions: None, tones: None, sticker_id: None, system: None, created_at: 0,
/// };
/// ```
///
/// while the same calls with the right types do:
///
/// ```no_run
/// # use confab_proto::rest::MessageKind;
/// # use confab_proto::{ConversationId, MessageId, UserId};
/// # use confab_server::store::NewMessage;
/// # async fn mark(store: &confab_server::store::Store, conversation: ConversationId, user: UserId) {
/// store.set_read(conversation, user, 1).await.ok();
/// let message = NewMessage {
///     kind: MessageKind::Text,
/// #   id: MessageId(1), conversation_id: conversation, sender_id: user, body: "hi",
/// #   client_id: None, reply_to: None, mentions: None, tones: None, sticker_id: None, system: None, created_at: 0,
/// };
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Store {
    /// Reads (and, on PostgreSQL, everything).
    pool: AnyPool,
    /// Writes: the same pool on PostgreSQL; on SQLite, a pool of one connection (see `open`).
    writes: AnyPool,
    backend: Backend,
    /// Group commit of new messages (`writer.rs`); `None` in the writer's own handle, which
    /// writes directly.
    writer: Option<writer::Writer>,
    /// SQLite only, for tests: `PRAGMA max_page_count` of the write connection (0: none), kept
    /// here so that a replaced connection gets it too.
    page_limit: Arc<AtomicU64>,
}

/// How long a query waits for a free connection before the database counts as unavailable
/// (503 `unavailable`), on both backends and for the writer too.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl Store {
    /// Opens the database named by `database_url`, or the embedded SQLite file in `data_dir`,
    /// and applies pending migrations.
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let url = match database_url {
            Some(url) => url.to_owned(),
            None => {
                std::fs::create_dir_all(data_dir)
                    .map_err(|source| StoreError::DataDir { path: data_dir.display().to_string(), source })?;
                format!("sqlite://{}?mode=rwc", data_dir.join("confab.db").display())
            }
        };
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let page_limit = Arc::new(AtomicU64::new(0));
        let (pool, writes) = match backend {
            // WAL lets readers proceed during a write; FULL sync makes an acknowledged commit
            // survive a power cut, not only a process crash (guarantee 1). Statement journals
            // stay in memory, and reads go through a memory map rather than a copy per page.
            // Checkpoints run beside the writer (`Store::checkpoint`, driven by `writer.rs`);
            // the automatic one, run by whichever commit crosses its threshold and stalling
            // that commit, is only a backstop.
            //
            // SQLite takes one writer at a time, so every write goes through a pool of one
            // connection: writers wait their turn in the pool's queue and are woken the moment
            // it is free. Contending on SQLite's own lock instead, they would sleep in its busy
            // handler (up to 100 ms a retry) while the lock sits free — a convoy that let 16
            // concurrent conversation creations reach only ~300 a second.
            //
            // A write connection comes back with a transaction still counted open when its
            // rollback failed — after SQLITE_FULL or an I/O error SQLite may already have rolled
            // back by itself, so sqlx's ROLLBACK fails and its count stays at one. Reused, it
            // would refuse every later BEGIN ("non-zero transaction depth") until a restart:
            // such a connection is closed instead (closing rolls back whatever is left) and the
            // next write opens a fresh one.
            Backend::Sqlite => {
                let sqlite = |connections: u32, limit: Arc<AtomicU64>| {
                    AnyPoolOptions::new().max_connections(connections).acquire_timeout(ACQUIRE_TIMEOUT).after_connect(
                        move |conn, _| {
                            let pages = limit.load(Ordering::Relaxed);
                            Box::pin(async move {
                                conn.execute(
                                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                                     PRAGMA temp_store = MEMORY; PRAGMA mmap_size = 268435456; \
                                     PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 20000;",
                                )
                                .await?;
                                if pages > 0 {
                                    conn.execute(composed(format!("PRAGMA max_page_count = {pages}"))).await?;
                                }
                                Ok(())
                            })
                        },
                    )
                };
                let writes = sqlite(1, page_limit.clone())
                    .after_release(|conn, _| {
                        Box::pin(async move {
                            // The round trip runs after the rollback queued by a dropped
                            // transaction, so the count below is settled.
                            conn.ping().await?;
                            let clean = !conn.is_in_transaction();
                            if !clean {
                                tracing::warn!("a write connection kept a failed transaction open; replacing it");
                            }
                            Ok(clean)
                        })
                    })
                    .connect_with(options.clone())
                    .await?;
                (sqlite(8, Arc::default()).connect_with(options).await?, writes)
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(32)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await?;
                (pool.clone(), pool)
            }
        };
        let direct = Store { pool, writes, backend, writer: None, page_limit };
        direct.migrate().await?;
        let writer = writer::Writer::start(direct.clone())?;
        Ok(Store { writer: Some(writer), ..direct })
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&self.writes).await?,
            Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&self.writes).await?,
        }
        Ok(())
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads first and writes later fails with
    /// "database is locked" when another writer commits in between, instead of waiting its turn.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.writes.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.writes.begin().await?,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Copies what it can of SQLite's write-ahead log into the database without waiting for
    /// readers or writers (a passive checkpoint), so that the log stays short and no commit has
    /// to do it. Nothing to do on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&self.pool).await?;
        }
        Ok(())
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Commits a small write that needs room (a row of 8 KiB, inserted and deleted again), for
    /// readiness: a node whose reads work but whose writes fail — a full disk — is not ready.
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        const NAME: &str = "confab.readiness-probe";
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(NAME)
            .bind(vec![0u8; 8192])
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM server_secrets WHERE name = $1").bind(NAME).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Test hook (SQLite): caps the database at `pages` pages on the write connection — "the
    /// disk is full" — or lifts the cap with `None`. SQLite never shrinks a database this way:
    /// a cap below the current size holds it at its size.
    #[doc(hidden)]
    pub async fn limit_pages_for_tests(&self, pages: Option<u64>) -> Result<(), StoreError> {
        let pages = pages.unwrap_or(0);
        self.page_limit.store(pages, Ordering::Relaxed);
        // 0 would read back the limit; the largest value SQLite takes lifts it.
        let value = if pages == 0 { 4_294_967_294 } else { pages };
        sqlx::query(composed(format!("PRAGMA max_page_count = {value}"))).execute(&self.writes).await?;
        Ok(())
    }

    /// Test hook (SQLite): takes the write lock and holds it until the returned transaction is
    /// dropped — a stalled writer.
    #[doc(hidden)]
    pub async fn hold_writes_for_tests(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        self.begin_write().await
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.writes.close().await;
    }
}
