//! The delivery state machine through the API: ship, deliver, receive, and what is
//! refused.

use shop_proto::{
    common::DeliveryStatus,
    delivery::{
        ConfirmReceiptRequest, GetDeliveryRequest, MarkDeliveredRequest, MarkShippedRequest,
    },
};
use tonic::Code;

use crate::helpers::{self, assert_error, id, paid_delivery};

#[tokio::test]
async fn a_delivery_goes_preparing_shipped_delivered_received_and_repeats_change_nothing() {
    let mut app = helpers::spawn().await;
    let user_id = id();
    let delivery = paid_delivery(&mut app.client, &user_id).await;
    let order_id = delivery.order_id.clone();
    let ship = || MarkShippedRequest {
        order_id: order_id.clone(),
    };
    let deliver = || MarkDeliveredRequest {
        order_id: order_id.clone(),
    };
    let receive = |user_id: &str| ConfirmReceiptRequest {
        order_id: order_id.clone(),
        user_id: user_id.into(),
    };

    let err = app.client.mark_delivered(deliver()).await.unwrap_err();
    assert_error(&err, Code::FailedPrecondition, "INVALID_STATE");

    let shipped = app.client.mark_shipped(ship()).await.unwrap().into_inner();
    assert_eq!(shipped.status(), DeliveryStatus::Shipped);
    let again = app.client.mark_shipped(ship()).await.unwrap().into_inner();
    assert_eq!(
        again.shipped_at, shipped.shipped_at,
        "a repeat must not move shipped_at"
    );

    let delivered = app
        .client
        .mark_delivered(deliver())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(delivered.status(), DeliveryStatus::Delivered);
    app.client.mark_delivered(deliver()).await.unwrap();

    let err = app
        .client
        .confirm_receipt(receive(&id()))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::NotFound,
        "another user's delivery is not found"
    );

    let received = app
        .client
        .confirm_receipt(receive(&user_id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(received.status(), DeliveryStatus::Received);
    assert!(!received.auto_received);
    let again = app
        .client
        .confirm_receipt(receive(&user_id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.received_at, received.received_at);

    let err = app.client.mark_shipped(ship()).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    let kinds: Vec<String> = sqlx::query_scalar(
        r#"SELECT kind FROM delivery_events WHERE order_id = $1 ORDER BY "offset""#,
    )
    .bind(uuid::Uuid::parse_str(&order_id).unwrap())
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        kinds,
        [
            "DELIVERY_CREATED",
            "DELIVERY_SHIPPED",
            "DELIVERY_DELIVERED",
            "DELIVERY_RECEIVED"
        ]
    );
}

#[tokio::test]
async fn the_owner_may_confirm_receipt_before_delivery() {
    let mut app = helpers::spawn().await;
    let user_id = id();
    let delivery = paid_delivery(&mut app.client, &user_id).await;
    let received = app
        .client
        .confirm_receipt(ConfirmReceiptRequest {
            order_id: delivery.order_id.clone(),
            user_id,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(received.status(), DeliveryStatus::Received);
}

#[tokio::test]
async fn a_missing_delivery_is_not_found() {
    let mut app = helpers::spawn().await;
    let err = app
        .client
        .get_delivery(GetDeliveryRequest { order_id: id() })
        .await
        .unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    let err = app
        .client
        .mark_shipped(MarkShippedRequest { order_id: id() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = app
        .client
        .get_delivery(GetDeliveryRequest {
            order_id: "x".into(),
        })
        .await
        .unwrap_err();
    assert_error(&err, Code::InvalidArgument, "VALIDATION_FAILED");
}
