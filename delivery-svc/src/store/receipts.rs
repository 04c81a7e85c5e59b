//! The automatic-receipt timer: `receive_due_at` is the durable timer, claimed with
//! `FOR UPDATE SKIP LOCKED` so that with several instances each delivery is received
//! exactly once.

use sqlx::PgPool;
use uuid::Uuid;

use super::events::{self, NewEvent};
use crate::{
    domain::{DeliveryId, DeliveryStatus, EventKind, OrderId},
    error::Error,
};

/// Marks up to `batch` due open deliveries RECEIVED (auto_received) with their
/// DELIVERY_RECEIVED events, in one transaction. Returns how many.
pub async fn receive_due(pool: &PgPool, batch: i64) -> Result<usize, Error> {
    let mut tx = pool.begin().await?;
    let claimed: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "UPDATE deliveries
         SET status = 'RECEIVED', received_at = now(), auto_received = true
         WHERE id IN (
             SELECT id FROM deliveries
             WHERE status IN ('PREPARING', 'SHIPPED', 'DELIVERED') AND receive_due_at <= now()
             ORDER BY receive_due_at
             LIMIT $1
             FOR UPDATE SKIP LOCKED)
           AND status IN ('PREPARING', 'SHIPPED', 'DELIVERED')
         RETURNING id, order_id",
    )
    .bind(batch)
    .fetch_all(&mut *tx)
    .await?;
    let new_events: Vec<NewEvent> = claimed
        .iter()
        .map(|(id, order_id)| NewEvent {
            delivery_id: DeliveryId(*id),
            order_id: OrderId(*order_id),
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
