//! The gRPC face of order-svc.
//!
//! - [`service`]: the `shop.order.v1.OrderService` implementation.
//! - [`convert`]: request validation and proto <-> domain conversion.
//! - [`stream`]: following the outbox for StreamEvents.

pub mod convert;
pub mod service;
pub mod stream;

pub use service::OrderApi;
