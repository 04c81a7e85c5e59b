//! delivery-svc holds delivery info in Redis (with a TTL) until the order is paid, then
//! owns deliveries and their automatic receipt, in its own Postgres database. Only the
//! gateway calls it.
//!
//! A call goes down four layers, each in its own module, the same in every service:
//!
//! - [`grpc`]: the DeliveryService implementation (`service.rs`), proto <-> domain
//!   conversions with request validation (`convert.rs`), StreamEvents (`stream.rs`).
//!   No SQL, no Redis.
//! - [`usecase`]: what each call does: owns the transaction (and the order's lock),
//!   reads the hold, decides with the domain, writes through the store, appends the
//!   outbox event; the automatic receipt.
//! - [`store`]: all SQL (deliveries, fences, outbox) and the Redis holds.
//! - [`domain`]: delivery info, holds, deliveries and their state machine, events (no
//!   transport, no SQL).
//!
//! Around them:
//!
//! - [`config`]: settings from the environment.
//! - [`app`]: building and serving the app (routes and workers).
//! - [`error`]: the error type and its one mapping to gRPC statuses.
//! - [`relay`]: publishing the outbox to RabbitMQ when `AMQP_URL` is set.
//! - [`retention`]: erasing personal data past its retention, deleting old logs.

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod relay;
pub mod retention;
pub mod store;
pub mod usecase;

pub use app::App;
pub use config::Config;
