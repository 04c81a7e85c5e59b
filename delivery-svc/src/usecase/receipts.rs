//! The automatic receipt: deliveries past `receive_due_at` become RECEIVED, with
//! their DELIVERY_RECEIVED events, in batches (the auto-receipt worker's round).

use sqlx::PgPool;

use crate::{
    domain::{DeliveryStatus, EventKind},
    error::Error,
    store::{
        events::{self, NewEvent},
        receipts,
    },
};

/// Receives up to `batch` due open deliveries in one transaction. Returns how many.
pub async fn receive_due(pool: &PgPool, batch: i64) -> Result<usize, Error> {
    let mut tx = pool.begin().await?;
    let claimed = receipts::claim_due(&mut tx, batch).await?;
    let new_events: Vec<NewEvent> = claimed
        .iter()
        .map(|&(delivery_id, order_id)| NewEvent {
            delivery_id,
            order_id,
            kind: EventKind::Received,
            status: DeliveryStatus::Received,
            auto_received: true,
        })
        .collect();
    events::append(&mut tx, &new_events).await?;
    tx.commit().await?;
    if !claimed.is_empty() {
        metrics::counter!("shop_auto_receipts_total").increment(claimed.len() as u64);
        tracing::info!(count = claimed.len(), "deliveries received automatically");
    }
    Ok(claimed.len())
}
