//! order-svc owns the catalog (products and stock) and orders, in its own Postgres
//! database. Only the gateway calls it.
//!
//! A call goes down four layers, each in its own module, the same in every service:
//!
//! - [`grpc`]: the OrderService implementation (`service.rs`), proto <-> domain
//!   conversions with request validation (`convert.rs`), StreamEvents (`stream.rs`).
//!   No SQL, no transactions.
//! - [`usecase`]: what each call does: owns the transaction, locks, calls the
//!   domain's `decide`, writes through the store, appends the outbox event.
//! - [`store`]: all SQL: catalog, orders, transitions, stock fences, outbox.
//! - [`domain`]: products, orders and the order state machine; no transport, no SQL.
//!
//! Around them:
//!
//! - [`config`]: settings from the environment.
//! - [`app`]: building and serving the app (routes and workers).
//! - [`sweeper`]: the background worker expiring unpaid orders.
//! - [`relay`]: publishing the outbox to RabbitMQ when `AMQP_URL` is set.
//! - [`retention`]: the job deleting old outbox events and moot saga fences.
//! - [`error`]: the service's error type and its mapping to gRPC statuses.

pub mod app;
pub mod config;
pub(crate) mod domain;
pub(crate) mod error;
pub(crate) mod grpc;
pub(crate) mod relay;
pub(crate) mod retention;
pub(crate) mod store;
pub(crate) mod sweeper;
pub(crate) mod usecase;

#[cfg(feature = "bench")]
pub mod floor_api;

pub use app::App;
pub use config::Config;
