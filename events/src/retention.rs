//! Retention of a service's outbox table (`order_events`, `delivery_events`), the
//! same rule for every service that has one: an event goes once it is older than the
//! retention, every named reader (`outbox_cursors`) has read it and the broker relay,
//! when on, has published it; with no named reader and no relay, age alone decides.

use std::time::Duration;

use shop_common::db;
use sqlx::PgPool;

/// Deletes up to `batch` events of the outbox `table` by the rule above; returns how
/// many went. `relay_on`: the broker relay runs, so an event it has not published yet
/// stays.
pub async fn purge_outbox(
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
