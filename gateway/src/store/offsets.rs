//! Consumer offsets: the last event each consumer has handled (applied or parked).

use sqlx::PgPool;

/// The offset `consumer` resumes after (0: from the start).
pub async fn get(pool: &PgPool, consumer: &str) -> sqlx::Result<i64> {
    let offset: Option<i64> =
        sqlx::query_scalar("SELECT last_offset FROM consumer_offsets WHERE name = $1")
            .bind(consumer)
            .fetch_optional(pool)
            .await?;
    Ok(offset.unwrap_or(0))
}

/// Moves `consumer` to `offset` (never back: two instances may follow one stream).
pub async fn advance(pool: &PgPool, consumer: &str, offset: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO consumer_offsets (name, last_offset, updated_at) VALUES ($1, $2, now()) \
         ON CONFLICT (name) DO UPDATE SET last_offset = GREATEST(consumer_offsets.last_offset, $2), \
         updated_at = now()",
    )
    .bind(consumer)
    .bind(offset)
    .execute(pool)
    .await?;
    Ok(())
}
