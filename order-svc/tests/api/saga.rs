//! The pay-saga steps and the other transitions: legal moves, repeats, fences and
//! refusals with their codes and reasons.

use shop_proto::{common::OrderStatus, order as pb};
use tonic::Code;

use crate::helpers::{assert_error, line, new_id, spawn_app, spawn_app_with, status_of};

#[tokio::test]
async fn the_happy_path_and_every_repeat_of_it() {
    let app = spawn_app().await;
    let mug = app.product("mug", 100, 10).await;
    let order = app.order(vec![line(&mug.id, 3)]).await;
    let saga = new_id();

    let begun = app.begin(&order.id, &saga).await.unwrap().into_inner();
    assert_eq!(status_of(&begun), OrderStatus::PaymentInProgress);
    assert_eq!(begun.saga_id, saga);
    assert_eq!(
        app.begin(&order.id, &saga).await.unwrap().into_inner(),
        begun
    );

    assert!(
        app.reserve(&order.id, &saga)
            .await
            .unwrap()
            .into_inner()
            .reserved
    );
    assert!(
        app.reserve(&order.id, &saga)
            .await
            .unwrap()
            .into_inner()
            .reserved
    );
    assert_eq!(
        app.stock(&mug.id).await,
        7,
        "a repeated reserve takes nothing more"
    );

    let payment_id = new_id();
    let paid_request = pb::MarkPaidRequest {
        order_id: order.id.clone(),
        saga_id: saga.clone(),
        payment_id: payment_id.clone(),
        discount_amount: 50,
        paid_amount: 250,
    };
    let paid = app
        .client()
        .mark_paid(paid_request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status_of(&paid), OrderStatus::Paid);
    assert_eq!(
        (
            paid.payment_id.as_str(),
            paid.discount_amount,
            paid.paid_amount
        ),
        (payment_id.as_str(), 50, 250)
    );
    let at = |o: &pb::Order| o.updated_at.map(|t| (t.seconds, t.nanos));
    assert!(at(&paid) > at(&begun), "every transition moves updated_at");
    let repeat = pb::MarkPaidRequest {
        payment_id: new_id(),
        ..paid_request
    };
    assert_eq!(
        app.client().mark_paid(repeat).await.unwrap().into_inner(),
        paid
    );
    assert_eq!(
        app.begin(&order.id, &saga).await.unwrap().into_inner(),
        paid
    );
    assert!(
        app.reserve(&order.id, &saga)
            .await
            .unwrap()
            .into_inner()
            .reserved
    );
    assert_eq!(app.events_of(&order.id, "ORDER_PAID").await, 1);

    let received_request = pb::MarkReceivedRequest {
        order_id: order.id.clone(),
    };
    let received = app
        .client()
        .mark_received(received_request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status_of(&received), OrderStatus::Received);
    assert_eq!(
        app.client()
            .mark_received(received_request)
            .await
            .unwrap()
            .into_inner(),
        received
    );
    assert_eq!(app.events_of(&order.id, "ORDER_RECEIVED").await, 1);
    assert_eq!(app.stock(&mug.id).await, 7);
    app.assert_stock_conserved().await;
}

#[tokio::test]
async fn a_second_saga_cannot_take_a_held_order() {
    let app = spawn_app().await;
    let mug = app.product("mug", 100, 10).await;
    let order = app.order(vec![line(&mug.id, 1)]).await;
    let (first, second) = (new_id(), new_id());
    app.begin(&order.id, &first).await.unwrap();

    assert_error(
        app.begin(&order.id, &second).await,
        Code::Aborted,
        "PAYMENT_IN_PROGRESS",
    );
    assert_error(
        app.cancel(&order.id, "changed my mind").await,
        Code::Aborted,
        "PAYMENT_IN_PROGRESS",
    );
    assert_error(
        app.mark_paid(&order.id, &second, &new_id()).await,
        Code::FailedPrecondition,
        "ORDER_NOT_PAYABLE",
    );
    assert_error(
        app.reserve(&order.id, &second).await,
        Code::FailedPrecondition,
        "ORDER_NOT_PAYABLE",
    );
    assert_eq!(app.stock(&mug.id).await, 10);
    // The second saga's abort is a no-op: it never held the order.
    let after = app
        .abort(&order.id, &second, "gave up")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (status_of(&after), after.saga_id.as_str()),
        (OrderStatus::PaymentInProgress, first.as_str())
    );
}

