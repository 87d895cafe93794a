//! `parley-store`: the message center's storage layer.
//!
//! One [`Store`] with two backends chosen by the database URL: SQLite (`sqlite://path`,
//! `sqlite:path`, a bare path, `sqlite::memory:`) and PostgreSQL (`postgres://...`,
//! `postgresql://...`). Each backend has its own embedded migrations (`migrations/sqlite`,
//! `migrations/postgres`), applied by [`Store::connect`]. The same SQL text (with `$1`-style
//! parameters, which both drivers accept) runs on both wherever the dialects agree.
//!
//! Conventions:
//! - Timestamps are `i64` Unix milliseconds (UTC) in both databases ([`Millis`]).
//! - Ids of integration objects (orgs, users, jobs, ...) are the marketplace's own strings;
//!   conversation ids are generated (`c_` + 20 hex digits); message ids are monotonic integers.
//! - Every write that other users must learn about appends to each recipient's event log
//!   (`events`, per-user gap-free `seq`) in the same transaction: the cursor of "what did I miss".
//! - SQLite: WAL, `synchronous=NORMAL` by default (a committed transaction survives a crash or
//!   `kill -9` of the process; `Durability::Full` also survives power loss), foreign keys on,
//!   busy timeout, one writer connection and a small pool of reader connections; message posts
//!   are group-committed by a writer task, and WAL checkpoints run in a background task.
//! - PostgreSQL (several server nodes): every message write first locks its conversation row, so
//!   within a conversation message id order is commit order; event sequence numbers are allocated
//!   from the user row under its lock (recipients locked in sorted order: no deadlocks).

mod error;
mod model;
// Macros first (textual scope): the backend dispatch, columns and rows, the audit chain, the
// building blocks of write transactions.
mod txn;
#[macro_use]
mod sql;
mod check;
#[macro_use]
mod rows;
#[macro_use]
mod outbox;
#[macro_use]
mod audit;
#[macro_use]
mod tx;
// One module per concept.
mod accounts;
#[macro_use]
mod attachments;
mod calls;
mod conversations;
#[macro_use]
mod decisions;
mod events;
mod export;
mod file_types;
#[macro_use]
mod files;
mod dashboard;
mod file_refs;
mod marketplace;
mod messages;
mod metrics;
mod post;
mod reach;
#[macro_use]
mod safety;
mod sender_window;
#[macro_use]
mod scheduling;
mod booking_changes;
mod tokens;
mod webhooks;
mod writer;
// Operations that commit a decision with its enforcements (after `safety` and `writer`).
mod enforced;

pub use attachments::{AttachmentLink, ATTACHMENT_IN_USE, MAX_ATTACHMENTS};
pub use audit::{
    canonical_json, entry_hash, sha256_hex, AuditEntry, AuditVerification, GENESIS_HASH,
    MAX_AUDIT_DATA,
};
pub use booking_changes::{FiredReminder, BOOKING_CANCELLED};
pub use calls::{CallRecord, CallStats, NewCall};
pub use dashboard::*;
pub use enforced::{DecidedEnforced, PostedEnforced};
pub use error::{BackendError, Result, StoreError};
pub use files::*;
pub use metrics::{AuditKindCount, CategoryCount, DecisionCount};
pub use model::*;
pub use outbox::EVENT_TYPES;
pub use safety::*;
pub use scheduling::{
    rfc3339, Booking, NewBooking, TimeProposal, BOOKING_OVERLAP, PROPOSAL_CLOSED, REMINDERS,
};
pub use sender_window::{WindowGuard, WINDOW_MOVED};
pub use tokens::token_hash;
pub use webhooks::*;

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// Which database a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

/// SQLite durability level (ignored on PostgreSQL, which always syncs commits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=NORMAL` in WAL mode: committed data survives a crash of the process.
    #[default]
    Normal,
    /// `synchronous=FULL`: committed data also survives power loss (slower commits).
    Full,
}

/// Connection options beyond the URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// PostgreSQL pool size, or the number of SQLite reader connections.
    pub max_connections: u32,
    pub durability: Durability,
    /// How long to wait for a connection (and, on SQLite, for a lock) before `Unavailable`.
    pub timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            durability: Durability::Normal,
            timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone)]
pub(crate) enum Backend {
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
        writer: writer::Writer,
        /// Background tasks stop when the last clone of the store is dropped.
        _alive: std::sync::Arc<()>,
    },
    Postgres(PgPool),
}

