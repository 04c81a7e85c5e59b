//! All storage: SQL for deliveries, fences and the outbox (Postgres), holds (Redis).
//! Functions take a pool or the caller's connection; transactions belong to
//! [`crate::usecase`].
//!
//! - [`deliveries`]: reading and inserting deliveries, and the cancel fence check.
//! - [`transitions`]: the status update and the cancel fence (tombstone).
//! - [`receipts`]: the automatic-receipt claim.
//! - [`events`]: the outbox.
//! - [`holds`] and [`redis`]: holds in Redis and the connection behind them.

pub mod deliveries;
pub mod events;
pub mod holds;
pub mod receipts;
pub mod redis;
pub mod transitions;

use sqlx::PgConnection;

use crate::domain::OrderId;

/// Advisory-lock namespace (first key) for per-order locks: serializes confirm and
/// cancel of one order so a cancel tombstone and a new delivery can never cross.
const ORDER_LOCK_SPACE: i32 = 0x0de1_0001;

/// Held until the end of the transaction.
pub async fn lock_order(conn: &mut PgConnection, order_id: OrderId) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2::text))")
        .bind(ORDER_LOCK_SPACE)
        .bind(order_id.0)
        .execute(conn)
        .await?;
    Ok(())
}
