//! All SQL of order-svc, and nothing else. Functions take a pool (a single read) or a
//! connection inside the transaction of the caller in [`crate::usecase`].
//!
//! - [`products`]: the catalog, its stock adjustments and their request keys.
//! - [`orders`]: reading orders with their lines, price quotes, inserting an order.
//! - [`transitions`]: the locked read, the status update, the payment fences, the
//!   sweeper's batch.
//! - [`stock`]: the reservation fence and the stock taken and put back.
//! - [`events`]: the order outbox.

pub mod events;
pub mod orders;
pub mod products;
pub mod stock;
pub mod transitions;
