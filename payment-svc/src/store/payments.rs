//! Payment rows: inserting a charge, finding it, and the CHARGED -> REFUNDED step.

use chrono::{DateTime, Utc};
use shop_common::db;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::{CouponId, OrderId, Payment, PaymentId, PaymentStatus, SagaId, UserId},
    error::Error,
};
use shop_common::internal::InternalError;

const COLUMNS: &str = "id, order_id, saga_id, user_id, status, amount, discount_amount, \
                       paid_amount, coupon_id, created_at, refunded_at";

/// The partial unique index allowing one CHARGED payment per order.
const ONE_CHARGED_PER_ORDER: &str = "payments_one_charged_per_order";

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    order_id: Uuid,
    saga_id: Uuid,
    user_id: Uuid,
    status: String,
    amount: i64,
    discount_amount: i64,
    paid_amount: i64,
    coupon_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    refunded_at: Option<DateTime<Utc>>,
}

impl TryFrom<Row> for Payment {
    type Error = Error;

    fn try_from(row: Row) -> Result<Self, Error> {
        let status = PaymentStatus::parse(&row.status).ok_or_else(|| {
            Error::internal(
                "inconsistent data",
                anyhow::anyhow!("payment status {:?}", row.status),
            )
        })?;
        Ok(Payment {
            id: PaymentId(row.id),
            order_id: OrderId(row.order_id),
            saga_id: SagaId(row.saga_id),
            user_id: UserId(row.user_id),
            status,
            amount: row.amount,
            discount_amount: row.discount_amount,
            paid_amount: row.paid_amount,
            coupon_id: row.coupon_id.map(CouponId),
            created_at: row.created_at,
            refunded_at: row.refunded_at,
        })
    }
}

/// Inserts a CHARGED payment. Another saga's charge of the same order, committed
/// meanwhile, trips the partial unique index: that is `AlreadyCharged`.
pub async fn insert_charged(conn: &mut PgConnection, p: &Payment) -> Result<Payment, Error> {
    let inserted: Result<Row, sqlx::Error> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO payments (id, order_id, saga_id, user_id, status, amount,
                               discount_amount, paid_amount, coupon_id)
         VALUES ($1, $2, $3, $4, 'CHARGED', $5, $6, $7, $8)
         RETURNING {COLUMNS}"
    )))
    .bind(p.id.0)
    .bind(p.order_id.0)
    .bind(p.saga_id.0)
    .bind(p.user_id.0)
    .bind(p.amount)
    .bind(p.discount_amount)
    .bind(p.paid_amount)
    .bind(p.coupon_id.map(|c| c.0))
    .fetch_one(conn)
    .await;
    match inserted {
        Ok(row) => row.try_into(),
        Err(err) if db::unique_violation(&err) == Some(ONE_CHARGED_PER_ORDER) => {
            Err(Error::AlreadyCharged {
                order_id: p.order_id,
            })
        }
        Err(err) => Err(err.into()),
    }
}

/// The payment of one saga of an order.
pub async fn of_saga(
    conn: &mut PgConnection,
    order: OrderId,
    saga: SagaId,
) -> Result<Option<Payment>, Error> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM payments WHERE order_id = $1 AND saga_id = $2"
    )))
    .bind(order.0)
    .bind(saga.0)
    .fetch_optional(conn)
    .await?;
    row.map(Payment::try_from).transpose()
}

/// The order's CHARGED payment, else its latest one.
pub async fn current_of_order(
    conn: &mut PgConnection,
    order: OrderId,
) -> Result<Option<Payment>, Error> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM payments WHERE order_id = $1
         ORDER BY status = 'CHARGED' DESC, created_at DESC, id DESC
         LIMIT 1"
    )))
    .bind(order.0)
    .fetch_optional(conn)
    .await?;
    row.map(Payment::try_from).transpose()
}

/// Whether another saga than `saga` holds a CHARGED payment of the order.
pub async fn charged_by_other_saga(
    conn: &mut PgConnection,
    order: OrderId,
    saga: SagaId,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM payments
                        WHERE order_id = $1 AND saga_id <> $2 AND status = 'CHARGED')",
    )
    .bind(order.0)
    .bind(saga.0)
    .fetch_one(conn)
    .await
}

/// CHARGED -> REFUNDED for the saga's payment; `None` if it is not CHARGED (any more).
/// The row lock makes a concurrent second refund see REFUNDED and do nothing.
pub async fn mark_refunded(
    conn: &mut PgConnection,
    order: OrderId,
    saga: SagaId,
    reason: &str,
) -> Result<Option<Payment>, Error> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE payments SET status = 'REFUNDED', refunded_at = now(), refund_reason = $3
         WHERE order_id = $1 AND saga_id = $2 AND status = 'CHARGED'
         RETURNING {COLUMNS}"
    )))
    .bind(order.0)
    .bind(saga.0)
    .bind(reason)
    .fetch_optional(conn)
    .await?;
    row.map(Payment::try_from).transpose()
}
