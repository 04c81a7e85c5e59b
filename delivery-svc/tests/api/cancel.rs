//! CancelDelivery: cancels a PREPARING delivery, repeats are no-ops, and a cancel that
//! arrives before the confirm fences that saga's late confirm.

use std::time::Duration;

use shop_proto::{
    common::DeliveryStatus,
    delivery::{CancelDeliveryRequest, GetHoldRequest, MarkShippedRequest},
};
use tonic::Code;

use crate::helpers::{self, assert_error, confirm_request, count, hold_request, id, paid_delivery};

fn cancel(order_id: &str, saga_id: &str) -> CancelDeliveryRequest {
    CancelDeliveryRequest {
        order_id: order_id.into(),
        saga_id: saga_id.into(),
        reason: "changed my mind".into(),
    }
}

#[tokio::test]
async fn a_cancel_before_confirm_leaves_a_tombstone_that_blocks_the_late_confirm() {
    let mut app = helpers::spawn().await;
    let (order_id, user_id, saga_id) = (id(), id(), id());
    let hold = || hold_request(&order_id, &user_id, Duration::from_secs(60));
    app.client.hold_delivery(hold()).await.unwrap();

    let response = app
        .client
        .cancel_delivery(cancel(&order_id, &saga_id))
        .await
        .unwrap()
        .into_inner();
    assert!(!response.cancelled);
    assert!(response.delivery.is_none());
    let err = app
        .client
        .get_hold(GetHoldRequest {
            order_id: order_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::NotFound,
        "the empty cancel must delete the hold"
    );
    // A repeated empty compensation is a no-op too.
    let again = app
        .client
        .cancel_delivery(cancel(&order_id, &saga_id))
        .await
        .unwrap();
    assert!(!again.into_inner().cancelled);

    // The hanging confirm of the same saga is refused even with a hold present.
    app.client.hold_delivery(hold()).await.unwrap();
    let err = app
        .client
        .confirm_delivery(confirm_request(&order_id, &saga_id))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        count(
            &app.pool,
            "SELECT count(*) FROM deliveries WHERE order_id = $1",
            &order_id
        )
        .await,
        0
    );

    // The fence is per saga: a later saga paying the same order may confirm.
    let delivery = app
        .client
        .confirm_delivery(confirm_request(&order_id, &id()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(delivery.status(), DeliveryStatus::Preparing);
}

#[tokio::test]
async fn a_preparing_delivery_is_cancelled_once() {
    let mut app = helpers::spawn().await;
    let delivery = paid_delivery(&mut app.client, &id()).await;
    let saga_id = id();

    let first = app
        .client
        .cancel_delivery(cancel(&delivery.order_id, &saga_id))
        .await
        .unwrap()
        .into_inner();
    assert!(first.cancelled);
    let cancelled = first.delivery.unwrap();
    assert_eq!(cancelled.status(), DeliveryStatus::Cancelled);
    assert!(cancelled.cancelled_at.is_some());

    let repeat = app
        .client
        .cancel_delivery(cancel(&delivery.order_id, &saga_id))
        .await
        .unwrap()
        .into_inner();
    assert!(!repeat.cancelled);
    assert_eq!(repeat.delivery.unwrap().status(), DeliveryStatus::Cancelled);
    assert_eq!(
        count(
            &app.pool,
            "SELECT count(*) FROM delivery_events WHERE order_id = $1 AND kind = 'DELIVERY_CANCELLED'",
            &delivery.order_id
        )
        .await,
        1
    );

    // A confirm arriving after the cancel does not resurrect the delivery.
    let err = app
        .client
        .confirm_delivery(confirm_request(&delivery.order_id, &id()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn a_shipped_delivery_cannot_be_cancelled() {
    let mut app = helpers::spawn().await;
    let delivery = paid_delivery(&mut app.client, &id()).await;
    app.client
        .mark_shipped(MarkShippedRequest {
            order_id: delivery.order_id.clone(),
        })
        .await
        .unwrap();
    let err = app
        .client
        .cancel_delivery(cancel(&delivery.order_id, &id()))
        .await
        .unwrap_err();
    assert_error(&err, Code::FailedPrecondition, "ORDER_NOT_CANCELLABLE");
}
