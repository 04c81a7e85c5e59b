//! Defect 2: an order locked forever.
//!
//! Interleaving forced here (BeginPayment commits, then the answers are INTERNAL):
//! 1. The test locks the order row; the saga's BeginPayment, attempt A, waits for it.
//! 2. The proxy between the gateway and order-svc starts swallowing answers; the row
//!    is released, so A commits (the order is PAYMENT_IN_PROGRESS) unheard.
//! 3. `payment_fences` is renamed away, so the retry B (and any compensation) gets an
//!    INTERNAL error from order-svc.
//!
//! Before the fix the saga took B's INTERNAL for a refusal and ended COMPENSATED
//! without AbortPayment: the order stayed PAYMENT_IN_PROGRESS, not payable, not
//! cancellable, skipped by the sweeper. Now an unknown outcome before the pivot is
//! compensated like a failure, so once order-svc answers again the order is payable.

use std::time::Duration;

use shop_e2e::{Options, Stack};
use shop_testkit::Fault;
use uuid::Uuid;

use super::{order_becomes, pool, rename, shop, someone_waits_for_a_lock};
use crate::support::status_of;

#[tokio::test]
async fn an_unknown_lock_outcome_is_undone_and_the_order_stays_payable() {
    let stack = Stack::with(Options {
        faults: true,
        ..Options::default()
    })
    .await
    .unwrap();
    let (buyer, product) = shop(&stack, 5).await;
    let order = buyer.place(&[(&product, 1)]).await.unwrap();
    let order_db = pool(&stack.databases.order).await;

    let mut row = order_db.begin().await.unwrap();
    sqlx::query("SELECT id FROM orders WHERE id = $1 FOR UPDATE")
        .bind(Uuid::parse_str(&order.id).unwrap())
        .execute(&mut *row)
        .await
        .unwrap();
    let paying = tokio::spawn({
        let (buyer, id) = (buyer.clone(), order.id.clone());
        async move { buyer.pay_within(&id, Duration::from_secs(8)).await }
    });
    assert!(
        someone_waits_for_a_lock(&order_db, Duration::from_secs(10)).await,
        "BeginPayment waits for the order row"
    );
    let proxy = &stack.faults().order;
    proxy.set(Fault::DropAnswers);
    row.rollback().await.unwrap();
    assert!(
        order_becomes(
            &order_db,
            &order.id,
            "PAYMENT_IN_PROGRESS",
            Duration::from_secs(5)
        )
        .await,
        "BeginPayment committed"
    );
    rename(&order_db, "payment_fences", "payment_fences_hidden").await;
    proxy.set(Fault::Pass);
    proxy.reset_connections();

    let answer = tokio::time::timeout(Duration::from_secs(30), paying)
        .await
        .expect("the buyer gets an answer")
        .unwrap();
    assert!(answer.is_err(), "nothing was paid: {answer:?}");
    rename(&order_db, "payment_fences_hidden", "payment_fences").await;

    assert!(
        order_becomes(
            &order_db,
            &order.id,
            "PENDING_PAYMENT",
            Duration::from_secs(40)
        )
        .await,
        "the order is unlocked once order-svc answers again"
    );
    let paid = buyer.pay(&order.id, "").await.unwrap();
    assert_eq!(status_of(&paid), shop_proto::common::OrderStatus::Paid);
    stack.audit().await;
}
