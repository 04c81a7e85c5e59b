//! The delivery outbox: rows written in the same transaction as the change, read back in
//! offset order by StreamEvents, and the relay's unpublished rows and confirmed marks.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{DeliveryEvent, DeliveryId, DeliveryStatus, EventKind, OrderId};

/// Taken just before inserting events and held until commit: offsets then become
/// visible in order, so a reader that has seen offset N never later finds a smaller one.
const OUTBOX_LOCK: i64 = 0x0de1_e7e7;

pub struct NewEvent {
    pub delivery_id: DeliveryId,
    pub order_id: OrderId,
    pub kind: EventKind,
    pub status: DeliveryStatus,
    pub auto_received: bool,
}

/// Inserts the events; call it last in the transaction (it serializes writers until
/// they commit). One statement: the lock is taken (its row joined first) before any
/// offset is drawn.
pub async fn append(conn: &mut PgConnection, events: &[NewEvent]) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = events.iter().map(|_| Uuid::now_v7()).collect();
    let deliveries: Vec<Uuid> = events.iter().map(|e| e.delivery_id.0).collect();
    let orders: Vec<Uuid> = events.iter().map(|e| e.order_id.0).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    let statuses: Vec<&str> = events.iter().map(|e| e.status.as_str()).collect();
    let autos: Vec<bool> = events.iter().map(|e| e.auto_received).collect();
    sqlx::query(
        "WITH outbox AS MATERIALIZED (SELECT pg_advisory_xact_lock($7))
         INSERT INTO delivery_events (event_id, delivery_id, order_id, kind, status, auto_received)
         SELECT e.* FROM outbox,
              UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::bool[]) AS e",
    )
    .bind(ids)
    .bind(deliveries)
    .bind(orders)
    .bind(kinds)
    .bind(statuses)
    .bind(autos)
    .bind(OUTBOX_LOCK)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    offset: i64,
    event_id: Uuid,
    order_id: Uuid,
    kind: String,
    status: String,
    auto_received: bool,
    occurred_at: DateTime<Utc>,
}

/// Up to `limit` events with an offset above `after`, oldest first.
pub async fn after(
    pool: &PgPool,
    after: i64,
    limit: i64,
) -> Result<Vec<DeliveryEvent>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        r#"SELECT "offset", event_id, order_id, kind, status, auto_received, occurred_at
           FROM delivery_events WHERE "offset" > $1 ORDER BY "offset" LIMIT $2"#,
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Row::into_event).collect())
}

/// Up to `limit` events the broker has not confirmed yet, oldest first.
pub async fn unpublished(pool: &PgPool, limit: i64) -> Result<Vec<DeliveryEvent>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        r#"SELECT "offset", event_id, order_id, kind, status, auto_received, occurred_at
           FROM delivery_events WHERE published_at IS NULL ORDER BY "offset" LIMIT $1"#,
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Row::into_event).collect())
}

/// Marks the events at `offsets` as confirmed by the broker.
pub async fn mark_published(pool: &PgPool, offsets: &[i64]) -> Result<(), sqlx::Error> {
    sqlx::query(
        r#"UPDATE delivery_events SET published_at = now()
           WHERE "offset" = ANY($1) AND published_at IS NULL"#,
    )
    .bind(offsets)
    .execute(pool)
    .await?;
    Ok(())
}

impl Row {
    fn into_event(self) -> DeliveryEvent {
        DeliveryEvent {
            offset: self.offset,
            event_id: self.event_id,
            order_id: OrderId(self.order_id),
            kind: self.kind,
            status: DeliveryStatus::parse(&self.status),
            auto_received: self.auto_received,
            occurred_at: self.occurred_at,
        }
    }
}
