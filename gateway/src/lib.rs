//! The gateway is the public edge: `shop.gateway.v1.ShopService` and `AdminService` over
//! gRPC and a REST/JSON facade, JWT auth, idempotency keys, and the checkout saga it
//! orchestrates over the internal services with a durable saga log.
//!
//! - [`config`]: settings from the environment.
//! - [`app`]: building and serving the app.

pub mod app;
pub mod config;

pub use app::App;
pub use config::Config;
