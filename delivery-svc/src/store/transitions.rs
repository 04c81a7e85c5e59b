//! Status changes of an existing delivery, each with its event in the same transaction,
//! and cancellation, which leaves a tombstone when there is no delivery yet.

use sqlx::{PgConnection, PgPool};

use super::{
    deliveries::{Row, find_for_update},
    events::{self, NewEvent},
    lock_order,
};
use crate::{
    domain::{
        Action, Delivery, EventKind, OrderId, SagaId, Transition, UserId, delivery::transition,
    },
    error::Error,
};

pub enum Applied {
    Changed(Delivery),
    /// A repeat: the delivery was already in the target status.
    Unchanged(Delivery),
}

impl Applied {
    pub fn delivery(self) -> Delivery {
        match self {
            Self::Changed(d) | Self::Unchanged(d) => d,
        }
    }
}

/// Applies `action` to the order's delivery. `None` when there is no delivery, or it
/// belongs to someone other than `owner` (when given).
pub async fn apply(
    pool: &PgPool,
    order_id: OrderId,
    action: Action,
    owner: Option<UserId>,
) -> Result<Option<Applied>, Error> {
    let mut tx = pool.begin().await?;
    let Some(delivery) = find_for_update(&mut tx, order_id).await? else {
        return Ok(None);
    };
    if owner.is_some_and(|owner| owner != delivery.user_id) {
        return Ok(None);
    }
    let applied = change(&mut tx, delivery, action, None).await?;
    tx.commit().await?;
    Ok(Some(applied))
}

pub enum Cancelled {
    Now(Delivery),
    Already(Delivery),
    /// There was no delivery: a fence now refuses this saga's late ConfirmDelivery.
    Tombstone,
}

/// Cancels a PREPARING delivery, or fences the saga when there is none yet.
pub async fn cancel(
    pool: &PgPool,
    order_id: OrderId,
    saga_id: SagaId,
    reason: &str,
) -> Result<Cancelled, Error> {
    let mut tx = pool.begin().await?;
    lock_order(&mut tx, order_id).await?;
    let outcome = match find_for_update(&mut tx, order_id).await? {
        Some(delivery) => match change(&mut tx, delivery, Action::Cancel, Some(reason)).await? {
            Applied::Changed(d) => Cancelled::Now(d),
            Applied::Unchanged(d) => Cancelled::Already(d),
        },
        None => {
            sqlx::query(
                "INSERT INTO delivery_cancel_fences (order_id, saga_id, reason)
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(order_id.0)
            .bind(saga_id.0)
            .bind(reason)
            .execute(&mut *tx)
            .await?;
            Cancelled::Tombstone
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Decides with the state machine, then writes the new status (its timestamp column
/// too) and the event. The row is locked by the caller. A cancelled delivery will not
/// be delivered: its recipient, address, contact and note are erased in the same
/// statement.
async fn change(
    conn: &mut PgConnection,
    delivery: Delivery,
    action: Action,
    reason: Option<&str>,
) -> Result<Applied, Error> {
    let to = match transition(delivery.status, action)? {
        Transition::Unchanged => return Ok(Applied::Unchanged(delivery)),
        Transition::To(to) => to,
    };
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
    .fetch_one(&mut *conn)
    .await?;
    let changed = Delivery::try_from(row)?;
    events::append(
        conn,
        &[NewEvent {
            delivery_id: changed.id,
            order_id: changed.order_id,
            kind: EventKind::entering(to),
            status: to,
            auto_received: false,
        }],
    )
    .await?;
    Ok(Applied::Changed(changed))
}
