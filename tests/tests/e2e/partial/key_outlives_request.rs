//! Defect 7: an idempotency key was released before the saga it started had ended.
//!
//! Interleaving forced here: a keyed Checkout whose charge hangs (payment-svc's proxy
//! is a blackhole) gives up within its deadline, before its saga's compensation could
//! reach payment-svc, so the saga is left unfinished for recovery; a retry with the
//! same key arrives at once.
//!
//! Before the fix the key's lock (30 s, and released when the request gave up) did not
//! cover the saga: the retry took the key over, ran a saga of its own (refused: the
//! order was PAYMENT_IN_PROGRESS) and marked the key DONE; the first saga then
//! compensated the order back to unpaid, and every later retry with the key answered
//! "success" with an unpaid order. Now the key stays taken while the saga it started is
//! unfinished (the retry is IDEMPOTENCY_KEY_IN_USE), and a retry after it ended pays.

use std::time::Duration;

use shop_e2e::{Options, Stack};
use shop_proto::common::OrderStatus;
use shop_testkit::Fault;

use super::shop;
use crate::support::status_of;

#[tokio::test]
async fn a_retry_does_not_take_over_the_key_of_an_unfinished_saga() {
    let stack = Stack::with(Options {
        faults: true,
        ..Options::default()
    })
    .await
    .unwrap();
    let (buyer, product) = shop(&stack, 5).await;
    let key = format!("checkout-{}", buyer.id);
    stack.faults().payment.set(Fault::Blackhole);

    let first = buyer
        .checkout_keyed_within(&[(&product, 1)], &key, Duration::from_secs(25))
        .await;
    assert!(first.is_err(), "nothing could be charged: {first:?}");
    let second = buyer
        .checkout_keyed_within(&[(&product, 1)], &key, Duration::from_secs(8))
        .await;

    stack.faults().payment.set(Fault::Pass);
    stack.faults().payment.reset_connections();
    let audit = shop_e2e::audit::Audit::connect(&stack.databases, &stack.redis_url).await;
    audit.wait_for_sagas().await;
    if let Ok(order) = &second {
        let now = buyer.order(&order.id).await.unwrap();
        assert_eq!(
            status_of(&now),
            OrderStatus::Paid,
            "the retry was told {:?}: the order must end paid",
            status_of(order)
        );
    }

    let third = buyer
        .checkout_keyed_within(&[(&product, 1)], &key, Duration::from_secs(20))
        .await;
    let third = third.unwrap_or_else(|s| {
        panic!(
            "a retry after the first saga ended pays (first {first:?}, second {second:?}): {s:?}"
        )
    });
    assert_eq!(
        status_of(&third),
        OrderStatus::Paid,
        "a retry's success is a paid order (first {first:?}, second {second:?})"
    );
    stack.audit().await;
}
