//! Retention of order-svc's own records (`LOG_RETENTION`): outbox events by the rule
//! of [`shop_events::outbox`] (every named reader past them and, with the broker
//! relay on, the broker's confirmation), and the saga fences of orders that can no
//! longer change. Runs as a periodic job, in batches, safely beside other instances
//! (each delete is a statement of its own). Orders, their lines and reservations still in force are
//! business records and stay.

use std::time::Duration;

use shop_common::{CancellationToken, db, worker};
use shop_events::outbox;
use sqlx::PgPool;
use tokio::task::JoinHandle;

/// Rows one statement deletes at most.
const BATCH: i64 = 1000;

/// States in which no saga can touch an order again: its fences are moot.
const FINAL: &str = "('CANCELLED', 'EXPIRED', 'FAILED', 'RECEIVED')";

pub fn spawn(
    pool: PgPool,
    every: Duration,
    keep: Duration,
    relay_on: bool,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    worker::spawn_periodic("retention", every, BATCH as usize, shutdown, move || {
        let pool = pool.clone();
        async move { Ok(purge(&pool, keep, relay_on).await?) }
    })
}

/// One round: returns how many rows went. `relay_on`: the broker relay runs, so an
/// event it has not published yet stays.
pub async fn purge(pool: &PgPool, keep: Duration, relay_on: bool) -> sqlx::Result<usize> {
    let keep = db::interval(keep);
    let events = outbox::purge(pool, "order_events", keep, BATCH, relay_on).await?;
    let fences = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM payment_fences WHERE (order_id, saga_id) IN (
             SELECT f.order_id, f.saga_id FROM payment_fences f JOIN orders o ON o.id = f.order_id
             WHERE f.updated_at < now() - $1 AND o.status IN {FINAL}
             ORDER BY f.updated_at LIMIT $2)"
    )))
    .bind(keep)
    .bind(BATCH)
    .execute(pool)
    .await?
    .rows_affected();
    // A RESERVED row is stock still taken (stock_audit counts it): only released
    // ones go.
    let released = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM stock_reservations WHERE (order_id, saga_id) IN (
             SELECT r.order_id, r.saga_id FROM stock_reservations r JOIN orders o ON o.id = r.order_id
             WHERE r.state = 'RELEASED' AND r.released_at < now() - $1 AND o.status IN {FINAL}
             ORDER BY r.released_at LIMIT $2)"
    )))
    .bind(keep)
    .bind(BATCH)
    .execute(pool)
    .await?
    .rows_affected();
    let total = events + fences + released;
    if total > 0 {
        metrics::counter!("shop_retention_deleted_total").increment(total);
        tracing::info!(events, fences, released, "retention deleted old records");
    }
    Ok(usize::try_from(total).unwrap_or(usize::MAX))
}
