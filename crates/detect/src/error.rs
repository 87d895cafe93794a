//! The error of building a [`Detector`](crate::Detector).

/// An error building a [`Detector`] from options.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    /// A phone region is not a known ISO 3166-1 alpha-2 code.
    #[error("unknown phone region {0:?} (expected an ISO 3166-1 alpha-2 code such as \"US\")")]
    UnknownRegion(String),
    /// A language for number and at/dot words is not supported.
    #[error("unsupported language {0:?} (supported: en, es, pt, fr, de, ru)")]
    UnsupportedLanguage(String),
    /// A line of an operator-supplied data list is malformed.
    #[error("bad {list} entry {entry:?}: {reason}")]
    BadListEntry {
        /// Which list.
        list: String,
        /// The entry.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
}
