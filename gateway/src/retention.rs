//! Retention of the gateway's own records: finished sagas with their steps and
//! resolved parked events older than `LOG_RETENTION`, audit entries older than
//! `AUDIT_RETENTION`. Never an unfinished or STUCK saga (recovery and operators need
//! them), never an unresolved parked event. A periodic job, in batches, safe beside
//! other instances. (Idempotency keys have their own expiry, see `idempotency`.)

use std::time::Duration;

use shop_common::{CancellationToken, worker};
use sqlx::PgPool;
use tokio::task::JoinHandle;

use crate::{audit::Audit, saga, store::parked};

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
            let sagas = saga::log::purge_finished(&pool, keep.logs, BATCH).await?;
            let parked = parked::purge_resolved(&pool, keep.logs, BATCH).await?;
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
