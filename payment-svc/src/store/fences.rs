//! Saga fences (after Seata's TCC fence): one row per (order, saga), written in the
//! same transaction as the charge or the empty refund it records.
//!
//! Both steps start by inserting their row. The primary key makes a concurrent Charge
//! and Refund of the same saga wait for each other, so exactly one of them records
//! the fence and the other sees it: a refund can never slip past a charge unseen.

use sqlx::PgConnection;

use crate::domain::{OrderId, SagaId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fence {
    /// The saga's charge committed (its payment may since be refunded).
    Charge,
    /// The saga's refund came before any charge; a late charge is refused.
    Tombstone,
}

impl Fence {
    fn as_str(self) -> &'static str {
        match self {
            Self::Charge => "CHARGE",
            Self::Tombstone => "TOMBSTONE",
        }
    }
}

/// Records `fence` for the saga unless a fence exists; returns the fence in force
/// and whether this call recorded it.
pub async fn record(
    conn: &mut PgConnection,
    order: OrderId,
    saga: SagaId,
    fence: Fence,
    reason: Option<&str>,
) -> Result<(Fence, bool), sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO saga_fences (order_id, saga_id, kind, reason) VALUES ($1, $2, $3, $4)
         ON CONFLICT (order_id, saga_id) DO NOTHING",
    )
    .bind(order.0)
    .bind(saga.0)
    .bind(fence.as_str())
    .bind(reason)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        return Ok((fence, true));
    }
    let existing: String =
        sqlx::query_scalar("SELECT kind FROM saga_fences WHERE order_id = $1 AND saga_id = $2")
            .bind(order.0)
            .bind(saga.0)
            .fetch_one(conn)
            .await?;
    let existing = if existing == Fence::Tombstone.as_str() {
        Fence::Tombstone
    } else {
        Fence::Charge
    };
    Ok((existing, false))
}
