//! The automatic-receipt claim: `receive_due_at` is the durable timer, claimed with
//! `FOR UPDATE SKIP LOCKED` so that with several instances each delivery is received
//! exactly once.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{DeliveryId, OrderId};

/// Marks up to `batch` due open deliveries RECEIVED (auto_received) and returns them;
/// rows another instance has locked are skipped.
pub async fn claim_due(
    conn: &mut PgConnection,
    batch: i64,
) -> Result<Vec<(DeliveryId, OrderId)>, sqlx::Error> {
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
    .fetch_all(conn)
    .await?;
    Ok(claimed
        .into_iter()
        .map(|(id, order_id)| (DeliveryId(id), OrderId(order_id)))
        .collect())
}
