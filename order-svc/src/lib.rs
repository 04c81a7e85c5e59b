//! order-svc owns the catalog (products and stock) and orders, in its own Postgres
//! database. Only the gateway calls it.
//!
//! - [`config`]: settings from the environment.
//! - [`app`]: building and serving the app (gRPC routes and the expiry sweeper).
//! - [`domain`]: products, orders and the order state machine; no transport, no SQL.
//! - [`store`]: all SQL: catalog, orders, transitions, stock fences, outbox.
//! - [`grpc`]: the OrderService implementation and proto conversions.
//! - [`sweeper`]: the background worker expiring unpaid orders.
//! - [`relay`]: publishing the outbox to RabbitMQ when `AMQP_URL` is set.
//! - [`retention`]: the job deleting old outbox events and moot saga fences.
//! - [`error`]: the service's error type and its mapping to gRPC statuses.

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod relay;
pub mod retention;
pub mod store;
pub mod sweeper;

pub use app::App;
pub use config::Config;
