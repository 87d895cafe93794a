//! What every operation uses to run the same SQL on both backends: the `on_write!`/`on_read!`
//! dispatch (a body written once, type-checked against each driver), write transactions
//! ([`BeginWrite`]), typed column access ([`Get`]) and a few small conversions.

use std::sync::Arc;

use serde_json::Value;
use sqlx::Row;

use crate::error::{BackendError, Result, StoreError};
use crate::txn::{Faults, Tx};

/// Runs `$body` with `$p` bound to the pool that takes writes.
macro_rules! on_write {
    ($self:expr, |$p:ident| $body:block) => {
        match &$self.backend {
            Backend::Sqlite { write: $p, .. } => $body,
            Backend::Postgres($p) => $body,
        }
    };
}

/// Runs `$body` with `$p` bound to a pool for reads.
macro_rules! on_read {
    ($self:expr, |$p:ident| $body:block) => {
        match &$self.backend {
            Backend::Sqlite { read: $p, .. } => $body,
            Backend::Postgres($p) => $body,
        }
    };
}

/// Starts a write transaction: `BEGIN IMMEDIATE` on SQLite (takes the write lock up front, so
/// another process writing the same file makes us wait `busy_timeout` instead of failing the
/// transaction half-way), a plain `BEGIN` on PostgreSQL. `faults` is the store's fault plan
/// (see [`crate::txn`]).
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    fn begin_write(
        &self,
        faults: &Arc<Faults>,
    ) -> impl std::future::Future<Output = Result<Tx<Self::Db>, sqlx::Error>> + Send;
}

impl BeginWrite for sqlx::SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self, faults: &Arc<Faults>) -> Result<Tx<Self::Db>, sqlx::Error> {
        Ok(Tx::new(self.begin_with("BEGIN IMMEDIATE").await?, faults))
    }
}

impl BeginWrite for sqlx::PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self, faults: &Arc<Faults>) -> Result<Tx<Self::Db>, sqlx::Error> {
        Ok(Tx::new(self.begin().await?, faults))
    }
}

/// Typed column access on either driver's rows.
pub(crate) trait Get {
    fn s(&self, c: &str) -> Result<String>;
    fn os(&self, c: &str) -> Result<Option<String>>;
    fn i(&self, c: &str) -> Result<i64>;
    fn oi(&self, c: &str) -> Result<Option<i64>>;
    fn b(&self, c: &str) -> Result<bool>;
    fn ob(&self, c: &str) -> Result<Option<bool>>;
}

macro_rules! impl_get {
    ($t:ty) => {
        impl Get for $t {
            fn s(&self, c: &str) -> Result<String> {
                Ok(self.try_get::<String, _>(c)?)
            }
            fn os(&self, c: &str) -> Result<Option<String>> {
                Ok(self.try_get::<Option<String>, _>(c)?)
            }
            fn i(&self, c: &str) -> Result<i64> {
                Ok(self.try_get::<i64, _>(c)?)
            }
            fn oi(&self, c: &str) -> Result<Option<i64>> {
                Ok(self.try_get::<Option<i64>, _>(c)?)
            }
            fn b(&self, c: &str) -> Result<bool> {
                Ok(self.try_get::<bool, _>(c)?)
            }
            fn ob(&self, c: &str) -> Result<Option<bool>> {
                Ok(self.try_get::<Option<bool>, _>(c)?)
            }
        }
    };
}
impl_get!(sqlx::sqlite::SqliteRow);
impl_get!(sqlx::postgres::PgRow);

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(BackendError::msg(format!(
        "unexpected stored value in {what}"
    )))
}

pub(crate) fn json_text(v: &Value) -> Result<String> {
    serde_json::to_string(v).map_err(|_| StoreError::Invalid("decision is not valid JSON".into()))
}

pub(crate) fn json_value(s: String) -> Value {
    match serde_json::from_str(&s) {
        Ok(v) => v,
        Err(_) => Value::String(s),
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

pub(crate) fn random_hex(n_bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; n_bytes];
    getrandom::getrandom(&mut buf).map_err(|e| {
        StoreError::Backend(BackendError::msg(format!("no system randomness: {e}")))
    })?;
    Ok(hex(&buf))
}

/// `$first, $first+1, ...` (n of them).
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn page_limit(limit: u32) -> i64 {
    match limit {
        0 => 50,
        n => i64::from(n.min(500)),
    }
}
