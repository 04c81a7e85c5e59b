//! Idempotency keys (table `idempotency_keys`): one row per user and key, with the
//! request's fingerprint, its order, `IN_PROGRESS` or `DONE`, a lock and an expiry.
//! What the rows mean is `crate::idempotency`'s; this is only the SQL.

use std::time::Duration;

use crate::ids::{OrderId, UserId};
use shop_common::db::interval;
use sqlx::PgPool;

/// A live key as its first request left it.
pub struct Live {
    pub operation: String,
    pub fingerprint: Vec<u8>,
    pub order_id: OrderId,
    pub done: bool,
    pub locked: bool,
}

/// A new claim of a key.
pub struct NewKey<'a> {
    pub user: UserId,
    pub key: &'a str,
    pub operation: &'a str,
    pub fingerprint: &'a [u8],
    pub order_id: OrderId,
    pub lock: Duration,
    pub ttl: Duration,
}

/// Inserts the key (or replaces an expired one); its order id when it was taken, None
/// when a live key is there.
pub async fn insert(pool: &PgPool, new: &NewKey<'_>) -> sqlx::Result<Option<OrderId>> {
    sqlx::query_scalar(
        "INSERT INTO idempotency_keys (user_id, key, operation, request_hash, order_id, state, locked_until, expires_at) \
         VALUES ($1, $2, $3, $4, $5, 'IN_PROGRESS', now() + $6, now() + $7) \
         ON CONFLICT (user_id, key) DO UPDATE \
           SET operation = EXCLUDED.operation, request_hash = EXCLUDED.request_hash, order_id = EXCLUDED.order_id, \
               state = 'IN_PROGRESS', locked_until = EXCLUDED.locked_until, created_at = now(), \
               expires_at = EXCLUDED.expires_at \
           WHERE idempotency_keys.expires_at < now() \
         RETURNING order_id",
    )
    .bind(new.user)
    .bind(new.key)
    .bind(new.operation)
    .bind(new.fingerprint)
    .bind(new.order_id)
    .bind(interval(new.lock))
    .bind(interval(new.ttl))
    .fetch_optional(pool)
    .await
}

pub async fn get(pool: &PgPool, user: UserId, key: &str) -> sqlx::Result<Option<Live>> {
    let row: Option<(String, Vec<u8>, OrderId, String, bool)> = sqlx::query_as(
        "SELECT operation, request_hash, order_id, state, locked_until > now() FROM idempotency_keys \
         WHERE user_id = $1 AND key = $2",
    )
    .bind(user)
    .bind(key)
    .fetch_optional(pool)
    .await?;
    Ok(
        row.map(|(operation, fingerprint, order_id, state, locked)| Live {
            operation,
            fingerprint,
            order_id,
            done: state == "DONE",
            locked,
        }),
    )
}

/// Locks an abandoned key (unlocked, not done) for `lock`, unless a saga of its order
/// is unfinished; true when this call took it.
pub async fn take_over(
    pool: &PgPool,
    user: UserId,
    key: &str,
    lock: Duration,
) -> sqlx::Result<bool> {
    let taken = sqlx::query(
        "UPDATE idempotency_keys k SET locked_until = now() + $3 \
         WHERE k.user_id = $1 AND k.key = $2 AND k.state = 'IN_PROGRESS' AND k.locked_until <= now() \
           AND NOT EXISTS (SELECT 1 FROM sagas s WHERE s.order_id = k.order_id \
                           AND s.state IN ('RUNNING', 'COMPENSATING'))",
    )
    .bind(user)
    .bind(key)
    .bind(interval(lock))
    .execute(pool)
    .await?;
    Ok(taken.rows_affected() == 1)
}

pub async fn mark_done(pool: &PgPool, user: UserId, key: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE idempotency_keys SET state = 'DONE' WHERE user_id = $1 AND key = $2")
        .bind(user)
        .bind(key)
        .execute(pool)
        .await
        .map(drop)
}

/// Deletes a key still in progress.
pub async fn delete_in_progress(pool: &PgPool, user: UserId, key: &str) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND state = 'IN_PROGRESS'",
    )
    .bind(user)
    .bind(key)
    .execute(pool)
    .await
    .map(drop)
}

pub async fn unlock(pool: &PgPool, user: UserId, key: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE idempotency_keys SET locked_until = now() WHERE user_id = $1 AND key = $2")
        .bind(user)
        .bind(key)
        .execute(pool)
        .await
        .map(drop)
}

/// Deletes up to `batch` expired keys, except one whose order a saga is still
/// driving; returns how many.
pub async fn purge_expired(pool: &PgPool, batch: i64) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM idempotency_keys WHERE ctid IN \
         (SELECT k.ctid FROM idempotency_keys k WHERE k.expires_at < now() \
          AND NOT EXISTS (SELECT 1 FROM sagas s WHERE s.order_id = k.order_id \
                          AND s.state IN ('RUNNING', 'COMPENSATING')) \
          LIMIT $1)",
    )
    .bind(batch)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
