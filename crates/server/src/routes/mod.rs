//! HTTP routes, one module per resource, each exposing `router()`.

pub mod uploads;