#[tokio::test]
async fn abort_returns_the_order_for_another_attempt_and_fences_its_saga() {
    let app = spawn_app().await;
    let mug = app.product("mug", 100, 10).await;
    let order = app.order(vec![line(&mug.id, 1)]).await;
    let saga = new_id();
    app.begin(&order.id, &saga).await.unwrap();

    let aborted = app
        .abort(&order.id, &saga, "card declined")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status_of(&aborted), OrderStatus::PendingPayment);
    assert_eq!(aborted.last_error, "card declined");
    assert_eq!(
        app.abort(&order.id, &saga, "again")
            .await
            .unwrap()
            .into_inner(),
        aborted
    );

    // A late retry of the aborted saga's first step must not lock the order again.
    assert_error(
        app.begin(&order.id, &saga).await,
        Code::Aborted,
        "INVALID_STATE",
    );
    assert_eq!(app.get_order(&order.id).await, aborted);

    let retry = new_id();
    let begun = app.begin(&order.id, &retry).await.unwrap().into_inner();
    assert_eq!(
        (status_of(&begun), begun.saga_id.as_str()),
        (OrderStatus::PaymentInProgress, retry.as_str())
    );
}

#[tokio::test]
async fn an_abort_that_arrives_before_its_begin_fences_the_begin() {
    let app = spawn_app().await;
    let mug = app.product("mug", 100, 10).await;
    let order = app.order(vec![line(&mug.id, 1)]).await;
    let saga = new_id();
    let untouched = app
        .abort(&order.id, &saga, "timed out")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        untouched, order,
        "an empty compensation changes nothing visible"
    );
    assert_error(
        app.begin(&order.id, &saga).await,
        Code::Aborted,
        "INVALID_STATE",
    );
    assert_eq!(
        status_of(&app.get_order(&order.id).await),
        OrderStatus::PendingPayment
    );
}

#[tokio::test]
async fn abort_after_the_saga_paid_is_refused() {
    let app = spawn_app().await;
    let mug = app.product("mug", 100, 10).await;
    let order = app.order(vec![line(&mug.id, 1)]).await;
    let saga = app.pay(&order).await;
    assert_error(
        app.abort(&order.id, &saga, "late").await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    assert_eq!(
        status_of(&app.get_order(&order.id).await),
        OrderStatus::Paid
    );
}

#[tokio::test]
async fn begin_on_an_overdue_order_expires_it() {
    // A sweeper that effectively never runs, so BeginPayment meets the overdue order.
    let app = spawn_app_with(|c| order_svc::Config {
        sweep_every: std::time::Duration::from_secs(3600),
        ..c
    })
    .await;
    let mug = app.product("mug", 100, 10).await;
    let order = app.order(vec![line(&mug.id, 1)]).await;
    sqlx::query("UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(&order.id)
        .execute(&app.pool)
        .await
        .unwrap();
    let saga = new_id();
    assert_error(
        app.begin(&order.id, &saga).await,
        Code::FailedPrecondition,
        "ORDER_EXPIRED",
    );
    assert_eq!(
        status_of(&app.get_order(&order.id).await),
        OrderStatus::Expired
    );
    assert_error(
        app.begin(&order.id, &saga).await,
        Code::FailedPrecondition,
        "ORDER_EXPIRED",
    );
    assert_eq!(app.events_of(&order.id, "ORDER_EXPIRED").await, 1);
}

#[tokio::test]
async fn saga_steps_check_their_ids() {
    let app = spawn_app().await;
    let mug = app.product("mug", 100, 10).await;
    let order = app.order(vec![line(&mug.id, 1)]).await;
    assert_error(
        app.begin(&order.id, "saga").await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert_error(
        app.reserve("x", &new_id()).await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert_error(
        app.mark_paid(&order.id, &new_id(), "").await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    let missing = new_id();
    assert_error(
        app.begin(&missing, &new_id()).await,
        Code::NotFound,
        "ORDER_NOT_FOUND",
    );
    assert_error(
        app.reserve(&missing, &new_id()).await,
        Code::NotFound,
        "ORDER_NOT_FOUND",
    );
    assert_error(
        app.release(&missing, &new_id()).await,
        Code::NotFound,
        "ORDER_NOT_FOUND",
    );
    assert_error(
        app.cancel(&missing, "").await,
        Code::NotFound,
        "ORDER_NOT_FOUND",
    );
    assert_eq!(app.get_order(&order.id).await, order);
}
