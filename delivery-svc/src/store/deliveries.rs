//! The SQL of deliveries: reading (also under the row lock), the cancel-fence check,
//! and inserting one made from a hold.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    domain::{
        Delivery, DeliveryId, DeliveryInfo, DeliveryStatus, Hold, OrderId, PaymentId, SagaId,
        UserId,
    },
    error::Error,
};
use shop_common::internal::InternalError;

/// A `deliveries` row (`SELECT *`; columns not listed here are ignored).
#[derive(sqlx::FromRow)]
pub(crate) struct Row {
    id: Uuid,
    order_id: Uuid,
    user_id: Uuid,
    saga_id: Uuid,
    payment_id: Option<Uuid>,
    status: String,
    recipient_name: String,
    address: String,
    contact: String,
    requirement: String,
    auto_received: bool,
    created_at: DateTime<Utc>,
    shipped_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    received_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    receive_due_at: DateTime<Utc>,
    redacted_at: Option<DateTime<Utc>>,
}

impl TryFrom<Row> for Delivery {
    type Error = Error;

    fn try_from(r: Row) -> Result<Self, Error> {
        let status = DeliveryStatus::parse(&r.status).ok_or_else(|| {
            Error::internal(
                "inconsistent data",
                anyhow::anyhow!("unknown delivery status {:?}", r.status),
            )
        })?;
        Ok(Self {
            id: DeliveryId(r.id),
            order_id: OrderId(r.order_id),
            user_id: UserId(r.user_id),
            saga_id: SagaId(r.saga_id),
            payment_id: r.payment_id.map(PaymentId),
            status,
            info: DeliveryInfo {
                recipient_name: r.recipient_name,
                address: r.address,
                contact: r.contact,
                requirement: r.requirement,
            },
            auto_received: r.auto_received,
            created_at: r.created_at,
            shipped_at: r.shipped_at,
            delivered_at: r.delivered_at,
            received_at: r.received_at,
            cancelled_at: r.cancelled_at,
            receive_due_at: r.receive_due_at,
            redacted_at: r.redacted_at,
        })
    }
}

pub async fn find(pool: &PgPool, order_id: OrderId) -> Result<Option<Delivery>, Error> {
    let row: Option<Row> = sqlx::query_as("SELECT * FROM deliveries WHERE order_id = $1")
        .bind(order_id.0)
        .fetch_optional(pool)
        .await?;
    row.map(Delivery::try_from).transpose()
}

pub async fn find_for_update(
    conn: &mut PgConnection,
    order_id: OrderId,
) -> Result<Option<Delivery>, Error> {
    let row: Option<Row> =
        sqlx::query_as("SELECT * FROM deliveries WHERE order_id = $1 FOR UPDATE")
            .bind(order_id.0)
            .fetch_optional(conn)
            .await?;
    row.map(Delivery::try_from).transpose()
}

/// What a confirm decides on, in one round trip under the order's lock: whether the
/// order has a delivery already, and whether the saga's cancel came first and left
/// its fence.
pub async fn delivered_or_fenced(
    conn: &mut PgConnection,
    order_id: OrderId,
    saga_id: SagaId,
) -> Result<(bool, bool), sqlx::Error> {
    sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM deliveries WHERE order_id = $1),
                EXISTS (SELECT 1 FROM delivery_cancel_fences WHERE order_id = $1 AND saga_id = $2)",
    )
    .bind(order_id.0)
    .bind(saga_id.0)
    .fetch_one(conn)
    .await
}

/// Inserts the delivery made from `hold`; `None` when the order already has one.
pub async fn insert(
    conn: &mut PgConnection,
    hold: &Hold,
    saga_id: SagaId,
    payment_id: Option<PaymentId>,
    receive_after: Duration,
) -> Result<Option<Delivery>, Error> {
    let receive_after_ms = i64::try_from(receive_after.as_millis()).unwrap_or(i64::MAX);
    let row: Option<Row> = sqlx::query_as(
        "INSERT INTO deliveries (id, order_id, user_id, saga_id, payment_id, status,
             recipient_name, address, contact, requirement, receive_due_at)
         VALUES ($1, $2, $3, $4, $5, 'PREPARING', $6, $7, $8, $9,
             now() + $10 * interval '1 millisecond')
         ON CONFLICT (order_id) DO NOTHING
         RETURNING *",
    )
    .bind(DeliveryId::generate().0)
    .bind(hold.order_id.0)
    .bind(hold.user_id.0)
    .bind(saga_id.0)
    .bind(payment_id.map(|p| p.0))
    .bind(&hold.info.recipient_name)
    .bind(&hold.info.address)
    .bind(&hold.info.contact)
    .bind(&hold.info.requirement)
    .bind(receive_after_ms)
    .fetch_optional(conn)
    .await?;
    row.map(Delivery::try_from).transpose()
}
