//! What every checkout service shares.
//!
//! - [`app`]: the run-until-signal shape of every binary.
//! - [`config`]: settings from the environment, with one-line errors naming the variable.
//! - [`telemetry`]: logs and traces (the tracing subscriber, OpenTelemetry, OTLP export).
//! - [`trace`]: the W3C trace context, taken from requests and put on internal calls.
//! - [`trace_ids`]: the trace and span ids of log lines.
//! - [`metrics`]: the Prometheus recorder and the `/metrics` endpoint.
//! - [`shutdown`]: the SIGINT/SIGTERM future.
//! - [`grpc`]: serving routes with health, reflection and graceful drain.
//! - [`serving`]: what every service's `App` holds (pool, listener, metrics) and its
//!   run's end (serve, stop and await each worker).
//! - [`grpc_calls`]: the span and metrics of every gRPC call served.
//! - [`auth`]: the internal bearer token, server and client side.
//! - [`status`]: error statuses with `ErrorInfo` reasons and `BadRequest` violations.
//! - [`validate`]: collecting field violations; free text and amounts.
//! - [`checked`]: the end of validation: violations to `Invalid`, accepted values out.
//! - [`internal`]: the internal error every service answers alike (INTERNAL, cause
//!   logged).
//! - [`db`]: Postgres pools and constraint-error translation.
//! - [`ids`]: the [`uuid_id!`] macro every crate declares its typed ids with.
//! - [`secret`]: secrets that do not print in `Debug`.
//! - [`detach`]: each accepted call runs to its end in its own task, within a hard
//!   deadline.
//! - [`limit`]: a face's in-flight limit with load shedding.
//! - [`time`]: chrono <-> protobuf time types.
//! - [`worker`]: background loops with shutdown.

pub mod app;
pub mod auth;
pub mod checked;
pub mod config;
pub mod db;
pub mod detach;
pub mod grpc;
pub mod grpc_calls;
pub mod ids;
pub mod internal;
pub mod limit;
pub mod metrics;
pub mod secret;
pub mod serving;
pub mod shutdown;
pub mod status;
pub mod telemetry;
pub mod time;
pub mod trace;
pub mod trace_ids;
pub mod validate;
pub mod worker;

pub use tokio_util::sync::CancellationToken;
