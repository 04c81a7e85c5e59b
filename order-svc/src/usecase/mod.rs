//! What each OrderService call does: each function owns its transaction, reads under
//! the locks it needs, decides with [`crate::domain`] and writes through
//! [`crate::store`], outbox event included. Reads that are a single query are the
//! store's own functions, re-exported here so that `grpc/` calls only this layer.
//!
//! - [`catalog`]: CreateProduct, AdjustStock, GetProduct, ListProducts.
//! - [`orders`]: CreateOrder, GetOrder, ListOrders.
//! - [`transitions`]: every status change (the pay-saga steps, cancel, receipt) and
//!   the expiry sweeper's round.
//! - [`stock`]: ReserveStock, ReleaseStock and CheckStock.
//! - [`events`]: StreamEvents' reads and the readers' cursors.

pub mod catalog;
pub mod orders;
pub mod stock;
pub mod transitions;

/// The outbox as StreamEvents reads it, and the readers' cursors.
pub mod events {
    use sqlx::PgPool;

    use crate::error::Error;
    pub use crate::store::events::read_after;

    /// Remembers that the reader `consumer` has read the outbox up to `offset`.
    pub async fn remember_cursor(pool: &PgPool, consumer: &str, offset: i64) -> Result<(), Error> {
        Ok(shop_events::outbox::remember_cursor(pool, consumer, offset).await?)
    }
}
