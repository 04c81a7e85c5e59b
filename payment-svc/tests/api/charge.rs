//! Charges: points taken once, insufficient balances, one charged payment per order,
//! and many charges racing for one balance.

use shop_proto::{common::PaymentStatus, payment::GetPaymentRequest};
use tonic::Code;

use crate::helpers::{TestApp, assert_refused, id};

#[tokio::test]
async fn a_charge_takes_the_points_and_records_the_payment() {
    let app = TestApp::spawn().await;
    let (user, order, saga) = (id(), id(), id());
    app.top_up(&user, 1000).await;
    let payment = app.charge(&order, &saga, &user, 400, "").await.unwrap();
    assert_eq!(payment.status(), PaymentStatus::Charged);
    assert_eq!(
        (payment.order_id.as_str(), payment.saga_id.as_str()),
        (order.as_str(), saga.as_str())
    );
    assert_eq!(payment.user_id, user);
    assert_eq!(
        (payment.amount, payment.discount_amount, payment.paid_amount),
        (400, 0, 400)
    );
    assert!(payment.coupon_id.is_empty());
    assert!(payment.refunded_at.is_none());
    assert_eq!(app.balance(&user).await, 600);

    let found = app
        .client
        .clone()
        .get_payment(GetPaymentRequest { order_id: order })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found, payment);
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_repeated_charge_returns_the_first_payment() {
    let app = TestApp::spawn().await;
    let (user, order, saga) = (id(), id(), id());
    app.top_up(&user, 1000).await;
    let first = app.charge(&order, &saga, &user, 400, "").await.unwrap();
    let again = app.charge(&order, &saga, &user, 400, "").await.unwrap();
    assert_eq!(again, first);
    // Even a repeat that differs is answered with the first result, not charged again.
    let different = app.charge(&order, &saga, &user, 999, "").await.unwrap();
    assert_eq!(different, first);
    assert_eq!(app.balance(&user).await, 600);
    app.assert_invariants().await;
}

#[tokio::test]
async fn too_few_points_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let (user, order, saga) = (id(), id(), id());
    app.top_up(&user, 300).await;
    let err = app.charge(&order, &saga, &user, 301, "").await.unwrap_err();
    assert_refused(&err, Code::FailedPrecondition, "INSUFFICIENT_POINTS");
    assert!(
        err.message().contains("300") && err.message().contains("301"),
        "{}",
        err.message()
    );
    assert_eq!(app.balance(&user).await, 300);

    let nobody = id();
    let err = app.charge(&id(), &id(), &nobody, 1, "").await.unwrap_err();
    assert_refused(&err, Code::FailedPrecondition, "INSUFFICIENT_POINTS");

    let err = app
        .client
        .clone()
        .get_payment(GetPaymentRequest {
            order_id: order.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::NotFound,
        "a refused charge leaves no payment"
    );

    // The refusal left no fence behind: the same saga may charge once the points are there.
    app.top_up(&user, 1).await;
    let payment = app.charge(&order, &saga, &user, 301, "").await.unwrap();
    assert_eq!(payment.paid_amount, 301);
    assert_eq!(app.balance(&user).await, 0);
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_second_saga_cannot_charge_a_charged_order() {
    let app = TestApp::spawn().await;
    let (user, order) = (id(), id());
    app.top_up(&user, 1000).await;
    let first = app.charge(&order, &id(), &user, 400, "").await.unwrap();
    let err = app.charge(&order, &id(), &user, 400, "").await.unwrap_err();
    assert_refused(&err, Code::Aborted, "PAYMENT_IN_PROGRESS");
    assert_eq!(app.balance(&user).await, 600);
    let found = app
        .client
        .clone()
        .get_payment(GetPaymentRequest { order_id: order })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.id, first.id);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sagas_racing_for_one_order_charge_it_once() {
    let app = TestApp::spawn().await;
    let (user, order) = (id(), id());
    app.top_up(&user, 1000).await;
    let (saga_a, saga_b) = (id(), id());
    let (a, b) = tokio::join!(
        app.charge(&order, &saga_a, &user, 400, ""),
        app.charge(&order, &saga_b, &user, 400, ""),
    );
    let lost = match (a, b) {
        (Ok(_), Err(lost)) | (Err(lost), Ok(_)) => lost,
        other => panic!("expected exactly one charge, got {other:?}"),
    };
    assert_refused(&lost, Code::Aborted, "PAYMENT_IN_PROGRESS");
    assert_eq!(app.balance(&user).await, 600);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_parallel_charges_never_overdraw_the_balance() {
    let app = TestApp::spawn().await;
    let user = id();
    app.top_up(&user, 1000).await;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let mut client = app.client.clone();
        let request = shop_proto::payment::ChargeRequest {
            order_id: id(),
            saga_id: id(),
            user_id: user.clone(),
            amount: 100,
            coupon_id: String::new(),
        };
        calls.spawn(async move { client.charge(request).await });
    }
    let (mut charged, mut refused) = (0, 0);
    while let Some(result) = calls.join_next().await {
        match result.unwrap() {
            Ok(_) => charged += 1,
            Err(err) => {
                assert_refused(&err, Code::FailedPrecondition, "INSUFFICIENT_POINTS");
                refused += 1;
            }
        }
    }
    assert_eq!((charged, refused), (10, 10));
    assert_eq!(app.balance(&user).await, 0);
    app.assert_invariants().await;
}

#[tokio::test]
async fn get_payment_of_an_unpaid_order_is_not_found() {
    let app = TestApp::spawn().await;
    let err = app
        .client
        .clone()
        .get_payment(GetPaymentRequest { order_id: id() })
        .await
        .unwrap_err();
    assert_refused(&err, Code::NotFound, "NOT_FOUND");
    app.assert_invariants().await;
}

#[tokio::test]
async fn an_order_of_free_products_is_charged_nothing_and_needs_no_wallet() {
    let app = TestApp::spawn().await;
    let (user, order, saga) = (id(), id(), id());
    let payment = app.charge(&order, &saga, &user, 0, "").await.unwrap();
    assert_eq!(payment.status(), PaymentStatus::Charged);
    assert_eq!((payment.amount, payment.paid_amount), (0, 0));
    assert!(app.refund(&order, &saga).await.refunded);
    assert_eq!(app.balance(&user).await, 0);
    app.assert_invariants().await;
}
