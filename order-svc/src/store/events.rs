//! The order outbox: events written in the transaction of the change they announce,
//! read back in offset order (StreamEvents), and the relay's unpublished rows and
//! confirmed marks.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    domain::{EventKind, OrderId, OrderStatus},
    error::Error,
};

/// Advisory lock key serializing outbox writers ("ordr_evt" in ASCII). Taken at the
/// end of the writing transaction, before its offsets are drawn, and held only until
/// commit, so offsets become visible in the order they were drawn and a reader never
/// skips one.
const OUTBOX_LOCK: i64 = 0x6f72_6472_5f65_7674;

/// Appends one `kind` event per order, inside the caller's transaction, after the
/// order rows changed: each event records the order's user and amounts as they now are.
/// One statement: the lock is taken (its row joined first) before any offset is drawn.
pub async fn append(
    conn: &mut PgConnection,
    order_ids: &[OrderId],
    kind: EventKind,
    status: OrderStatus,
) -> Result<(), sqlx::Error> {
    if order_ids.is_empty() {
        return Ok(());
    }
    let event_ids: Vec<Uuid> = order_ids.iter().map(|_| Uuid::now_v7()).collect();
    let order_ids: Vec<Uuid> = order_ids.iter().map(|id| id.0).collect();
    sqlx::query(
        "WITH outbox AS MATERIALIZED (SELECT pg_advisory_xact_lock($5))
         INSERT INTO order_events (event_id, order_id, kind, status,
                                   user_id, total_amount, discount_amount, paid_amount)
         SELECT t.e, t.o, $3, $4, o.user_id, o.total_amount, o.discount_amount, o.paid_amount
         FROM outbox, unnest($1::uuid[], $2::uuid[]) AS t(e, o) JOIN orders o ON o.id = t.o",
    )
    .bind(&event_ids)
    .bind(&order_ids)
    .bind(kind.as_str())
    .bind(status.as_str())
    .bind(OUTBOX_LOCK)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub offset: i64,
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub kind: String,
    pub status: String,
    pub occurred_at: DateTime<Utc>,
    pub user_id: Uuid,
    pub total_amount: i64,
    pub discount_amount: i64,
    pub paid_amount: i64,
}

/// The columns of an [`EventRow`].
macro_rules! event_columns {
    () => {
        r#""offset", event_id, order_id, kind, status, occurred_at,
           user_id, total_amount, discount_amount, paid_amount"#
    };
}

/// Up to `limit` events with an offset above `after`, in offset order.
pub async fn read_after(pool: &PgPool, after: i64, limit: i64) -> Result<Vec<EventRow>, Error> {
    let rows = sqlx::query_as(concat!(
        "SELECT ",
        event_columns!(),
        r#" FROM order_events WHERE "offset" > $1 ORDER BY "offset" LIMIT $2"#
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// Up to `limit` events the broker has not confirmed yet, in offset order.
pub async fn unpublished(pool: &PgPool, limit: i64) -> Result<Vec<EventRow>, Error> {
    let rows = sqlx::query_as(concat!(
        "SELECT ",
        event_columns!(),
        r#" FROM order_events WHERE published_at IS NULL ORDER BY "offset" LIMIT $1"#
    ))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// Marks the events at `offsets` as confirmed by the broker.
pub async fn mark_published(pool: &PgPool, offsets: &[i64]) -> Result<(), Error> {
    sqlx::query(
        r#"UPDATE order_events SET published_at = now()
           WHERE "offset" = ANY($1) AND published_at IS NULL"#,
    )
    .bind(offsets)
    .execute(pool)
    .await?;
    Ok(())
}
