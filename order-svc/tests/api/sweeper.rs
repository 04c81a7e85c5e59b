//! The expiry sweeper.

use std::time::Duration;

use chrono::Utc;
use shop_common::time::to_timestamp;
use shop_proto::common::OrderStatus;

use crate::helpers::{line, new_id, order_request, spawn_app, status_of};

#[tokio::test]
async fn the_sweeper_expires_unpaid_orders_past_their_expiry_only() {
    let app = spawn_app().await;
    let mug = app.product("mug", 10, 10).await;
    let soon = || {
        let mut request = order_request(&new_id(), vec![line(&mug.id, 1)]);
        request.expires_at = Some(to_timestamp(
            Utc::now() + chrono::Duration::milliseconds(600),
        ));
        request
    };
    let unpaid = app
        .client()
        .create_order(soon())
        .await
        .unwrap()
        .into_inner();
    let being_paid = app
        .client()
        .create_order(soon())
        .await
        .unwrap()
        .into_inner();
    app.begin(&being_paid.id, &new_id()).await.unwrap();
    let later = app.order(vec![line(&mug.id, 1)]).await;

    let mut expired = None;
    for _ in 0..100 {
        let order = app.get_order(&unpaid.id).await;
        if status_of(&order) == OrderStatus::Expired {
            expired = Some(order);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        expired.is_some(),
        "the sweeper expired the overdue order within 10 s"
    );
    assert_eq!(app.events_of(&unpaid.id, "ORDER_EXPIRED").await, 1);
    assert_eq!(
        status_of(&app.get_order(&being_paid.id).await),
        OrderStatus::PaymentInProgress
    );
    assert_eq!(
        status_of(&app.get_order(&later.id).await),
        OrderStatus::PendingPayment
    );
}
