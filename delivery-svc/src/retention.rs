//! The jobs that keep delivery-svc's data no longer than its purpose needs: erasing
//! the personal data of deliveries received `DELIVERY_PII_RETENTION` ago (cancelled
//! ones lose it when cancelled), and deleting outbox events every named reader is past
//! and cancel fences older than `LOG_RETENTION`. Durable like the automatic receipt:
//! what is due is found in the table, claimed with `FOR UPDATE SKIP LOCKED`, so any
//! number of instances may run them.

use std::time::Duration;

use shop_common::{CancellationToken, db, worker};
use shop_events::outbox;
use sqlx::PgPool;
use tokio::task::JoinHandle;

/// Rows one statement changes at most.
const BATCH: i64 = 500;

/// How long the records are kept.
#[derive(Debug, Clone, Copy)]
pub struct Keep {
    pub personal_data: Duration,
    pub logs: Duration,
    /// The broker relay runs: an event it has not published yet stays.
    pub relay_on: bool,
}

pub fn spawn(
    pool: PgPool,
    every: Duration,
    keep: Keep,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    worker::spawn_periodic("retention", every, BATCH as usize, shutdown, move || {
        let pool = pool.clone();
        async move {
            let redacted = redact_received(&pool, keep.personal_data).await?;
            let deleted = purge_logs(&pool, keep.logs, keep.relay_on).await?;
            Ok(redacted.max(deleted))
        }
    })
}

/// Erases recipient, address, contact and note of deliveries received longer than
/// `keep` ago. The delivery, its status and times stay.
pub async fn redact_received(pool: &PgPool, keep: Duration) -> sqlx::Result<usize> {
    let redacted = sqlx::query(
        "UPDATE deliveries
         SET recipient_name = '', address = '', contact = '', requirement = '', redacted_at = now()
         WHERE id IN (
             SELECT id FROM deliveries
             WHERE status = 'RECEIVED' AND redacted_at IS NULL AND received_at <= now() - $1
             ORDER BY received_at
             LIMIT $2
             FOR UPDATE SKIP LOCKED)",
    )
    .bind(db::interval(keep))
    .bind(BATCH)
    .execute(pool)
    .await?
    .rows_affected();
    if redacted > 0 {
        metrics::counter!("shop_deliveries_redacted_total").increment(redacted);
        tracing::info!(redacted, "erased the personal data of received deliveries");
    }
    Ok(usize::try_from(redacted).unwrap_or(usize::MAX))
}

/// Deletes outbox events by the rule of [`shop_events::outbox`] and cancel fences
/// older than `keep`: a fence only matters while the order's hold can still exist,
/// which is at most the maximum hold time.
pub async fn purge_logs(pool: &PgPool, keep: Duration, relay_on: bool) -> sqlx::Result<usize> {
    let events = outbox::purge(pool, "delivery_events", keep, BATCH, relay_on).await?;
    let keep = db::interval(keep);
    let fences = sqlx::query(
        "DELETE FROM delivery_cancel_fences WHERE (order_id, saga_id) IN (
             SELECT order_id, saga_id FROM delivery_cancel_fences
             WHERE created_at < now() - $1 ORDER BY created_at LIMIT $2)",
    )
    .bind(keep)
    .bind(BATCH)
    .execute(pool)
    .await?
    .rows_affected();
    let total = events + fences;
    if total > 0 {
        metrics::counter!("shop_retention_deleted_total").increment(total);
        tracing::info!(events, fences, "retention deleted old records");
    }
    Ok(usize::try_from(events.max(fences)).unwrap_or(usize::MAX))
}
