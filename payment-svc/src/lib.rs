//! payment-svc owns user point wallets (with a ledger of every movement), coupons,
//! payments and refunds, in its own Postgres database. Only the gateway calls it.
//!
//! - [`config`]: settings from the environment.
//! - [`app`]: building and serving the app.

pub mod app;
pub mod config;

pub use app::App;
pub use config::Config;
