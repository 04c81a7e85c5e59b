//! What every checkout service shares.
//!
//! - [`app`]: the run-until-signal shape of every binary.
//! - [`config`]: settings from the environment, with one-line errors naming the variable.
//! - [`telemetry`]: the tracing subscriber.
//! - [`shutdown`]: the SIGINT/SIGTERM future.
//! - [`grpc`]: serving routes with health, reflection and graceful drain.
//! - [`auth`]: the internal bearer token, server and client side.
//! - [`status`]: error statuses with `ErrorInfo` reasons and `BadRequest` violations.
//! - [`validate`]: collecting field violations.
//! - [`db`]: Postgres pools and constraint-error translation.
//! - [`detach`]: each accepted call runs to its end in its own task.
//! - [`time`]: chrono <-> protobuf time types.
//! - [`worker`]: background loops with shutdown.

pub mod app;
pub mod auth;
pub mod config;
pub mod db;
pub mod detach;
pub mod grpc;
pub mod shutdown;
pub mod status;
pub mod telemetry;
pub mod time;
pub mod validate;
pub mod worker;

pub use tokio_util::sync::CancellationToken;
