//! delivery-svc holds delivery info in Redis (with a TTL) until the order is paid, then
//! owns deliveries and their automatic receipt, in its own Postgres database. Only the
//! gateway calls it.
//!
//! - [`config`]: settings from the environment.
//! - [`app`]: building and serving the app.

pub mod app;
pub mod config;

pub use app::App;
pub use config::Config;
