//! Defect 6, in the cancel saga: a CancelDelivery that committed but timed out,
//! followed by an INTERNAL retry, ended the saga "compensated, nothing changed".
//!
//! Interleaving forced here:
//! 1. delivery-svc's answers are delayed past the gateway's per-call limit, so
//!    CancelDelivery attempt A cancels the delivery (committed) but times out.
//! 2. The `deliveries` table is renamed away, so the retry B answers INTERNAL.
//!
//! Before the fix B's INTERNAL was taken for "already shipped": the saga ended with the
//! order PAID, the delivery CANCELLED and no refund. Now any ambiguous attempt makes
//! the outcome unknown, the saga waits, and once delivery-svc answers again it
//! refunds, restocks and cancels the order.

use std::time::Duration;

use shop_e2e::{Options, Stack};
use shop_proto::common::OrderStatus;
use shop_testkit::Fault;
use uuid::Uuid;

use super::{expire_leases, order_becomes, pool, rename, shop};
use crate::support::{eventually, status_of};

#[tokio::test]
async fn a_cancellation_that_committed_unheard_is_finished() {
    let stack = Stack::with(Options {
        faults: true,
        ..Options::default()
    })
    .await
    .unwrap();
    let (buyer, product) = shop(&stack, 5).await;
    let order = buyer.checkout(&[(&product, 1)], "").await.unwrap();
    assert_eq!(status_of(&order), OrderStatus::Paid);
    let (delivery_db, order_db, gateway_db) = (
        pool(&stack.databases.delivery).await,
        pool(&stack.databases.order).await,
        pool(&stack.databases.gateway).await,
    );
    let proxy = &stack.faults().delivery;
    proxy.set(Fault::Delay {
        up: Duration::ZERO,
        down: Duration::from_secs(4),
    });
    let cancelling = tokio::spawn({
        let (buyer, id) = (buyer.clone(), order.id.clone());
        async move { buyer.cancel(&id, "changed my mind").await }
    });
    let order_uuid = Uuid::parse_str(&order.id).unwrap();
    let cancelled = eventually(Duration::from_secs(10), || async {
        let status: String =
            sqlx::query_scalar("SELECT status FROM deliveries WHERE order_id = $1")
                .bind(order_uuid)
                .fetch_one(&delivery_db)
                .await
                .unwrap();
        status == "CANCELLED"
    })
    .await;
    assert!(cancelled, "attempt A cancelled the delivery");
    rename(&delivery_db, "deliveries", "deliveries_hidden").await;
    proxy.set(Fault::Pass);

    let answer = tokio::time::timeout(Duration::from_secs(20), cancelling)
        .await
        .expect("the buyer gets an answer")
        .unwrap();
    rename(&delivery_db, "deliveries_hidden", "deliveries").await;
    expire_leases(&gateway_db, &order.id).await;
    assert!(
        order_becomes(&order_db, &order.id, "CANCELLED", Duration::from_secs(30)).await,
        "the cancellation is finished (answer was {answer:?})"
    );
    let refunded = buyer.wallet().await.balance;
    assert_eq!(refunded, 10_000, "the points came back");
    stack.audit().await;
}
