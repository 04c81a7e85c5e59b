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
pub(crate) mod domain;
pub(crate) mod error;
pub(crate) mod grpc;
pub(crate) mod relay;
pub(crate) mod retention;
pub(crate) mod store;
pub(crate) mod usecase;

#[cfg(feature = "bench")]
pub mod floor_api;

pub use app::App;
pub use config::Config;
/// The Redis connection (plain, Sentinel), public so that deployment checks can try a
/// `REDIS_URL` the way the service reads it.
pub use store::redis::Redis;
