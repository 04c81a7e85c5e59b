//! Defect 9: the caller's view of the pivot could differ from the saga log's.
//!
//! Interleaving forced here: payment-svc's answers are slowed; while the charge is in
//! flight the gateway's own database becomes unreachable (its proxy refuses), so the
//! charge succeeds but the saga cannot record it, nor its deferral.
//!
//! Before the fix the saga had already moved its in-memory step to DELIVER, took
//! itself for past the pivot and told the buyer the payment was going through, while
//! recovery (reading CHARGE STARTED) refunded it. Now what the caller is told follows
//! what the log says: here the charge is unrecorded, so the buyer hears UNAVAILABLE
//! and the order ends unpaid, with the points back.

use std::time::Duration;

use shop_e2e::{Options, Stack};
use shop_proto::common::OrderStatus;
use shop_testkit::Fault;

use super::{expire_leases, order_status, pool, shop, wait_for_step};
use crate::support::{eventually, status_of};

#[tokio::test]
async fn the_buyer_is_told_what_the_saga_log_says() {
    let stack = Stack::with(Options {
        faults: true,
        ..Options::default()
    })
    .await
    .unwrap();
    let (buyer, product) = shop(&stack, 5).await;
    let order = buyer.place(&[(&product, 1)]).await.unwrap();
    let (gateway_db, order_db) = (
        pool(&stack.databases.gateway).await,
        pool(&stack.databases.order).await,
    );
    stack.faults().payment.set(Fault::Delay {
        up: Duration::ZERO,
        down: Duration::from_millis(1500),
    });
    let paying = tokio::spawn({
        let (buyer, id) = (buyer.clone(), order.id.clone());
        async move { buyer.pay_within(&id, Duration::from_secs(20)).await }
    });
    wait_for_step(&gateway_db, &order.id, "CHARGE", Duration::from_secs(10)).await;
    stack.faults().gateway_db.set(Fault::Refuse);
    let answer = tokio::time::timeout(Duration::from_secs(25), paying)
        .await
        .expect("the buyer gets an answer")
        .unwrap();
    stack.faults().gateway_db.set(Fault::Pass);
    stack.faults().payment.set(Fault::Pass);

    expire_leases(&gateway_db, &order.id).await;
    let ended = eventually(Duration::from_secs(30), || async {
        order_status(&order_db, &order.id).await != "PAYMENT_IN_PROGRESS"
    })
    .await;
    assert!(ended, "the saga ends");
    let status = order_status(&order_db, &order.id).await;
    match &answer {
        Ok(told) => {
            assert_eq!(
                status,
                "PAID",
                "told {:?}, the order must end paid",
                status_of(told)
            );
            assert_ne!(status_of(told), OrderStatus::PendingPayment);
        }
        Err(_) => assert_eq!(
            status, "PENDING_PAYMENT",
            "told {answer:?}: nothing was paid"
        ),
    }
    stack.audit().await;
}
