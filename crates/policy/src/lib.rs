//! # parley-policy
//!
//! Turns the detector's findings into a decision for a given context.
