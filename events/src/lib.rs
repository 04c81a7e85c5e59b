//! Domain events on RabbitMQ, shared by everything that publishes or reads them.
//!
//! order-svc and delivery-svc write their events to an outbox table in the transaction
//! of the change (`order_events`, `delivery_events`). When `AMQP_URL` is set, each runs
//! a [`relay`] that publishes that outbox to the durable topic exchange `shop.events`
//! with publisher confirms, one active relay per service across instances.
//!
//! - [`config`]: `AMQP_URL` (unset = no broker, nothing changes).
//! - [`topology`]: exchange, routing keys, message properties, consumer queues with
//!   their dead-letter queue.
//! - [`broker`]: connecting with a deadline, and the backoff while the broker is down.
//! - [`codec`]: the message body (the contract's protobuf event) and its proto3 JSON.
//! - [`leader`]: the Postgres advisory lock that makes one relay per service active.
//! - [`relay`]: the outbox relay loop.
//! - [`outbox`]: the outbox's readers' cursors and its retention.
//! - [`tail`]: `shopctl events tail` and `shopctl events dead-letters`.
//! - [`cli`]: the `shopctl events` subcommand.

pub mod broker;
pub mod cli;
pub mod codec;
pub mod config;
pub mod leader;
pub mod outbox;
pub mod relay;
pub mod tail;
pub mod topology;

pub use config::RelayConfig;
pub use relay::{Outbox, Outgoing};
