//! Defect 1: a delivery survives a refunded, FAILED order.
//!
//! Interleaving forced here (the hold's TTL ends between two ConfirmDelivery attempts):
//! 1. The test holds delivery-svc's per-order advisory lock; the saga charges and
//!    calls ConfirmDelivery, attempt A, which waits for the lock.
//! 2. The hold's TTL ends (the test deletes the key, as the expiry would).
//! 3. The gateway gives up on A after its per-call limit and sends attempt B.
//! 4. The lock is released; whatever A read before the lock must not create a
//!    delivery behind a saga that decided the hold was lost.
//!
//! Before the fix, A had read the hold before taking the lock and B (which took no
//! lock) answered DELIVERY_HOLD_EXPIRED, so the saga refunded, restocked and failed
//! the order, then A inserted a PREPARING delivery with the address. Now the
//! delivery is either created (the order ends PAID) or fenced (FAILED, no delivery).

use std::time::Duration;

use shop_e2e::Stack;
use uuid::Uuid;

use super::{hold_key, order_status, pool, redis, shop, someone_waits_for_a_lock};

#[tokio::test]
async fn a_late_confirm_never_leaves_a_delivery_behind_a_failed_order() {
    let stack = Stack::start().await.unwrap();
    let (buyer, product) = shop(&stack, 5).await;
    let order = buyer.place(&[(&product, 1)]).await.unwrap();
    let delivery_db = pool(&stack.databases.delivery).await;
    let order_db = pool(&stack.databases.order).await;

    let mut lock = delivery_db.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2::text))")
        .bind(0x0de1_0001_i32)
        .bind(Uuid::parse_str(&order.id).unwrap())
        .execute(&mut *lock)
        .await
        .unwrap();

    let paying = tokio::spawn({
        let (buyer, id) = (buyer.clone(), order.id.clone());
        async move { buyer.pay_within(&id, Duration::from_secs(8)).await }
    });
    assert!(
        someone_waits_for_a_lock(&delivery_db, Duration::from_secs(10)).await,
        "ConfirmDelivery waits for the order's lock"
    );
    let mut redis = redis(&stack).await;
    let _: i64 = redis::cmd("DEL")
        .arg(hold_key(&order.id))
        .query_async(&mut redis)
        .await
        .unwrap();
    // Past the gateway's per-call limit (3 s): the retry has been sent.
    tokio::time::sleep(Duration::from_secs(4)).await;
    lock.rollback().await.unwrap();

    let answer = tokio::time::timeout(Duration::from_secs(15), paying)
        .await
        .expect("the buyer gets an answer")
        .unwrap();
    stack.audit().await;
    let status = order_status(&order_db, &order.id).await;
    assert!(
        status == "PAID" || status == "FAILED",
        "the order ends paid or failed, not {status} (answer {answer:?})"
    );
}
