//! The gateway's own SQL outside the saga log (which stays in `saga::log`).
//!
//! - [`keys`]: idempotency keys (what they mean is `crate::idempotency`'s).
//! - [`audit`]: the admin audit trail's rows (what is audited is `crate::audit`'s).
//! - [`offsets`]: where each event consumer is in the stream it follows.
//! - [`parked`]: events a consumer could not apply, parked for later and for operators.

pub mod audit;
pub mod keys;
pub mod offsets;
pub mod parked;

/// One round trip to the gateway's database (the readiness probe).
pub async fn ping(pool: &sqlx::PgPool) -> sqlx::Result<()> {
    sqlx::query("SELECT 1").execute(pool).await.map(drop)
}
