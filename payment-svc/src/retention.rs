//! Retention of payment-svc's saga fences (`LOG_RETENTION`). A fence is kept while a
//! saga may still need it: the CHARGE fence of a payment that is still charged is
//! what a later refund (cancelling a paid order, any time) goes by, so it stays. A
//! tombstone, or the fence of a refunded payment, that is older than the retention
//! has nothing left to guard: every saga step is bounded to seconds, and a refund
//! repeated after that finds the payment refunded. Payments, the ledger and coupons
//! are business records and stay.

use std::time::Duration;

use shop_common::{CancellationToken, db, worker};
use sqlx::PgPool;
use tokio::task::JoinHandle;

/// Rows one statement deletes at most.
const BATCH: i64 = 1000;

pub fn spawn(
    pool: PgPool,
    every: Duration,
    keep: Duration,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    worker::spawn_periodic("retention", every, BATCH as usize, shutdown, move || {
        let pool = pool.clone();
        async move { Ok(purge(&pool, keep).await?) }
    })
}

/// One round: returns how many fences went.
pub async fn purge(pool: &PgPool, keep: Duration) -> sqlx::Result<usize> {
    let deleted = sqlx::query(
        "DELETE FROM saga_fences WHERE (order_id, saga_id) IN (
             SELECT f.order_id, f.saga_id FROM saga_fences f
             WHERE f.created_at < now() - $1
               AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = f.order_id
                               AND p.saga_id = f.saga_id AND p.status = 'CHARGED')
             ORDER BY f.created_at LIMIT $2)",
    )
    .bind(db::interval(keep))
    .bind(BATCH)
    .execute(pool)
    .await?
    .rows_affected();
    if deleted > 0 {
        metrics::counter!("shop_retention_deleted_total").increment(deleted);
        tracing::info!(fences = deleted, "retention deleted old saga fences");
    }
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}
