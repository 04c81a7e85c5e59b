//! All SQL of order-svc. Functions take a pool (and open their own transaction when
//! a change spans several rows) or a connection inside the caller's transaction.
//!
//! - [`products`]: the catalog and its stock adjustments.
//! - [`orders`]: creating, reading and listing orders.
//! - [`transitions`]: status changes under the order's row lock, and the sweeper's batch.
//! - [`stock`]: the ReserveStock / ReleaseStock fence and stock movements.
//! - [`events`]: the order outbox.

pub mod events;
pub mod orders;
pub mod products;
pub mod stock;
pub mod transitions;
