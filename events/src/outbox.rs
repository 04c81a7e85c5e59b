//! The bookkeeping of a service's outbox table (`order_events`, `delivery_events`),
//! the same for every service that has one: the named readers' cursors
//! (`outbox_cursors`, moved by StreamEvents) and retention. An event goes once it is
//! older than the retention, every named reader has read it and the broker relay,
//! when on, has published it; with no named reader and no relay, age alone decides.

use std::time::Duration;

use shop_common::db;
use sqlx::PgPool;

/// Remembers that `consumer` has read everything up to `offset` (it asked for what
/// follows); never moves a cursor back.
pub async fn remember_cursor(pool: &PgPool, consumer: &str, offset: i64) -> sqlx::Result<()> {
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

/// Deletes up to `batch` events of the outbox `table` by the rule above; returns how
/// many went. `relay_on`: the broker relay runs, so an event it has not published yet
/// stays.
pub async fn purge(
    pool: &PgPool,
    table: &'static str,
    keep: Duration,
    batch: i64,
    relay_on: bool,
) -> sqlx::Result<u64> {
    // `table` is a constant of the calling service, never input.
    let sql = format!(
        r#"DELETE FROM {table} WHERE "offset" IN (
             SELECT "offset" FROM {table}
             WHERE occurred_at < now() - $1
               AND "offset" <= coalesce((SELECT min(read_offset) FROM outbox_cursors),
                                        9223372036854775807)
               AND (published_at IS NOT NULL OR NOT $3)
             ORDER BY occurred_at LIMIT $2)"#
    );
    let deleted = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(db::interval(keep))
        .bind(batch)
        .bind(relay_on)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(deleted)
}
