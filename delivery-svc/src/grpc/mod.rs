//! The gRPC face of delivery-svc.
//!
//! - [`service`]: the `shop.delivery.v1.DeliveryService` implementation.
//! - [`convert`]: request validation and proto <-> domain conversion.
//! - [`stream`]: following the outbox for StreamEvents.

pub mod convert;
pub mod service;
pub mod stream;

pub use service::server;
