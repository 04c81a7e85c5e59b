//! The order outbox: events written in the transaction of the change they announce,
//! read back in offset order.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    domain::{EventKind, OrderStatus},
    error::Error,
};

/// Advisory lock key serializing outbox writers ("ordr_evt" in ASCII). Taken at the
/// end of the writing transaction, it is held only until commit, so offsets become
/// visible in the order they were drawn and a reader never skips one.
const OUTBOX_LOCK: i64 = 0x6f72_6472_5f65_7674;

/// Appends one `kind` event per order, inside the caller's transaction.
pub async fn append(
    conn: &mut PgConnection,
    order_ids: &[Uuid],
    kind: EventKind,
    status: OrderStatus,
) -> Result<(), sqlx::Error> {
    if order_ids.is_empty() {
        return Ok(());
    }
    let event_ids: Vec<Uuid> = order_ids.iter().map(|_| Uuid::now_v7()).collect();
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(OUTBOX_LOCK)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO order_events (event_id, order_id, kind, status)
         SELECT e, o, $3, $4 FROM unnest($1::uuid[], $2::uuid[]) AS t(e, o)",
    )
    .bind(&event_ids)
    .bind(order_ids)
    .bind(kind.as_str())
    .bind(status.as_str())
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
}

/// Remembers that `consumer` has read everything up to `offset` (it asked for what
/// follows); never moves a cursor back.
pub async fn remember_cursor(pool: &PgPool, consumer: &str, offset: i64) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO outbox_cursors (consumer, read_offset) VALUES ($1, $2) \
         ON CONFLICT (consumer) DO UPDATE \
         SET read_offset = GREATEST(outbox_cursors.read_offset, EXCLUDED.read_offset), seen_at = now()",
    )
    .bind(consumer)
    .bind(offset)
    .execute(pool)
    .await?;
    Ok(())
}

/// Up to `limit` events with an offset above `after`, in offset order.
pub async fn read_after(pool: &PgPool, after: i64, limit: i64) -> Result<Vec<EventRow>, Error> {
    let rows = sqlx::query_as(
        r#"SELECT "offset", event_id, order_id, kind, status, occurred_at
           FROM order_events WHERE "offset" > $1 ORDER BY "offset" LIMIT $2"#,
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows)
}
