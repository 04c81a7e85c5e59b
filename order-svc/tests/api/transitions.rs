//! The transitions out of the pay saga's hands: ExpireOrder, MarkFailed, CancelOrder,
//! MarkReceived; legal and illegal moves with their codes and reasons.

use shop_proto::{common::OrderStatus, order as pb};
use tonic::Code;

use crate::helpers::{assert_error, line, new_id, spawn_app, status_of};

#[tokio::test]
async fn expire_order_rules() {
    let app = spawn_app().await;
    let mug = app.product("mug", 100, 10).await;
    let expire = |order_id: &str, saga_id: &str| {
        let mut client = app.client();
        let request = pb::ExpireOrderRequest {
            order_id: order_id.to_owned(),
            saga_id: saga_id.to_owned(),
        };
        async move { client.expire_order(request).await }
    };

    let pending = app.order(vec![line(&mug.id, 1)]).await;
    let expired = expire(&pending.id, "").await.unwrap().into_inner();
    assert_eq!(status_of(&expired), OrderStatus::Expired);
    assert_eq!(expire(&pending.id, "").await.unwrap().into_inner(), expired);
    assert_eq!(app.events_of(&pending.id, "ORDER_EXPIRED").await, 1);

    let held = app.order(vec![line(&mug.id, 1)]).await;
    let saga = new_id();
    app.begin(&held.id, &saga).await.unwrap();
    assert_error(
        expire(&held.id, "").await,
        Code::Aborted,
        "PAYMENT_IN_PROGRESS",
    );
    assert_error(
        expire(&held.id, &new_id()).await,
        Code::Aborted,
        "PAYMENT_IN_PROGRESS",
    );
    assert_eq!(
        status_of(&expire(&held.id, &saga).await.unwrap().into_inner()),
        OrderStatus::Expired
    );

    let reserved = app.order(vec![line(&mug.id, 1)]).await;
    let saga = new_id();
    app.begin(&reserved.id, &saga).await.unwrap();
    app.reserve(&reserved.id, &saga).await.unwrap();
    assert_error(
        expire(&reserved.id, &saga).await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    app.release(&reserved.id, &saga).await.unwrap();
    let expired = expire(&reserved.id, &saga).await.unwrap().into_inner();
    assert_eq!(status_of(&expired), OrderStatus::Expired);

    let paid = app.order(vec![line(&mug.id, 1)]).await;
    app.pay(&paid).await;
    assert_error(
        expire(&paid.id, "").await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    assert_eq!(status_of(&app.get_order(&paid.id).await), OrderStatus::Paid);
}

#[tokio::test]
async fn mark_failed_needs_the_stock_back_first() {
    let app = spawn_app().await;
    let mug = app.product("mug", 100, 10).await;
    let order = app.order(vec![line(&mug.id, 4)]).await;
    let saga = new_id();
    app.begin(&order.id, &saga).await.unwrap();
    app.reserve(&order.id, &saga).await.unwrap();
    let request = pb::MarkFailedRequest {
        order_id: order.id.clone(),
        saga_id: saga.clone(),
        reason: "delivery info lost".into(),
    };
    assert_error(
        app.client().mark_failed(request.clone()).await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    assert!(
        app.release(&order.id, &saga)
            .await
            .unwrap()
            .into_inner()
            .released
    );
    let failed = app
        .client()
        .mark_failed(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (status_of(&failed), failed.last_error.as_str()),
        (OrderStatus::Failed, "delivery info lost")
    );
    assert_eq!(
        app.client()
            .mark_failed(request)
            .await
            .unwrap()
            .into_inner(),
        failed
    );
    assert_eq!(app.events_of(&order.id, "ORDER_FAILED").await, 1);
    assert_eq!(app.stock(&mug.id).await, 10);
    assert_error(
        app.begin(&order.id, &new_id()).await,
        Code::FailedPrecondition,
        "ORDER_NOT_PAYABLE",
    );
    app.assert_stock_conserved().await;
}

#[tokio::test]
async fn cancel_rules() {
    let app = spawn_app().await;
    let mug = app.product("mug", 100, 10).await;

    let pending = app.order(vec![line(&mug.id, 1)]).await;
    let cancelled = app
        .cancel(&pending.id, "changed my mind")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (status_of(&cancelled), cancelled.cancel_reason.as_str()),
        (OrderStatus::Cancelled, "changed my mind")
    );
    assert_eq!(
        app.cancel(&pending.id, "again").await.unwrap().into_inner(),
        cancelled
    );
    assert_eq!(app.events_of(&pending.id, "ORDER_CANCELLED").await, 1);
    assert_error(
        app.begin(&pending.id, &new_id()).await,
        Code::FailedPrecondition,
        "ORDER_NOT_PAYABLE",
    );

    let paid = app.order(vec![line(&mug.id, 2)]).await;
    let saga = app.pay(&paid).await;
    assert_error(
        app.cancel(&paid.id, "refund me").await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    assert!(
        app.release(&paid.id, &saga)
            .await
            .unwrap()
            .into_inner()
            .released
    );
    let cancelled = app
        .cancel(&paid.id, "refund me")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status_of(&cancelled), OrderStatus::Cancelled);
    assert_eq!(app.stock(&mug.id).await, 10);

    let received = app.order(vec![line(&mug.id, 1)]).await;
    app.pay(&received).await;
    app.client()
        .mark_received(pb::MarkReceivedRequest {
            order_id: received.id.clone(),
        })
        .await
        .unwrap();
    assert_error(
        app.cancel(&received.id, "too late").await,
        Code::FailedPrecondition,
        "ORDER_NOT_CANCELLABLE",
    );
    assert_eq!(
        status_of(&app.get_order(&received.id).await),
        OrderStatus::Received
    );
    app.assert_stock_conserved().await;
}

#[tokio::test]
async fn mark_received_needs_a_paid_order() {
    let app = spawn_app().await;
    let mug = app.product("mug", 100, 10).await;
    let order = app.order(vec![line(&mug.id, 1)]).await;
    assert_error(
        app.client()
            .mark_received(pb::MarkReceivedRequest {
                order_id: order.id.clone(),
            })
            .await,
        Code::FailedPrecondition,
        "INVALID_STATE",
    );
    assert_eq!(app.get_order(&order.id).await, order);
}
