//! One recognizer per category. Each reads the [`Views`] of a text and pushes
//! [`Finding`]s with spans of the original text.

pub(crate) mod address;
pub(crate) mod email;
pub(crate) mod handle;
pub(crate) mod link;
pub(crate) mod replace;
pub(crate) mod request;
mod util;

use crate::views::Views;
use crate::Finding;

/// A recognizer of one kind of contact information.
pub(crate) trait Recognizer: Send + Sync + std::fmt::Debug {
    /// Appends what it finds in `views` to `out`.
    fn scan(&self, views: &Views<'_>, out: &mut Vec<Finding>);

    /// Compiles every pattern now rather than on first use.
    fn warm(&self);
}

pub(crate) mod numbers;
pub(crate) mod phone;
