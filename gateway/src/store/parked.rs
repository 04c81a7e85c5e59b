//! Parked events: what a consumer could not apply after its bounded retries, with the
//! reason, retried later with backoff until applied (or moot), and listed for
//! operators. Parking one is what lets the stream move on.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// The event as the consumer needs it to try again.
#[derive(Debug, Clone)]
pub struct Event {
    pub offset: i64,
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub kind: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Parked {
    pub consumer: String,
    pub event_offset: i64,
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub kind: String,
    pub reason: String,
    pub attempts: i32,
    pub parked_at: DateTime<Utc>,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Parks `event` (a second park of the same event changes nothing).
pub async fn park(
    pool: &PgPool,
    consumer: &str,
    event: &Event,
    reason: &str,
    attempts: i32,
    retry_in: Duration,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO parked_events (consumer, event_offset, event_id, order_id, kind, reason, attempts, next_retry_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8) ON CONFLICT (consumer, event_offset) DO NOTHING",
    )
    .bind(consumer)
    .bind(event.offset)
    .bind(event.event_id)
    .bind(event.order_id)
    .bind(&event.kind)
    .bind(reason)
    .bind(attempts)
    .bind(retry_in)
    .execute(pool)
    .await?;
    Ok(())
}

/// Takes up to `limit` parked events that are due, each for `lease` (so two
/// instances do not retry the same one at once).
pub async fn claim_due(
    pool: &PgPool,
    consumer: &str,
    limit: i64,
    lease: Duration,
) -> sqlx::Result<Vec<Parked>> {
    sqlx::query_as(
        "UPDATE parked_events SET next_retry_at = now() + $3 \
         WHERE (consumer, event_offset) IN ( \
             SELECT consumer, event_offset FROM parked_events \
             WHERE consumer = $1 AND resolved_at IS NULL AND next_retry_at <= now() \
             ORDER BY next_retry_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
         RETURNING *",
    )
    .bind(consumer)
    .bind(limit)
    .bind(lease)
    .fetch_all(pool)
    .await
}

/// The event was applied, or there is nothing left to apply.
pub async fn resolve(pool: &PgPool, consumer: &str, offset: i64, note: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE parked_events SET resolved_at = now(), next_retry_at = NULL, attempts = attempts + 1, \
         reason = CASE WHEN $3 = '' THEN reason ELSE $3 END \
         WHERE consumer = $1 AND event_offset = $2 AND resolved_at IS NULL",
    )
    .bind(consumer)
    .bind(offset)
    .bind(note)
    .execute(pool)
    .await?;
    Ok(())
}

/// Still not applicable: try again in `retry_in`; `counted` adds an attempt.
pub async fn reschedule(
    pool: &PgPool,
    consumer: &str,
    offset: i64,
    reason: &str,
    counted: bool,
    retry_in: Duration,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE parked_events SET reason = $3, attempts = attempts + $4, next_retry_at = now() + $5 \
         WHERE consumer = $1 AND event_offset = $2 AND resolved_at IS NULL",
    )
    .bind(consumer)
    .bind(offset)
    .bind(reason)
    .bind(i32::from(counted))
    .bind(retry_in)
    .execute(pool)
    .await?;
    Ok(())
}

/// Newest first; only unresolved ones unless `include_resolved`.
pub async fn list(
    pool: &PgPool,
    include_resolved: bool,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Parked>> {
    sqlx::query_as(
        "SELECT * FROM parked_events WHERE ($1 OR resolved_at IS NULL) \
         ORDER BY parked_at DESC, consumer, event_offset LIMIT $2 OFFSET $3",
    )
    .bind(include_resolved)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}

/// Unresolved parked events of each consumer.
pub async fn waiting(pool: &PgPool) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as(
        "SELECT consumer, count(*) FROM parked_events WHERE resolved_at IS NULL GROUP BY consumer",
    )
    .fetch_all(pool)
    .await
}

/// Deletes up to `batch` parked events resolved longer than `keep` ago.
pub async fn purge_resolved(pool: &PgPool, keep: Duration, batch: i64) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM parked_events WHERE (consumer, event_offset) IN (
             SELECT consumer, event_offset FROM parked_events
             WHERE resolved_at < now() - $1 ORDER BY resolved_at LIMIT $2)",
    )
    .bind(shop_common::db::interval(keep))
    .bind(batch)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
