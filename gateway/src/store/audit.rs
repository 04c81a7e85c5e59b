//! The admin audit trail (table `admin_audit`): one row per audited action, written
//! before it runs and updated with its outcome. What is audited is `crate::audit`'s.

use std::time::Duration;

use chrono::{DateTime, Utc};
use shop_common::db;
use sqlx::PgPool;
use uuid::Uuid;

/// A row of the trail.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    pub id: i64,
    pub admin_id: Uuid,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub request_id: Uuid,
    pub outcome: String,
    pub at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// What a new row says: who (`admin`), in which request, what, to which target.
pub struct Begun<'a> {
    pub admin: Uuid,
    pub request_id: Uuid,
    pub action: &'a str,
    pub target: &'a str,
    pub detail: &'a str,
}

/// Writes a STARTED row; its id.
pub async fn begin(pool: &PgPool, row: &Begun<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO admin_audit (admin_id, action, target, detail, request_id) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(row.admin)
    .bind(row.action)
    .bind(row.target)
    .bind(row.detail)
    .bind(row.request_id)
    .fetch_one(pool)
    .await
}

/// Records how the action of row `id` ended.
pub async fn end(pool: &PgPool, id: i64, outcome: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE admin_audit SET outcome = $2, ended_at = now() WHERE id = $1")
        .bind(id)
        .bind(outcome)
        .execute(pool)
        .await
        .map(drop)
}

/// Newest first, after `before` (an id from the previous page), optionally of one
/// admin.
pub async fn list(
    pool: &PgPool,
    admin: Option<Uuid>,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<Event>> {
    sqlx::query_as(
        "SELECT id, admin_id, action, target, detail, request_id, outcome, at, ended_at \
         FROM admin_audit WHERE ($1::uuid IS NULL OR admin_id = $1) \
           AND ($2::bigint IS NULL OR id < $2) \
         ORDER BY id DESC LIMIT $3",
    )
    .bind(admin)
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Deletes up to `batch` entries older than `keep`; returns how many.
pub async fn purge(pool: &PgPool, keep: Duration, batch: i64) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM admin_audit WHERE id IN \
         (SELECT id FROM admin_audit WHERE at < now() - $1 ORDER BY at LIMIT $2)",
    )
    .bind(db::interval(keep))
    .bind(batch)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
