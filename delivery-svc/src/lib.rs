//! delivery-svc holds delivery info in Redis (with a TTL) until the order is paid, then
//! owns deliveries and their automatic receipt, in its own Postgres database. Only the
//! gateway calls it.
//!
//! - [`config`]: settings from the environment.
//! - [`app`]: building and serving the app, and the automatic-receipt worker.
//! - [`domain`]: delivery info, holds, deliveries and their state machine, events.
//! - [`deliveries`]: what each call does (holds in Redis, deliveries in Postgres).
//! - [`store`]: all SQL, and the Redis holds.
//! - [`grpc`]: the tonic service and proto conversions.
//! - [`error`]: the error type and its mapping to gRPC statuses.
//! - [`relay`]: publishing the outbox to RabbitMQ when `AMQP_URL` is set.
//! - [`retention`]: erasing personal data past its retention, deleting old logs.

pub mod app;
pub mod config;
pub mod deliveries;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod relay;
pub mod retention;
pub mod store;

pub use app::App;
pub use config::Config;
