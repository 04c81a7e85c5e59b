//! The checkout sagas the gateway orchestrates, and their durable log.
//!
//! - [`model`]: saga, steps and states as plain data.
//! - [`tables`]: the step table of each saga (pivot, undo, what a refusal means).
//! - [`engine`]: the one loop that drives a saga over its table, and the rule for
//!   refused and unknown outcomes.
//! - `writes`: the saga's writes to its log (conditional on its lease) and the lease's
//!   heartbeat.
//! - [`steps`]: what each step calls, and its undo.
//! - [`log`]: the saga log in the gateway database, with fenced leases.
//! - [`recovery`]: claiming and resuming abandoned sagas.

pub mod engine;
pub mod log;
pub mod model;
pub mod recovery;
pub mod steps;
pub mod tables;
mod writes;

pub use engine::{Engine, Halt};
pub use log::SagaLog;
pub use model::{Saga, State};
