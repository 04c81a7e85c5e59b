//! Status changes: the order row is locked, [`lifecycle::decide`] picks the outcome,
//! and the update, its fence row and its outbox event commit together.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    domain::{
        Command, Decision, EventKind, Order, OrderId, OrderStatus, PaymentId, Refusal, SagaId,
        lifecycle::{self, OrderState},
    },
    error::Error,
    store::{
        events,
        orders::{self, OrderRow, order_columns},
    },
};

#[derive(sqlx::FromRow)]
struct LockedRow {
    #[sqlx(flatten)]
    order: OrderRow,
    db_now: DateTime<Utc>,
    holds_stock: bool,
}

/// Applies `command` to the order and returns the order as it now is.
#[tracing::instrument(name = "order_transition", skip_all, fields(%order_id))]
pub async fn apply(pool: &PgPool, order_id: OrderId, command: &Command) -> Result<Order, Error> {
    let mut tx = pool.begin().await?;
    let locked: Option<LockedRow> = sqlx::query_as(concat!(
        "SELECT ",
        order_columns!(),
        ", now() AS db_now,
           EXISTS (SELECT 1 FROM stock_reservations r
                   WHERE r.order_id = o.id AND r.state = 'RESERVED') AS holds_stock
         FROM orders o WHERE o.id = $1 FOR UPDATE OF o"
    ))
    .bind(order_id.0)
    .fetch_optional(&mut *tx)
    .await?;
    let locked = locked.ok_or(Error::OrderNotFound(order_id))?;
    let state = OrderState {
        status: locked.order.status()?,
        saga_id: locked.order.saga_id.map(SagaId),
        payment_id: locked.order.payment_id.map(PaymentId),
        expires_at: locked.order.expires_at,
        holds_stock: locked.holds_stock,
    };

    if let Command::BeginPayment { saga } = command
        && payment_fence(&mut tx, order_id, *saga).await?.as_deref() == Some("ABORTED")
    {
        return Err(Refusal::SagaAborted.into());
    }

    let row = match lifecycle::decide(&state, command, locked.db_now)? {
        Decision::Keep => {
            if let Command::AbortPayment { saga, .. } = command {
                // Also the empty compensation: fences a BeginPayment still in flight.
                mark_aborted(&mut tx, order_id, *saga).await?;
            }
            tx.commit().await?;
            locked.order
        }
        Decision::Move(next) => {
            let row = update(&mut tx, order_id, state.status, next, command).await?;
            match command {
                Command::BeginPayment { saga } => mark_begun(&mut tx, order_id, *saga).await?,
                Command::AbortPayment { saga, .. } => {
                    mark_aborted(&mut tx, order_id, *saga).await?;
                }
                _ => {}
            }
            if let Some(kind) = EventKind::on_entering(next) {
                events::append(&mut tx, &[order_id], kind, next).await?;
            }
            tx.commit().await?;
            row
        }
        Decision::ExpireInstead => {
            let expired = OrderStatus::Expired;
            update(
                &mut tx,
                order_id,
                state.status,
                expired,
                &Command::Expire { saga: None },
            )
            .await?;
            events::append(&mut tx, &[order_id], EventKind::Expired, expired).await?;
            tx.commit().await?;
            return Err(Refusal::Expired.into());
        }
    };
    orders::with_lines_one(pool, row).await
}

/// Writes the move from `from` to `to` with the data `command` carries.
async fn update(
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

async fn payment_fence(
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

async fn mark_begun(conn: &mut PgConnection, order_id: OrderId, saga: SagaId) -> Result<(), Error> {
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

async fn mark_aborted(
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

/// Expires up to `batch` unpaid orders past their expiry, with their events. Rows
/// another instance (or a saga step) has locked are skipped, not waited for.
pub async fn expire_overdue(pool: &PgPool, batch: i64) -> Result<usize, Error> {
    let mut tx = pool.begin().await?;
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
    .fetch_all(&mut *tx)
    .await?;
    let expired: Vec<OrderId> = expired.into_iter().map(OrderId).collect();
    events::append(&mut tx, &expired, EventKind::Expired, OrderStatus::Expired).await?;
    tx.commit().await?;
    Ok(expired.len())
}
