//! Partial failures, each forced deterministically: a call that times out while its
//! handler runs on, an answer that is an INTERNAL error after the work committed, a
//! dependency slowed to a crawl, a gateway frozen past its lease while another
//! drives its saga. Each test names the interleaving it forces; each failed before the
//! saga engine classified every answer as done, refused or unknown.

mod answer_in_budget;
mod cancel_after_internal;
mod cancel_answer_past_pivot;
mod delivery_after_internal;
mod delivery_slips_in;
mod fenced_leases;
mod key_outlives_request;
mod lost_lock_answer;
mod no_stuck_past_pivot;
mod pivot_is_durable;
mod poison_event;

use std::time::Duration;

use shop_e2e::{Stack, User};
use sqlx::PgPool;
use uuid::Uuid;

/// A direct pool on one of the stack's databases (not through any fault proxy).
pub async fn pool(url: &str) -> PgPool {
    shop_common::db::connect(url, 2).await.unwrap()
}

/// A product of price 100 with `stock` units, and a buyer with 10 000 points.
pub async fn shop(stack: &Stack, stock: i32) -> (User, String) {
    let admin = stack.admin().await;
    let product = admin.create_product("partial", 100, stock).await;
    let buyer = stack.user().await;
    admin.top_up(buyer.id, 10_000).await;
    (buyer, product.id)
}

/// The PAY saga of an order: (id, state, step, phase).
pub async fn pay_saga(gateway: &PgPool, order_id: &str) -> Option<(Uuid, String, String, String)> {
    sqlx::query_as(
        "SELECT id, state, step, phase FROM sagas WHERE order_id = $1 AND kind = 'PAY' \
         ORDER BY created_at LIMIT 1",
    )
    .bind(Uuid::parse_str(order_id).unwrap())
    .fetch_optional(gateway)
    .await
    .unwrap()
}

/// Waits (at most `within`) until the order's first PAY saga is at `step`.
pub async fn wait_for_step(gateway: &PgPool, order_id: &str, step: &str, within: Duration) {
    let reached = crate::support::eventually(within, || async {
        pay_saga(gateway, order_id)
            .await
            .is_some_and(|(_, _, at, _)| at == step)
    })
    .await;
    assert!(
        reached,
        "the saga of {order_id} did not reach {step}: {:?}",
        pay_saga(gateway, order_id).await
    );
}

/// The order's status in order-svc's database.
pub async fn order_status(order: &PgPool, order_id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
        .bind(Uuid::parse_str(order_id).unwrap())
        .fetch_one(order)
        .await
        .unwrap()
}

/// Waits (at most `within`) until the order is in `status`; false if it never is.
pub async fn order_becomes(order: &PgPool, order_id: &str, status: &str, within: Duration) -> bool {
    crate::support::eventually(within, || async {
        order_status(order, order_id).await == status
    })
    .await
}

/// Lets recovery take the order's unfinished sagas now, as if their lease (or
/// backoff) had run out.
pub async fn expire_leases(gateway: &PgPool, order_id: &str) {
    sqlx::query(
        "UPDATE sagas SET lease_until = now() WHERE order_id = $1 \
         AND state IN ('RUNNING', 'COMPENSATING')",
    )
    .bind(Uuid::parse_str(order_id).unwrap())
    .execute(gateway)
    .await
    .unwrap();
}

/// Waits (at most `within`) until some session of `pool`'s database waits for a lock.
pub async fn someone_waits_for_a_lock(pool: &PgPool, within: Duration) -> bool {
    crate::support::eventually(within, || async {
        let waiters: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        waiters > 0
    })
    .await
}

/// Renames a table of a service's database (`ALTER TABLE .. RENAME`): every statement
/// that names it fails with an INTERNAL error until [`rename`] puts it back.
pub async fn rename(pool: &PgPool, from: &str, to: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER TABLE {from} RENAME TO {to}"
    )))
    .execute(pool)
    .await
    .unwrap();
}

/// A Redis connection to the stack's Redis (directly).
pub async fn redis(stack: &Stack) -> redis::aio::MultiplexedConnection {
    redis::Client::open(stack.redis_url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

pub fn hold_key(order_id: &str) -> String {
    format!("delivery:hold:{order_id}")
}
