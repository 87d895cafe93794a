//! The error of reading configuration, shared by every config section.

/// A configuration problem, with where it came from.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);
