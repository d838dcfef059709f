//! The store: the only module with SQL.
//!
//! One SQL text per query, with `$N` placeholders, runs on both backends through sqlx's `Any`
//! driver. Backend differences live here and nowhere else: the migrations folder, the connection
//! pragmas, and the pool size. Callers see typed rows and [`StoreError`], never sqlx.

mod conversations;
mod invitations;
mod messages;
mod notifications;
mod people;
mod secrets;
mod sessions;
mod users;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use conversations::{AuditRow, ConversationRow, GroupEvent, GroupPatch, MemberRow, NewConversation};
pub use invitations::{InvitationRow, Transition};
pub use messages::{
    ChangeOutcome, EditRow, HistoryRange, MessageRow, NewAudit, NewMessage, QueuedMessage, ReactionRow, SendOutcome,
};
pub use notifications::{NewNotification, NotificationRow};
pub use people::{ContactRow, ProfilePatch, Relation};
pub use sessions::{NewSession, RefreshOutcome, SessionRow};
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
}

impl StoreError {
    /// The writer's batch came back without one of its messages (a bug in `writer.rs`).
    pub fn lost_in_batch(index: usize) -> StoreError {
        StoreError::Bug(format!("batch lost message {index}"))
    }

    /// True when a UNIQUE constraint refused the write: the caller lost a race or repeated itself.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }

    /// True when the database could not be reached (as opposed to refusing a query): the
    /// connection failed, broke mid-handshake, or none came free in time.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::Protocol(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
            ) | StoreError::WriterStopped
        )
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
}

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
            Backend::Sqlite => {
                let sqlite = |connections: u32| {
                    AnyPoolOptions::new().max_connections(connections).after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                                 PRAGMA temp_store = MEMORY; PRAGMA mmap_size = 268435456; \
                                 PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 20000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                };
                let writes = sqlite(1).connect_with(options.clone()).await?;
                (sqlite(8).connect_with(options).await?, writes)
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(32)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options)
                    .await?;
                (pool.clone(), pool)
            }
        };
        let direct = Store { pool, writes, backend, writer: None };
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

    pub async fn close(&self) {
        self.pool.close().await;
        self.writes.close().await;
    }
}
