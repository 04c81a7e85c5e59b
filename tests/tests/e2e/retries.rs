//! A request retried while its first attempt still runs (a client that timed out and
//! tried again, or a double click): the same idempotency key sent concurrently. One
//! attempt runs; the others wait for it or are told IDEMPOTENCY_KEY_IN_USE; in the end
//! there is exactly one order, charged at most once.

use std::collections::HashSet;

use shop_e2e::Stack;
use shop_proto::{common::OrderStatus, gateway::Order};
use tonic::{Code, Status};

use crate::support::status_of;

const ATTEMPTS: usize = 8;

/// The order ids of the successful attempts; every failure must be IN_USE.
#[track_caller]
fn one_order(results: &[Result<Order, Status>]) -> String {
    let mut ids = HashSet::new();
    for result in results {
        match result {
            Ok(order) => {
                ids.insert(order.id.clone());
            }
            Err(status) => {
                assert_eq!(status.code(), Code::Aborted, "{status:?}");
                assert_eq!(
                    shop_common::status::reason(status).as_deref(),
                    Some("IDEMPOTENCY_KEY_IN_USE"),
                    "{status:?}"
                );
            }
        }
    }
    assert_eq!(ids.len(), 1, "every answer is the same order: {results:?}");
    ids.into_iter().next().unwrap()
}

#[tokio::test]
async fn place_order_retried_concurrently_with_its_key_creates_one_order() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Scarf", 700, 5).await;
    let items = [(product.id.as_str(), 2)];

    let attempts = (0..ATTEMPTS).map(|_| user.place_with_key(&items, "double-click"));
    let results = futures::future::join_all(attempts).await;
    let id = one_order(&results);

    // Once the first attempt is done, a late retry answers with it too.
    let late = user.place_with_key(&items, "double-click").await.unwrap();
    assert_eq!(late.id, id);
    assert_eq!(status_of(&late), OrderStatus::PendingPayment);
    let orders = user.orders().await;
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(user.stock_of(&product.id).await, 5);
    stack.audit().await;
}

#[tokio::test]
async fn checkout_retried_concurrently_with_its_key_charges_once() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Gloves", 1_500, 5).await;
    admin.top_up(user.id, 10_000).await;
    let items = [(product.id.as_str(), 1)];

    let attempts = (0..ATTEMPTS).map(|_| user.checkout_with_key(&items, "checkout-retry"));
    let results = futures::future::join_all(attempts).await;
    let id = one_order(&results);
    for order in results.iter().flatten() {
        assert_eq!(status_of(order), OrderStatus::Paid, "{order:?}");
    }

    let late = user
        .checkout_with_key(&items, "checkout-retry")
        .await
        .unwrap();
    assert_eq!(late.id, id);
    assert_eq!(status_of(&late), OrderStatus::Paid);
    assert_eq!(user.orders().await.len(), 1);
    assert_eq!(user.wallet().await.balance, 8_500, "charged exactly once");
    assert_eq!(user.stock_of(&product.id).await, 4);
    stack.audit().await;
}

#[tokio::test]
async fn pay_order_retried_concurrently_with_its_key_charges_once() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Hat", 900, 5).await;
    admin.top_up(user.id, 10_000).await;
    let order = user.place(&[(&product.id, 1)]).await.unwrap();

    let pay = || {
        let mut request = tonic::Request::new(shop_proto::gateway::PayOrderRequest {
            order_id: order.id.clone(),
            coupon_id: String::new(),
        });
        request
            .metadata_mut()
            .insert("idempotency-key", "pay-retry".parse().unwrap());
        let mut shop = user.shop.clone();
        async move {
            shop.pay_order(request)
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let results = futures::future::join_all((0..ATTEMPTS).map(|_| pay())).await;
    assert_eq!(one_order(&results), order.id);
    let late = pay().await.unwrap();
    assert_eq!(status_of(&late), OrderStatus::Paid);
    assert_eq!(user.wallet().await.balance, 9_100, "charged exactly once");
    assert_eq!(user.stock_of(&product.id).await, 4);
    stack.audit().await;
}
