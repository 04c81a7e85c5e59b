//! The SQL of status changes: the order row read under its lock (with what a decision
//! needs), the conditional update, the payment fences, and the sweeper's batch.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::{Command, OrderId, OrderStatus, PaymentId, SagaId, lifecycle::OrderState},
    error::Error,
    store::orders::{OrderRow, order_columns},
};

/// The order row under its lock, with the database's clock and whether stock is held.
#[derive(sqlx::FromRow)]
pub struct LockedRow {
    #[sqlx(flatten)]
    pub order: OrderRow,
    pub db_now: DateTime<Utc>,
    holds_stock: bool,
}

impl LockedRow {
    /// What [`crate::domain::lifecycle::decide`] needs to know.
    pub fn state(&self) -> Result<OrderState, Error> {
        Ok(OrderState {
            status: self.order.status()?,
            saga_id: self.order.saga_id.map(SagaId),
            payment_id: self.order.payment_id.map(PaymentId),
            expires_at: self.order.expires_at,
            holds_stock: self.holds_stock,
        })
    }
}

/// Locks the order row (`FOR UPDATE`) until the caller's transaction ends.
pub async fn lock(conn: &mut PgConnection, order_id: OrderId) -> Result<Option<LockedRow>, Error> {
    let locked = sqlx::query_as(concat!(
        "SELECT ",
        order_columns!(),
        ", now() AS db_now,
           EXISTS (SELECT 1 FROM stock_reservations r
                   WHERE r.order_id = o.id AND r.state = 'RESERVED') AS holds_stock
         FROM orders o WHERE o.id = $1 FOR UPDATE OF o"
    ))
    .bind(order_id.0)
    .fetch_optional(conn)
    .await?;
    Ok(locked)
}

/// Writes the move from `from` to `to` with the data `command` carries.
pub async fn update(
    conn: &mut PgConnection,
    order_id: OrderId,
    from: OrderStatus,
    to: OrderStatus,
    command: &Command,
) -> Result<OrderRow, Error> {
    let (mut saga, mut payment, mut last_error, mut cancel_reason) = (None, None, None, None);
    match command {
        Command::BeginPayment { saga: s } => saga = Some(*s),
        Command::AbortPayment { reason, .. } | Command::MarkFailed { reason, .. } => {
            last_error = Some(reason.as_str());
        }
        Command::MarkPaid { payment: p, .. } => payment = Some(*p),
        Command::Cancel { reason } => cancel_reason = Some(reason.as_str()),
        Command::Expire { .. } | Command::MarkReceived => {}
    }
    let row: OrderRow = sqlx::query_as(concat!(
        "UPDATE orders AS o SET status = $3,
            saga_id = COALESCE($4, o.saga_id),
            payment_id = COALESCE($5, o.payment_id),
            discount_amount = COALESCE($6, o.discount_amount),
            paid_amount = COALESCE($7, o.paid_amount),
            last_error = COALESCE($8, o.last_error),
            cancel_reason = COALESCE($9, o.cancel_reason),
            updated_at = now()
         WHERE o.id = $1 AND o.status = $2 RETURNING ",
        order_columns!()
    ))
    .bind(order_id.0)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(saga.map(|s| s.0))
    .bind(payment.map(|p| p.payment_id.0))
    .bind(payment.map(|p| p.discount_amount))
    .bind(payment.map(|p| p.paid_amount))
    .bind(last_error)
    .bind(cancel_reason)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row)
}

/// The state of the saga's payment fence (`BEGUN`, `ABORTED`), if any.
pub async fn payment_fence(
    conn: &mut PgConnection,
    order_id: OrderId,
    saga: SagaId,
) -> Result<Option<String>, Error> {
    let state =
        sqlx::query_scalar("SELECT state FROM payment_fences WHERE order_id = $1 AND saga_id = $2")
            .bind(order_id.0)
            .bind(saga.0)
            .fetch_optional(conn)
            .await?;
    Ok(state)
}

/// Records that the saga took the payment lock.
pub async fn mark_begun(
    conn: &mut PgConnection,
    order_id: OrderId,
    saga: SagaId,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO payment_fences (order_id, saga_id, state) VALUES ($1, $2, 'BEGUN')
         ON CONFLICT (order_id, saga_id) DO NOTHING",
    )
    .bind(order_id.0)
    .bind(saga.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the saga's abort; also the empty compensation before any begin.
pub async fn mark_aborted(
    conn: &mut PgConnection,
    order_id: OrderId,
    saga: SagaId,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO payment_fences (order_id, saga_id, state) VALUES ($1, $2, 'ABORTED')
         ON CONFLICT (order_id, saga_id) DO UPDATE SET state = 'ABORTED', updated_at = now()
         WHERE payment_fences.state <> 'ABORTED'",
    )
    .bind(order_id.0)
    .bind(saga.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// Expires up to `batch` unpaid orders past their expiry and returns them. Rows
/// another instance (or a saga step) has locked are skipped, not waited for.
pub async fn expire_due(conn: &mut PgConnection, batch: i64) -> Result<Vec<OrderId>, Error> {
    let expired: Vec<Uuid> = sqlx::query_scalar(
        "WITH due AS (
             SELECT id FROM orders
             WHERE status = $1 AND expires_at <= now()
             ORDER BY expires_at LIMIT $3
             FOR UPDATE SKIP LOCKED)
         UPDATE orders o SET status = $2, updated_at = now()
         FROM due WHERE o.id = due.id AND o.status = $1
         RETURNING o.id",
    )
    .bind(OrderStatus::PendingPayment.as_str())
    .bind(OrderStatus::Expired.as_str())
    .bind(batch)
    .fetch_all(conn)
    .await?;
    Ok(expired.into_iter().map(OrderId).collect())
}
