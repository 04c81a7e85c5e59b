//! Defect 6, after the charge: an INTERNAL answer from ConfirmDelivery was taken as
//! final.
//!
//! Forced here: delivery-svc's outbox table is renamed away, so ConfirmDelivery fails
//! with INTERNAL (its transaction rolls back; nothing is known about the hold being
//! lost). Before the fix the saga refunded, restocked and FAILED the order, although
//! the hold was there all along. Now an answer that is not a known refusal is
//! unknown, and past the pivot unknown means "later": once the table is back the
//! delivery is created and the order is PAID.

use std::time::Duration;

use shop_e2e::Stack;
use shop_proto::common::OrderStatus;

use super::{expire_leases, order_becomes, pool, rename, shop};
use crate::support::status_of;

#[tokio::test]
async fn an_internal_error_after_the_charge_does_not_fail_the_order() {
    let stack = Stack::start().await.unwrap();
    let (buyer, product) = shop(&stack, 5).await;
    let order = buyer.place(&[(&product, 1)]).await.unwrap();
    let (delivery_db, order_db, gateway_db) = (
        pool(&stack.databases.delivery).await,
        pool(&stack.databases.order).await,
        pool(&stack.databases.gateway).await,
    );
    rename(&delivery_db, "delivery_events", "delivery_events_hidden").await;

    let answer = buyer.pay_within(&order.id, Duration::from_secs(5)).await;
    rename(&delivery_db, "delivery_events_hidden", "delivery_events").await;
    let answer = answer.expect("past the pivot the buyer is told the payment goes through");
    assert_eq!(status_of(&answer), OrderStatus::PaymentInProgress);

    expire_leases(&gateway_db, &order.id).await;
    assert!(
        order_becomes(&order_db, &order.id, "PAID", Duration::from_secs(30)).await,
        "the delivery is created once delivery-svc works again"
    );
    stack.audit().await;
}
