//! The checkout sagas the gateway orchestrates, and their durable log.
//!
//! - [`model`]: saga, steps, states and the step tables, as plain data.
//! - [`engine`]: the one loop that drives a saga over its table (and the rule for
//!   refused and unknown outcomes), writing every step to the log.
//! - [`pay`]: the pay saga's calls and their undo.
//! - [`cancel`]: the calls that cancel a paid, unshipped order.
//! - [`log`]: the saga log in the gateway database, with fenced leases.
//! - [`recovery`]: claiming and resuming abandoned sagas.

pub mod cancel;
pub mod engine;
pub mod log;
pub mod model;
pub mod pay;
pub mod recovery;

pub use engine::{Engine, Halt};
pub use log::SagaLog;
pub use model::{Saga, State};