/// The store. Cheap to clone (pools are shared); `Send + Sync`.
#[derive(Clone)]
pub struct Store {
    pub(crate) backend: Backend,
    /// Faults planned by tests (feature `fault-injection`), shared by clones.
    pub(crate) faults: std::sync::Arc<txn::Faults>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.kind())
            .finish()
    }
}

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "moderation",
        include_str!("../migrations/sqlite/0002_moderation.sql"),
    ),
    (
        3,
        "audit",
        include_str!("../migrations/sqlite/0003_audit.sql"),
    ),
    (
        4,
        "account events",
        include_str!("../migrations/sqlite/0004_account_events.sql"),
    ),
    (
        5,
        "files",
        include_str!("../migrations/sqlite/0005_files.sql"),
    ),
    (
        6,
        "scheduling",
        include_str!("../migrations/sqlite/0006_scheduling.sql"),
    ),
    (
        7,
        "calls",
        include_str!("../migrations/sqlite/0007_calls.sql"),
    ),
    (
        8,
        "tokens and webhooks",
        include_str!("../migrations/sqlite/0008_tokens_webhooks.sql"),
    ),
    (
        11,
        "dashboard indexes",
        include_str!("../migrations/sqlite/0011_dashboard.sql"),
    ),
    (
        13,
        "message attachments",
        include_str!("../migrations/sqlite/0013_message_attachments.sql"),
    ),
    (
        15,
        "sender recent messages index",
        include_str!("../migrations/sqlite/0015_sender_recent.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "moderation",
        include_str!("../migrations/postgres/0002_moderation.sql"),
    ),
    (
        3,
        "audit",
        include_str!("../migrations/postgres/0003_audit.sql"),
    ),
    (
        4,
        "account events",
        include_str!("../migrations/postgres/0004_account_events.sql"),
    ),
    (
        5,
        "files",
        include_str!("../migrations/postgres/0005_files.sql"),
    ),
    (
        6,
        "scheduling",
        include_str!("../migrations/postgres/0006_scheduling.sql"),
    ),
    (
        7,
        "calls",
        include_str!("../migrations/postgres/0007_calls.sql"),
    ),
    (
        8,
        "tokens and webhooks",
        include_str!("../migrations/postgres/0008_tokens_webhooks.sql"),
    ),
    (
        11,
        "dashboard indexes",
        include_str!("../migrations/postgres/0011_dashboard.sql"),
    ),
    (
        13,
        "message attachments",
        include_str!("../migrations/postgres/0013_message_attachments.sql"),
    ),
    (
        15,
        "sender recent messages index",
        include_str!("../migrations/postgres/0015_sender_recent.sql"),
    ),
];

