//! Found by the chaos test (seed 448840436): a client was told PAID, then cancelled the
//! order and was answered "PAID" again, yet the order ended CANCELLED and refunded.
//!
//! Interleaving forced here:
//! 1. The cancel saga cancels the delivery (its pivot: from here it only goes forward).
//! 2. payment-svc's `payments` table is renamed away, so the Refund answers INTERNAL:
//!    unknown, past the pivot, so the saga is left to recovery and the caller answered.
//!
//! Before the fix the answer was the order as order-svc still had it, PAID: the client
//! could not tell its cancel had been accepted. Now it is CANCELLED, composed from what
//! the saga saw, and recovery keeps that promise once payment-svc answers again.

use std::time::Duration;

use shop_e2e::Stack;
use shop_proto::common::OrderStatus;

use super::{expire_leases, order_becomes, order_status, pool, rename, shop};
use crate::support::status_of;

#[tokio::test]
async fn a_cancel_past_its_pivot_is_answered_cancelled_and_finished() {
    let stack = Stack::start().await.unwrap();
    let (buyer, product) = shop(&stack, 5).await;
    let order = buyer.checkout(&[(&product, 1)], "").await.unwrap();
    assert_eq!(status_of(&order), OrderStatus::Paid);
    let (payment_db, order_db, gateway_db) = (
        pool(&stack.databases.payment).await,
        pool(&stack.databases.order).await,
        pool(&stack.databases.gateway).await,
    );
    rename(&payment_db, "payments", "payments_hidden").await;

    let answer = tokio::time::timeout(
        Duration::from_secs(20),
        buyer.cancel(&order.id, "changed my mind"),
    )
    .await
    .expect("the buyer gets an answer within the budget")
    .expect("the cancel is accepted");
    assert_eq!(
        status_of(&answer),
        OrderStatus::Cancelled,
        "the answer says what the saga will do: {answer:?}"
    );
    assert_eq!(
        order_status(&order_db, &order.id).await,
        "PAID",
        "order-svc still has it PAID: the refund has not happened yet"
    );

    rename(&payment_db, "payments_hidden", "payments").await;
    expire_leases(&gateway_db, &order.id).await;
    assert!(
        order_becomes(&order_db, &order.id, "CANCELLED", Duration::from_secs(30)).await,
        "recovery keeps the promise"
    );
    assert_eq!(buyer.wallet().await.balance, 10_000, "the points came back");
    stack.audit().await;
}
