//! Retention of the gateway's own records: finished sagas with their steps and
//! resolved parked events older than `LOG_RETENTION`, audit entries older than
//! `AUDIT_RETENTION`. Never an unfinished or STUCK saga (recovery and operators need
//! them), never an unresolved parked event. A periodic job, in batches, safe beside
//! other instances. (Idempotency keys have their own expiry, see `idempotency`.)

use std::time::Duration;

use shop_common::{CancellationToken, db, worker};
use sqlx::PgPool;
use tokio::task::JoinHandle;

use crate::audit::Audit;

/// Sagas (or events) one round deletes at most.
const BATCH: i64 = 500;

/// How long each kind of record is kept.
#[derive(Debug, Clone, Copy)]
pub struct Keep {
    pub logs: Duration,
    pub audit: Duration,
}

pub fn spawn(
    pool: PgPool,
    audit: Audit,
    every: Duration,
    keep: Keep,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    worker::spawn_periodic("retention", every, BATCH as usize, shutdown, move || {
        let (pool, audit) = (pool.clone(), audit.clone());
        async move {
            let sagas = purge_sagas(&pool, keep.logs).await?;
            let parked = purge_parked(&pool, keep.logs).await?;
            let audited = audit.purge(keep.audit).await?;
            let total = sagas + parked + audited;
            if total > 0 {
                metrics::counter!("shop_retention_deleted_total").increment(total);
                tracing::info!(sagas, parked, audited, "retention deleted old records");
            }
            Ok(usize::try_from(sagas.max(parked)).unwrap_or(usize::MAX))
        }
    })
}

/// Deletes finished (COMPLETED, COMPENSATED) sagas last changed longer than `keep`
/// ago, with their steps, in one statement; returns how many sagas.
pub async fn purge_sagas(pool: &PgPool, keep: Duration) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "WITH old AS (
             SELECT id FROM sagas
             WHERE state IN ('COMPLETED', 'COMPENSATED') AND updated_at < now() - $1
             ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED),
         steps AS (DELETE FROM saga_steps WHERE saga_id IN (SELECT id FROM old))
         DELETE FROM sagas WHERE id IN (SELECT id FROM old)",
    )
    .bind(db::interval(keep))
    .bind(BATCH)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes parked events resolved longer than `keep` ago.
pub async fn purge_parked(pool: &PgPool, keep: Duration) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM parked_events WHERE (consumer, event_offset) IN (
             SELECT consumer, event_offset FROM parked_events
             WHERE resolved_at < now() - $1 ORDER BY resolved_at LIMIT $2)",
    )
    .bind(db::interval(keep))
    .bind(BATCH)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
