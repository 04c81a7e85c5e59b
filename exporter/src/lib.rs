//! The exporter: the after-commit data export of seed 004 as a consumer of
//! `shop.events`. It reads every order and delivery event from its own durable queue
//! into its own Postgres database (an order fact table and a status timeline an
//! analyst can query), never calls the services, and so can never affect an order.
//!
//! - [`config`]: settings from the environment.
//! - [`app`]: building and running it (migrations, health, the consumer).
//! - [`fact`]: what an event means for the facts; decoding and validating messages.
//! - [`store`]: all SQL: deduplication and facts in one transaction.
//! - [`consumer`]: the queue, acknowledgements, bounded retries, reconnecting.

pub mod app;
pub mod config;
pub(crate) mod consumer;
pub(crate) mod fact;
pub(crate) mod store;

pub use app::App;
pub use config::Config;
