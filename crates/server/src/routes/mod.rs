//! HTTP routes, one module per resource, each exposing `router()`.

pub mod files;
pub mod uploads;
