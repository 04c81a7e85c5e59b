//! Domain events end to end: the real services with their relays, a private RabbitMQ,
//! the exporter, and the clients of the gateway.
//!
//! Tests that stop their broker start one of their own; the others share one node
//! and use a queue of their own, so they do not see each other's failures.

mod broker_down;
mod exactly_once;
mod poison;
mod process;
mod stack;
mod tail;
