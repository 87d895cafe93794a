//! The store's write transactions ([`Tx`]): sqlx's transaction, with a statement counter that
//! lets tests make the N-th statement from now fail (the cargo feature `fault-injection` adds
//! [`crate::Store::fail_write_statement`]; without it nothing can plan a fault, and the counter
//! costs one relaxed atomic read per statement). Statements are counted across transactions, so
//! an operation that wrongly commits in two transactions is caught failing in its second one.
//!
//! Operations write `&mut *tx` wherever sqlx wants an executor, as with a plain transaction:
//! `Tx` dereferences to [`Conn`], which implements [`sqlx::Executor`] for both drivers by
//! counting the statement and handing it to the transaction's connection.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use futures_core::future::BoxFuture;
use futures_core::stream::BoxStream;
use sqlx::{Database, Describe, Either, Execute, Executor, Postgres, Sqlite, Transaction};

/// The fault plan of one store (shared by its clones).
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// Statements (commits included) of write transactions until the planned failure: the one
    /// that finds 1 here fails; 0 when nothing is planned.
    countdown: AtomicU32,
    /// Set when a planned fault happened.
    fired: AtomicBool,
}

impl Faults {
    /// Plans a failure at the `n`-th statement from now (1-based); 0 cancels.
    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    pub(crate) fn arm(&self, n: u32) {
        self.fired.store(false, Ordering::SeqCst);
        self.countdown.store(n, Ordering::SeqCst);
    }

    /// Whether the last planned fault happened (false when the transaction ended first).
    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    pub(crate) fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }

    /// Counts one statement; the planned one fails.
    fn tick(&self) -> Result<(), sqlx::Error> {
        if self.countdown.load(Ordering::Relaxed) == 0 {
            return Ok(());
        }
        let before = self
            .countdown
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1));
        if before == Ok(1) {
            self.fired.store(true, Ordering::SeqCst);
            return Err(injected());
        }
        Ok(())
    }
}

fn injected() -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(
        "injected fault (fault-injection test)",
    ))
}

/// What `&mut *tx` gives: the transaction's connection, counting statements.
pub(crate) struct Conn<DB: Database> {
    tx: Transaction<'static, DB>,
    faults: Arc<Faults>,
}

impl<DB: Database> Conn<DB> {
    fn tick(&self) -> Result<(), sqlx::Error> {
        self.faults.tick()
    }
}

impl<DB: Database> fmt::Debug for Conn<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn").finish_non_exhaustive()
    }
}

/// A write transaction. Dropped without [`Tx::commit`], it rolls back.
pub(crate) struct Tx<DB: Database>(Conn<DB>);

impl<DB: Database> Tx<DB> {
    pub(crate) fn new(tx: Transaction<'static, DB>, faults: &Arc<Faults>) -> Tx<DB> {
        Tx(Conn {
            tx,
            faults: Arc::clone(faults),
        })
    }

    /// Commits (the commit is the last point where a planned fault can happen).
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.0.tick()?;
        self.0.tx.commit().await
    }
}

impl<DB: Database> Deref for Tx<DB> {
    type Target = Conn<DB>;
    fn deref(&self) -> &Conn<DB> {
        &self.0
    }
}

impl<DB: Database> DerefMut for Tx<DB> {
    fn deref_mut(&mut self) -> &mut Conn<DB> {
        &mut self.0
    }
}

/// `Executor` for `&mut Conn<$db>`: counts, then runs the statement on the transaction.
macro_rules! counted_executor {
    ($db:ty) => {
        impl<'c> Executor<'c> for &'c mut Conn<$db> {
            type Database = $db;

            fn fetch_many<'e, 'q: 'e, E>(
                self,
                query: E,
            ) -> BoxStream<
                'e,
                Result<Either<<$db as Database>::QueryResult, <$db as Database>::Row>, sqlx::Error>,
            >
            where
                'c: 'e,
                E: 'q + Execute<'q, $db>,
            {
                match self.tick() {
                    Ok(()) => (&mut *self.tx).fetch_many(query),
                    Err(e) => Box::pin(futures_util::stream::once(async move { Err(e) })),
                }
            }

            fn fetch_optional<'e, 'q: 'e, E>(
                self,
                query: E,
            ) -> BoxFuture<'e, Result<Option<<$db as Database>::Row>, sqlx::Error>>
            where
                'c: 'e,
                E: 'q + Execute<'q, $db>,
            {
                match self.tick() {
                    Ok(()) => (&mut *self.tx).fetch_optional(query),
                    Err(e) => Box::pin(async move { Err(e) }),
                }
            }

            fn prepare_with<'e, 'q: 'e>(
                self,
                sql: &'q str,
                parameters: &'e [<$db as Database>::TypeInfo],
            ) -> BoxFuture<'e, Result<<$db as Database>::Statement<'q>, sqlx::Error>>
            where
                'c: 'e,
            {
                (&mut *self.tx).prepare_with(sql, parameters)
            }

            fn describe<'e, 'q: 'e>(
                self,
                sql: &'q str,
            ) -> BoxFuture<'e, Result<Describe<$db>, sqlx::Error>>
            where
                'c: 'e,
            {
                (&mut *self.tx).describe(sql)
            }
        }
    };
}
counted_executor!(Sqlite);
counted_executor!(Postgres);
