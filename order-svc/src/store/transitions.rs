//! The SQL of status changes: the order row read under its lock (with what a decision
//! needs and its lines), the conditional update, the payment fences, and the sweeper's
//! batch.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::{
        Command, OrderId, OrderLine, OrderStatus, PaymentId, ProductId, SagaId,
        lifecycle::OrderState,
    },
    error::Error,
    store::orders::{OrderRow, order_columns},
};

/// The order row under its lock, with the database's clock, whether stock is held,
/// the state of the payment fence of the saga asked about, and the order's lines: all
/// a transition needs, in one round trip.
#[derive(sqlx::FromRow)]
pub struct LockedRow {
    #[sqlx(flatten)]
    pub order: OrderRow,
    pub db_now: DateTime<Utc>,
    holds_stock: bool,
    /// The state of the fence of the saga given to [`lock`] (`BEGUN`, `ABORTED`).
    pub fence: Option<String>,
    line_products: Vec<Uuid>,
    line_quantities: Vec<i32>,
    line_prices: Vec<i64>,
    line_names: Vec<String>,
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

    /// The order's lines (they never change), in line order.
    pub fn lines(&self) -> Vec<OrderLine> {
        (self.line_products.iter())
            .zip(&self.line_quantities)
            .zip(&self.line_prices)
            .zip(&self.line_names)
            .map(|(((product_id, quantity), unit_price), name)| OrderLine {
                product_id: ProductId(*product_id),
                quantity: *quantity,
                unit_price: *unit_price,
                name: name.clone(),
            })
            .collect()
    }
}

/// Locks the order row (`FOR UPDATE`) until the caller's transaction ends, reading
/// with it the payment fence of `saga` (if given) and the lines.
pub async fn lock(
    conn: &mut PgConnection,
    order_id: OrderId,
    saga: Option<SagaId>,
) -> Result<Option<LockedRow>, Error> {
    let locked = sqlx::query_as(concat!(
        "SELECT ",
        order_columns!(),
        ", now() AS db_now,
           EXISTS (SELECT 1 FROM stock_reservations r
                   WHERE r.order_id = o.id AND r.state = 'RESERVED') AS holds_stock,
           (SELECT f.state FROM payment_fences f WHERE f.order_id = o.id AND f.saga_id = $2) AS fence,
           l.line_products, l.line_quantities, l.line_prices, l.line_names
         FROM orders o
         CROSS JOIN LATERAL (
             SELECT coalesce(array_agg(product_id ORDER BY line_no), '{}') AS line_products,
                    coalesce(array_agg(quantity ORDER BY line_no), '{}') AS line_quantities,
                    coalesce(array_agg(unit_price ORDER BY line_no), '{}') AS line_prices,
                    coalesce(array_agg(name ORDER BY line_no), '{}') AS line_names
             FROM order_lines WHERE order_id = o.id) l
         WHERE o.id = $1 FOR UPDATE OF o"
    ))
    .bind(order_id.0)
    .bind(saga.map(|s| s.0))
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
