//! The domain layer: one module per concept. Each operation takes typed inputs and the
//! caller's identity (validated by the routes), applies the detector and the policy, performs
//! the writes it implies through the store, tells the bus whom to wake, and returns a typed
//! result or a [`DomainError`]. Nothing here knows about HTTP.

pub mod appeals;
pub mod attachments;
pub mod availability;
pub mod calendar;
pub mod call_frames;
pub mod call_history;
pub mod call_ice;
pub mod call_metrics;
pub mod call_signals;
pub mod call_sweep;
pub mod calls;
pub mod clock;
pub mod conversations;
pub mod dashboard;
pub mod decide;
pub mod demo;
pub mod directory;
pub mod enforcement;
pub mod error;
pub mod events;
pub mod exports;
pub mod files;
pub mod ids;
pub mod listings;
pub mod messages;
pub mod metrics;
pub mod moderation;
pub mod policy_audit;
pub mod queue;
pub mod reminders;
pub mod reports;
pub mod scan;
pub mod scheduling;
pub mod slots;
pub mod split;
pub mod standing;
pub mod statements;
pub mod tus;
pub mod uploads;
pub mod users;
pub mod views;
pub mod webhooks;

pub use error::{DomainError, DomainResult};
