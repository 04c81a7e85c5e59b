//! payment-svc owns user point wallets (with a ledger of every movement), coupons,
//! payments and refunds, in its own Postgres database. Only the gateway calls it.
//!
//! A call goes down four layers, each in its own module, the same in every service:
//!
//! - [`grpc`]: the `PaymentService` implementation (`service.rs`) and proto <->
//!   domain conversions with request validation (`convert.rs`). No SQL, no pool.
//! - [`usecase`]: what each call does: owns the transaction, applies the domain's
//!   rules, writes through the store (Charge, Refund, top-ups, coupons, reads).
//! - [`store`]: all SQL, one module per table group; functions take a connection.
//! - [`domain`]: wallets, coupons, payments and their rules (no transport, no SQL).
//!
//! Around them:
//!
//! - [`config`]: settings from the environment.
//! - [`app`]: building and serving the app (routes and workers).
//! - [`error`]: the service's error type and its one mapping to gRPC statuses.
//! - [`retention`]: the job deleting saga fences no saga can need again.

pub mod app;
pub mod config;
pub(crate) mod domain;
pub(crate) mod error;
pub(crate) mod grpc;
pub(crate) mod retention;
pub(crate) mod store;
pub(crate) mod usecase;

#[cfg(feature = "bench")]
pub mod floor_api;

pub use app::App;
pub use config::Config;
