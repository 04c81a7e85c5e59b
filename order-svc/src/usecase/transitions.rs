//! Status changes: the order row is locked, [`lifecycle::decide`] picks the outcome,
//! and the update, its fence row and its outbox event commit together; and the
//! expiry sweeper's round.

use sqlx::PgPool;

use crate::{
    domain::{Command, Decision, EventKind, Order, OrderId, OrderStatus, Refusal, lifecycle},
    error::Error,
    store::{events, transitions},
};

/// Applies `command` to the order and returns the order as it now is.
#[tracing::instrument(name = "order_transition", skip_all, fields(%order_id))]
pub async fn apply(pool: &PgPool, order_id: OrderId, command: &Command) -> Result<Order, Error> {
    let begin_by = match command {
        Command::BeginPayment { saga } => Some(*saga),
        _ => None,
    };
    let mut tx = pool.begin().await?;
    let locked = transitions::lock(&mut tx, order_id, begin_by)
        .await?
        .ok_or(Error::OrderNotFound(order_id))?;
    let state = locked.state()?;
    let lines = locked.lines();

    if begin_by.is_some() && locked.fence.as_deref() == Some("ABORTED") {
        return Err(Refusal::SagaAborted.into());
    }

    let row = match lifecycle::decide(&state, command, locked.db_now)? {
        Decision::Keep => {
            if let Command::AbortPayment { saga, .. } = command {
                // Also the empty compensation: fences a BeginPayment still in flight.
                transitions::mark_aborted(&mut tx, order_id, *saga).await?;
            }
            tx.commit().await?;
            locked.order
        }
        Decision::Move(next) => {
            let row = transitions::update(&mut tx, order_id, state.status, next, command).await?;
            match command {
                Command::BeginPayment { saga } => {
                    transitions::mark_begun(&mut tx, order_id, *saga).await?
                }
                Command::AbortPayment { saga, .. } => {
                    transitions::mark_aborted(&mut tx, order_id, *saga).await?;
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
            transitions::update(
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
    row.into_order(lines)
}

/// Expires up to `batch` unpaid orders past their expiry, with their events.
pub async fn expire_overdue(pool: &PgPool, batch: i64) -> Result<usize, Error> {
    let mut tx = pool.begin().await?;
    let expired = transitions::expire_due(&mut tx, batch).await?;
    events::append(&mut tx, &expired, EventKind::Expired, OrderStatus::Expired).await?;
    tx.commit().await?;
    Ok(expired.len())
}
