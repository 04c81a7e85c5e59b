//! payment-svc owns user point wallets (with a ledger of every movement), coupons,
//! payments and refunds, in its own Postgres database. Only the gateway calls it.
//!
//! - [`config`]: settings from the environment.
//! - [`app`]: building and serving the app.
//! - [`domain`]: wallets, coupons, payments and their rules (no transport, no SQL).
//! - [`store`]: all SQL, including the one-transaction Charge and Refund saga steps.
//! - [`grpc`]: the `PaymentService` implementation and proto conversions.
//! - [`error`]: the service's error type and its mapping to gRPC statuses.
//! - [`retention`]: the job deleting saga fences no saga can need again.

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod retention;
pub mod store;

pub use app::App;
pub use config::Config;
