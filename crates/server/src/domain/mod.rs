//! The domain layer: one module per concept, typed inputs and outputs, each decision and its
//! consequences in one store transaction.

pub mod files;
pub mod scan;
pub mod tus;
pub mod uploads;
