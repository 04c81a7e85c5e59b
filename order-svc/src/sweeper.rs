//! The expiry sweeper: unpaid orders past `expires_at` become EXPIRED, in batches,
//! safely alongside other instances (rows locked elsewhere are skipped).

use std::time::Duration;

use shop_common::{CancellationToken, worker};
use sqlx::PgPool;
use tokio::task::JoinHandle;

use crate::usecase::transitions;

const BATCH: usize = 100;

pub fn spawn(pool: PgPool, every: Duration, shutdown: CancellationToken) -> JoinHandle<()> {
    worker::spawn_periodic("expiry-sweeper", every, BATCH, shutdown, move || {
        let pool = pool.clone();
        async move {
            let expired = transitions::expire_overdue(&pool, BATCH as i64)
                .await
                .map_err(|err| anyhow::anyhow!(err))?;
            if expired > 0 {
                metrics::counter!("shop_orders_expired_total").increment(expired as u64);
                tracing::info!(expired, "expired unpaid orders");
            }
            Ok(expired)
        }
    })
}
