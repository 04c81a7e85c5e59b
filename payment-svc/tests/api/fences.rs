//! Refunds and the saga fences: idempotent compensation, empty compensation
//! (tombstones), hanging charges, and a new saga after a compensated one.

use shop_proto::{
    common::PaymentStatus,
    payment::{GetPaymentRequest, issue_coupon_request::Discount},
};
use tonic::Code;

use crate::helpers::{TestApp, assert_refused, id};

#[tokio::test]
async fn a_refund_gives_the_points_back_once() {
    let app = TestApp::spawn().await;
    let (user, order, saga) = (id(), id(), id());
    app.top_up(&user, 1000).await;
    let coupon = app.coupon(&user, Discount::DiscountAmount(100), 0).await;
    let charged = app
        .charge(&order, &saga, &user, 500, &coupon.id)
        .await
        .unwrap();
    assert_eq!(app.balance(&user).await, 600);

    let first = app.refund(&order, &saga).await;
    assert!(first.refunded);
    let refunded = first.payment.expect("the refunded payment");
    assert_eq!(refunded.id, charged.id);
    assert_eq!(refunded.status(), PaymentStatus::Refunded);
    assert!(refunded.refunded_at.is_some());
    assert_eq!(app.balance(&user).await, 1000);
    assert!(app.wallet(&user).await.coupons[0].used_order_id.is_empty());

    let again = app.refund(&order, &saga).await;
    assert!(!again.refunded, "a repeated refund is a no-op");
    assert_eq!(again.payment, Some(refunded.clone()));
    assert_eq!(app.balance(&user).await, 1000);

    let found = app
        .client
        .clone()
        .get_payment(GetPaymentRequest { order_id: order })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found, refunded, "the latest payment when none is charged");
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_refund_before_the_charge_fences_the_late_charge_out() {
    let app = TestApp::spawn().await;
    let (user, order, saga) = (id(), id(), id());
    app.top_up(&user, 1000).await;

    let tombstone = app.refund(&order, &saga).await;
    assert!(!tombstone.refunded);
    assert!(tombstone.payment.is_none());
    let again = app.refund(&order, &saga).await;
    assert!(!again.refunded && again.payment.is_none());

    let err = app.charge(&order, &saga, &user, 400, "").await.unwrap_err();
    assert_refused(&err, Code::Aborted, "INVALID_STATE");
    assert_eq!(app.balance(&user).await, 1000);
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_charge_after_its_refund_is_refused() {
    let app = TestApp::spawn().await;
    let (user, order, saga) = (id(), id(), id());
    app.top_up(&user, 1000).await;
    app.charge(&order, &saga, &user, 400, "").await.unwrap();
    assert!(app.refund(&order, &saga).await.refunded);

    let err = app.charge(&order, &saga, &user, 400, "").await.unwrap_err();
    assert_refused(&err, Code::Aborted, "INVALID_STATE");
    assert_eq!(app.balance(&user).await, 1000);
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_new_saga_can_pay_an_order_whose_first_saga_was_refunded() {
    let app = TestApp::spawn().await;
    let (user, order, first_saga, second_saga) = (id(), id(), id(), id());
    app.top_up(&user, 1000).await;
    let coupon = app.coupon(&user, Discount::DiscountPercent(50), 0).await;
    app.charge(&order, &first_saga, &user, 400, &coupon.id)
        .await
        .unwrap();
    assert!(app.refund(&order, &first_saga).await.refunded);

    let second = app
        .charge(&order, &second_saga, &user, 400, &coupon.id)
        .await
        .unwrap();
    assert_eq!(second.saga_id, second_saga);
    assert_eq!(second.paid_amount, 200, "the freed coupon applies again");
    assert_eq!(app.balance(&user).await, 800);

    let found = app
        .client
        .clone()
        .get_payment(GetPaymentRequest { order_id: order })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        found.id, second.id,
        "the charged payment wins over the refunded one"
    );
    app.assert_invariants().await;
}

#[tokio::test]
async fn refunding_another_saga_leaves_the_charge_alone() {
    let app = TestApp::spawn().await;
    let (user, order, saga) = (id(), id(), id());
    app.top_up(&user, 1000).await;
    app.charge(&order, &saga, &user, 400, "").await.unwrap();

    let other = app.refund(&order, &id()).await;
    assert!(!other.refunded && other.payment.is_none());
    assert_eq!(app.balance(&user).await, 600);
    let again = app.charge(&order, &saga, &user, 400, "").await.unwrap();
    assert_eq!(again.status(), PaymentStatus::Charged);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_racing_its_refund_ends_charged_and_refunded_or_fenced() {
    let app = TestApp::spawn().await;
    let user = id();
    app.top_up(&user, 10_000).await;
    for _ in 0..10 {
        let (order, saga) = (id(), id());
        let (charge, refund) = tokio::join!(
            app.charge(&order, &saga, &user, 100, ""),
            app.refund(&order, &saga)
        );
        match charge {
            // The charge came first: the refund must have undone it.
            Ok(_) => assert!(refund.refunded, "a charge slipped past its refund"),
            // The refund came first: its tombstone refused the charge.
            Err(err) => {
                assert_refused(&err, Code::Aborted, "INVALID_STATE");
                assert!(!refund.refunded && refund.payment.is_none());
            }
        }
    }
    assert_eq!(app.balance(&user).await, 10_000);
    app.assert_invariants().await;
}
