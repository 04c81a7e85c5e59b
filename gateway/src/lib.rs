//! The gateway is the public edge: `shop.gateway.v1.ShopService` and `AdminService` over
//! gRPC and a REST/JSON facade, JWT auth, idempotency keys, and the checkout sagas it
//! orchestrates over the internal services with a durable saga log.
//!
//! - [`config`]: settings from the environment.
//! - [`app`]: building and serving the app and its background work.
//! - [`auth`]: JWT callers and roles.
//! - [`ids`]: typed ids (order, saga, user, payment, coupon, product).
//! - [`clients`]: typed internal clients; every answer classified done, refused or
//!   unknown.
//! - [`error`]: what a public call can end with, and its one mapping to a status.
//! - [`api`]: the public services, as thin tonic impls.
//! - [`checkout`]: the place / pay / cancel / receive flows and reading an order.
//! - [`saga`]: the pay and cancel sagas, their log and recovery.
//! - [`idempotency`]: idempotency keys: claim, settle, replay.
//! - [`events`]: following delivery events (automatic receipt), parking what cannot
//!   be applied.
//! - [`store`]: the gateway's own SQL besides the saga log (idempotency keys, offsets,
//!   parked events, the audit trail).
//! - [`gauges`]: the saga and event backlog, sampled for the metrics.
//! - [`http`]: the REST facade.
//! - [`readiness`]: the readiness check behind `/readyz` (cached about a second).
//! - [`listener`]: the REST listener with connection, header and idle bounds.
//! - [`throttle`]: the per-user rate limit on writes.
//! - [`audit`]: the admin audit trail.
//! - [`retention`]: deleting old sagas, parked events and audit entries.

pub mod admission;
pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod checkout;
pub mod clients;
pub mod config;
pub mod error;
pub mod events;
pub mod gauges;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod listener;
pub mod readiness;
pub mod retention;
pub mod saga;
pub mod store;
pub mod throttle;

pub use app::App;
pub use config::Config;