/// Migrations compiled into the binary.
#[derive(Debug)]
struct Embedded(&'static [(i64, &'static str, &'static str)]);

impl<'s> MigrationSource<'s> for Embedded {
    #[allow(clippy::type_complexity)]
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, sqlx::error::BoxDynError>> + Send + 's>>
    {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// SQLite: the writer never checkpoints (`wal_autocheckpoint=0`), so commits never wait for
/// the WAL to be copied and synced into the database file; this task does it in the background
/// (a passive checkpoint does not block the writer) until the store is closed.
async fn checkpointer(pool: SqlitePool, alive: std::sync::Weak<()>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() || alive.strong_count() == 0 {
            break;
        }
        // Errors (busy, closed) are harmless here: the next tick tries again.
        let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await;
    }
}

/// What a database URL designates.
enum Target {
    SqliteMemory,
    SqliteFile(SqliteConnectOptions),
    Postgres(PgConnectOptions),
}

fn parse_url(url: &str) -> Result<Target> {
    let url = url.trim();
    if url.is_empty() {
        return Err(StoreError::Invalid("empty database URL".into()));
    }
    let invalid = |_| StoreError::Invalid("malformed database URL".into());
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return PgConnectOptions::from_str(url)
            .map(Target::Postgres)
            .map_err(invalid);
    }
    if url == "sqlite::memory:" || url == "sqlite://:memory:" || url == ":memory:" {
        return Ok(Target::SqliteMemory);
    }
    if url.starts_with("sqlite:") {
        if url.contains("mode=memory") {
            return Err(StoreError::Invalid(
                "use sqlite::memory: for an in-memory database".into(),
            ));
        }
        return SqliteConnectOptions::from_str(url)
            .map(Target::SqliteFile)
            .map_err(invalid);
    }
    if let Some((scheme, _)) = url.split_once("://") {
        return Err(StoreError::Invalid(format!(
            "unsupported database URL scheme {scheme:?} (use sqlite: or postgres:)"
        )));
    }
    // A bare path.
    Ok(Target::SqliteFile(
        SqliteConnectOptions::new().filename(url),
    ))
}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        Store::connect_with(url, &StoreOptions::default()).await
    }

    /// [`Store::connect`] with explicit options.
    pub async fn connect_with(url: &str, opts: &StoreOptions) -> Result<Store> {
        let max = opts.max_connections.max(1);
        let faults = std::sync::Arc::new(txn::Faults::default());
        let backend = match parse_url(url)? {
            Target::SqliteMemory => {
                // One connection, kept forever: each SQLite memory connection is its own database.
                let o = SqliteConnectOptions::new()
                    .in_memory(true)
                    .foreign_keys(true)
                    .busy_timeout(opts.timeout);
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .acquire_timeout(opts.timeout)
                    .connect_with(o)
                    .await?;
                Backend::Sqlite {
                    writer: writer::Writer::spawn(pool.clone(), faults.clone()),
                    write: pool.clone(),
                    read: pool,
                    _alive: std::sync::Arc::new(()),
                }
            }
            Target::SqliteFile(o) => {
                let o = o
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(match opts.durability {
                        Durability::Normal => SqliteSynchronous::Normal,
                        Durability::Full => SqliteSynchronous::Full,
                    })
                    .foreign_keys(true)
                    .busy_timeout(opts.timeout)
                    .pragma("wal_autocheckpoint", "0");
                // A single writer connection serialises writes without SQLITE_BUSY surprises.
                let write = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(opts.timeout)
                    .connect_with(o.clone())
                    .await?;
                let read = SqlitePoolOptions::new()
                    .max_connections(max)
                    .acquire_timeout(opts.timeout)
                    .connect_lazy_with(o);
                let alive = std::sync::Arc::new(());
                tokio::spawn(checkpointer(
                    read.clone(),
                    std::sync::Arc::downgrade(&alive),
                ));
                Backend::Sqlite {
                    writer: writer::Writer::spawn(write.clone(), faults.clone()),
                    write,
                    read,
                    _alive: alive,
                }
            }
            Target::Postgres(o) => {
                let pool = PgPoolOptions::new()
                    .max_connections(max)
                    .acquire_timeout(opts.timeout)
                    .connect_with(o)
                    .await?;
                Backend::Postgres(pool)
            }
        };
        let store = Store { backend, faults };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations (idempotent; [`Store::connect`] already does it). Safe when
    /// several nodes start at once on PostgreSQL (an advisory lock serialises them).
    pub async fn migrate(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite { write, .. } => {
                Migrator::new(Embedded(SQLITE_MIGRATIONS))
                    .await?
                    .run(write)
                    .await?
            }
            Backend::Postgres(pool) => {
                Migrator::new(Embedded(POSTGRES_MIGRATIONS))
                    .await?
                    .run(pool)
                    .await?
            }
        }
        Ok(())
    }

    /// The backend in use.
    pub fn kind(&self) -> BackendKind {
        match self.backend {
            Backend::Sqlite { .. } => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// Checks that the database answers (for health endpoints).
    pub async fn ping(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite { read, .. } => {
                sqlx::query("SELECT 1").execute(read).await?;
            }
            Backend::Postgres(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// Test hook (feature `fault-injection`): the `n`-th statement (1-based, commits included)
    /// that this store's write transactions (or its clones') run from now on fails with
    /// `StoreError::Unavailable`, and its transaction rolls back; `0` cancels. Counted across
    /// transactions, so an operation that commits in two steps is caught failing in the second.
    /// After the operation, [`Store::injected_fault_fired`] says whether the fault happened
    /// (false: the operation ran fewer statements and committed). Reads outside write
    /// transactions are not counted. A SQLite group-committed batch of several posts that fails
    /// is written again one post per transaction: plan faults with one post in flight.
    #[cfg(feature = "fault-injection")]
    pub fn fail_write_statement(&self, n: u32) {
        self.faults.arm(n);
    }

    /// Whether the fault planned by [`Store::fail_write_statement`] happened.
    #[cfg(feature = "fault-injection")]
    pub fn injected_fault_fired(&self) -> bool {
        self.faults.fired()
    }

    /// Closes every connection (waits for in-flight queries).
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { write, read, .. } => {
                read.close().await;
                write.close().await;
            }
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes() {
        assert!(matches!(
            parse_url("sqlite::memory:"),
            Ok(Target::SqliteMemory)
        ));
        assert!(matches!(
            parse_url("sqlite://x.db"),
            Ok(Target::SqliteFile(_))
        ));
        assert!(matches!(
            parse_url("sqlite:x.db"),
            Ok(Target::SqliteFile(_))
        ));
        assert!(matches!(parse_url("/tmp/x.db"), Ok(Target::SqliteFile(_))));
        assert!(matches!(parse_url("x.db"), Ok(Target::SqliteFile(_))));
        assert!(matches!(
            parse_url("postgres://u@localhost/db"),
            Ok(Target::Postgres(_))
        ));
        assert!(matches!(
            parse_url("postgresql://u@localhost:5433/db"),
            Ok(Target::Postgres(_))
        ));
        assert!(matches!(
            parse_url("mysql://x"),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(parse_url(""), Err(StoreError::Invalid(_))));
    }
}
