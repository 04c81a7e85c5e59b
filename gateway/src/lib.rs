//! The gateway is the public edge: `shop.gateway.v1.ShopService` and `AdminService` over
//! gRPC and a REST/JSON facade, JWT auth, idempotency keys, and the checkout sagas it
//! orchestrates over the internal services with a durable saga log. The design, the
//! saga and its invariants are in `docs/design.md`.
//!
//! A public call goes `api` (authenticate, rate-limit, validate) -> `checkout` (the
//! flow, under its idempotency key) -> `saga` (the pay or cancel saga) -> `clients`
//! (one classified call to a service); whatever it ends with is an [`error::Error`],
//! mapped to a status in one place.
//!
//! The edge:
//! - [`api`]: the public services, as thin tonic impls; the REST facade ([`http`])
//!   calls the same impls.
//! - [`auth`]: JWT callers and roles. [`throttle`]: the per-user rate limit on writes.
//!   [`admission`]: how many checkouts run at once.
//! - [`error`]: what a public call can end with, and its one mapping to a status.
//!
//! The flows:
//! - [`checkout`]: place, pay, checkout, cancel, confirm receipt, reading an order.
//! - [`idempotency`]: idempotency keys: claim, settle, replay.
//! - [`saga`]: the pay and cancel sagas (step tables, one engine), their log with
//!   fenced leases, and recovery.
//! - [`clients`]: typed internal clients; every answer classified done, refused or
//!   unknown.
//! - [`events`]: following delivery events (automatic receipt), parking what cannot
//!   be applied.
//! - [`audit`]: the admin audit trail.
//! - [`ids`]: typed ids (order, saga, user, payment, coupon, product).
//!
//! Storage and running:
//! - [`store`]: the gateway's own SQL besides the saga log (idempotency keys, the
//!   audit trail, consumer offsets, parked events).
//! - [`retention`]: deleting old sagas, parked events and audit entries.
//! - [`config`]: settings from the environment. [`app`]: building and serving the app
//!   and its background work. [`listener`]: the REST listener with connection, header
//!   and idle bounds. [`readiness`]: the check behind `/readyz`. [`gauges`]: the saga
//!   and event backlog, sampled for the metrics.

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
