//! The checkout sagas the gateway orchestrates, and their durable log.
//!
//! - [`model`]: saga, steps and states as plain data.
//! - [`log`]: the saga log in the gateway database (written before and after each step).
//! - [`engine`]: running steps with logging, deadlines and retries.
//! - [`pay`]: the pay saga and its compensation.
//! - [`cancel`]: cancelling a paid, unshipped order.
//! - [`recovery`]: resuming abandoned sagas.

pub mod cancel;
pub mod engine;
pub mod log;
pub mod model;
pub mod pay;
pub mod recovery;

pub use engine::{Engine, Halt};
pub use log::SagaLog;
pub use model::{Saga, State};
