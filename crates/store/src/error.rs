//! The one error type of the storage layer.

use std::fmt;

/// What went wrong in the store. `Display` never contains database internals (SQL, constraint
/// names, connection strings); the underlying cause is kept as the error's `source()` for logs.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist, or the caller may not see it (a non-member asking for a
    /// conversation gets this too, so existence does not leak).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller may see the object but not do this to it (e.g. edit someone else's message).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The write conflicts with the stored state (e.g. a unique key taken by another object).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The input is invalid (bad id, empty name, unknown status, reference to a missing object).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The database could not be reached in time (pool exhausted, connection refused); retry later.
    #[error("storage unavailable")]
    Unavailable(#[source] BackendError),
    /// Any other database failure. Details only in `source()`.
    #[error("storage error")]
    Backend(#[source] BackendError),
}

/// Opaque wrapper around the driver's error, so callers cannot match on driver internals.
pub struct BackendError(Box<dyn std::error::Error + Send + Sync + 'static>);

impl BackendError {
    pub(crate) fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        BackendError(Box::new(e))
    }
    pub(crate) fn msg(m: impl Into<String>) -> Self {
        BackendError(m.into().into())
    }
}

impl BackendError {
    /// A PostgreSQL deadlock or serialization failure: the transaction may simply be run again
    /// (concurrent inserts checked by one exclusion constraint can deadlock).
    pub(crate) fn is_retryable(&self) -> bool {
        match self.0.downcast_ref::<sqlx::Error>() {
            Some(sqlx::Error::Database(db)) => {
                matches!(db.code().as_deref(), Some("40P01") | Some("40001"))
            }
            _ => false,
        }
    }
}

impl fmt::Debug for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Result alias of the storage layer.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound("row"),
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(BackendError::new(e))
            }
            // PostgreSQL cannot store NUL characters in text: the input is at fault.
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("22021") | Some("22P05")) =>
            {
                StoreError::Invalid("text contains a character that cannot be stored".into())
            }
            // Two overlapping bookings for one person: PostgreSQL's exclusion constraint
            // (23P01), SQLite's trigger.
            sqlx::Error::Database(db)
                if db.code().as_deref() == Some("23P01")
                    || db.message().contains("booking_overlap") =>
            {
                StoreError::Conflict(crate::scheduling::BOOKING_OVERLAP.into())
            }
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => {
                    StoreError::Conflict("an object with this key already exists".into())
                }
                ErrorKind::ForeignKeyViolation => {
                    StoreError::Invalid("a referenced object does not exist".into())
                }
                ErrorKind::NotNullViolation | ErrorKind::CheckViolation => {
                    StoreError::Invalid("a value is missing or out of range".into())
                }
                _ => StoreError::Backend(BackendError::new(e)),
            },
            _ => StoreError::Backend(BackendError::new(e)),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Backend(BackendError::new(e))
    }
}
