//! # parley-detect
//!
//! Finds contact information — phone numbers, email addresses, street addresses,
//! contact and off-platform links, handles on other platforms — and requests to
//! move a conversation off the platform, in text written by people who may be
//! trying hard to hide it.
//!
//! The crate is pure: no I/O, no async, no global state. Build a [`Detector`] once
//! and share it across threads (it is `Send + Sync`).
//!
//! ```
//! use parley_detect::{Category, Detector};
//!
//! let detector = Detector::builder().build().unwrap();
//! let text = "call me at +1 (312) 555-0148 tomorrow";
//! let findings = detector.scan(text);
//! assert_eq!(findings[0].category, Category::Phone);
//! assert_eq!(&text[findings[0].start..findings[0].end], findings[0].matched);
//! ```
//!
//! ## Map of the crate
//! - [`finding`]: what is reported ([`Finding`], [`Category`], [`LinkKind`]).
//! - [`detector`]: the [`DetectorBuilder`] (options) and the [`Detector`].
//! - [`views`]: the normalization layer — several views of one text, each
//!   mapping every byte back to the original.
//! - `recognize/`: one recognizer per category, each scanning the views.
//! - [`mask`]: replacing findings in a text, and the span guarantees.
//! - [`window`]: scanning several recent texts as one, for details split
//!   across messages.
//! - `data/`: the word and domain lists, embedded at build time and extensible
//!   through the builder.
//!
//! `DESIGN.md` beside this crate explains how the views and recognizers combine.

pub mod detector;
mod error;
pub mod finding;
pub mod mask;
mod recognize;
pub mod views;
pub mod window;

pub use detector::{BuildError, Detector, DetectorBuilder};
pub use finding::{Category, Finding, LinkKind};
pub use mask::{check_findings, mask, merged_spans};
pub use recognize::phone::warm_phone_metadata;
pub use window::WindowFinding;
