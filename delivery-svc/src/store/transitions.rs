//! The SQL of status changes: the conditional status update (which erases a cancelled
//! delivery's personal data in the same statement) and the cancel fence.

use sqlx::PgConnection;

use super::deliveries::Row;
use crate::{
    domain::{Delivery, DeliveryStatus, OrderId, SagaId},
    error::Error,
};

/// Writes `to` (its timestamp column too) over the delivery's current status. A
/// cancelled delivery will not be delivered: its recipient, address, contact and note
/// are erased in the same statement.
pub async fn update_status(
    conn: &mut PgConnection,
    delivery: &Delivery,
    to: DeliveryStatus,
    reason: Option<&str>,
) -> Result<Delivery, Error> {
    let row: Row = sqlx::query_as(
        "UPDATE deliveries SET status = $2,
             shipped_at = CASE WHEN $2 = 'SHIPPED' THEN now() ELSE shipped_at END,
             delivered_at = CASE WHEN $2 = 'DELIVERED' THEN now() ELSE delivered_at END,
             received_at = CASE WHEN $2 = 'RECEIVED' THEN now() ELSE received_at END,
             cancelled_at = CASE WHEN $2 = 'CANCELLED' THEN now() ELSE cancelled_at END,
             cancel_reason = CASE WHEN $2 = 'CANCELLED' THEN $4 ELSE cancel_reason END,
             recipient_name = CASE WHEN $2 = 'CANCELLED' THEN '' ELSE recipient_name END,
             address = CASE WHEN $2 = 'CANCELLED' THEN '' ELSE address END,
             contact = CASE WHEN $2 = 'CANCELLED' THEN '' ELSE contact END,
             requirement = CASE WHEN $2 = 'CANCELLED' THEN '' ELSE requirement END,
             redacted_at = CASE WHEN $2 = 'CANCELLED' THEN now() ELSE redacted_at END
         WHERE id = $1 AND status = $3
         RETURNING *",
    )
    .bind(delivery.id.0)
    .bind(to.as_str())
    .bind(delivery.status.as_str())
    .bind(reason)
    .fetch_one(conn)
    .await?;
    Delivery::try_from(row)
}

/// The tombstone of a cancel that came before any delivery: it refuses this saga's
/// late ConfirmDelivery.
pub async fn insert_cancel_fence(
    conn: &mut PgConnection,
    order_id: OrderId,
    saga_id: SagaId,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO delivery_cancel_fences (order_id, saga_id, reason)
         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(order_id.0)
    .bind(saga_id.0)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}
