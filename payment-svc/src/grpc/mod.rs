//! The gRPC face of payment-svc.
//!
//! - [`service`]: the `PaymentService` implementation.
//! - [`convert`]: request validation into domain commands, and domain types into
//!   proto messages (the only place the two meet).

pub mod convert;
pub mod service;

pub use service::PaymentApi;
