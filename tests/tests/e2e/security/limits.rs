//! One token looping writes: a cap on open unpaid orders, a per-user rate limit, and
//! PlaceOrder queued (or turned away) at the edge like checkouts. Every refusal
//! leaves nothing behind.

use std::time::Duration;

use shop_e2e::{Options, Stack};
use shop_testkit::{Fault, RedisServer};
use tonic::Code;

use super::holds;
use crate::support::{assert_error, status_of};

#[tokio::test]
async fn a_user_cannot_pile_up_unpaid_orders() {
    let redis = RedisServer::start().unwrap();
    let stack = Stack::with(Options {
        redis_url: Some(redis.url()),
        order_config: |config| config.max_open_orders = 2,
        ..Options::default()
    })
    .await
    .unwrap();
    let (admin, greedy, other) = (stack.admin().await, stack.user().await, stack.user().await);
    let product = admin.create_product("Ticket", 10, 100).await.id;
    let first = greedy.place(&[(&product, 1)]).await.unwrap();
    greedy.place(&[(&product, 1)]).await.unwrap();
    let refused = assert_error(
        greedy.place(&[(&product, 1)]).await,
        Code::FailedPrecondition,
        "TOO_MANY_OPEN_ORDERS",
    );
    assert!(refused.message().contains("pay or cancel"), "{refused:?}");
    assert_eq!(greedy.orders().await.len(), 2);
    assert_eq!(
        holds(&redis.url()).await.len(),
        2,
        "the refused order's hold is gone"
    );
    other
        .place(&[(&product, 1)])
        .await
        .expect("other users are not affected");

    greedy.cancel(&first.id, "").await.unwrap();
    greedy.place(&[(&product, 1)]).await.expect("a place freed");
    stack.audit().await;
}

#[tokio::test]
async fn writes_beyond_the_rate_are_refused_and_change_nothing() {
    let stack = Stack::with(Options {
        gateway_config: |config| {
            config.user_write_rate = 1;
            config.user_write_burst = 3;
        },
        ..Options::default()
    })
    .await
    .unwrap();
    let (admin, flooder, calm) = (stack.admin().await, stack.user().await, stack.user().await);
    let product = admin.create_product("Pen", 10, 100).await.id;
    for _ in 0..3 {
        flooder.place(&[(&product, 1)]).await.unwrap();
    }
    assert_error(
        flooder.place(&[(&product, 1)]).await,
        Code::ResourceExhausted,
        "RATE_LIMITED",
    );
    let (status, body) = stack
        .rest(&flooder)
        .post(
            "/v1/orders",
            serde_json::json!({"items": [{"productId": product, "quantity": 1}],
                               "delivery": {"recipientName": "Kim", "address": "Seoul",
                                            "contact": "010-1234-5678"}}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["reason"].as_str()),
        (429, Some("RATE_LIMITED"))
    );
    assert_eq!(
        flooder.orders().await.len(),
        3,
        "the refused writes made nothing"
    );
    calm.place(&[(&product, 1)])
        .await
        .expect("another user has their own allowance");
    // Reads are not writes.
    assert_eq!(flooder.stock_of(&product).await, 100);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    flooder
        .place(&[(&product, 1)])
        .await
        .expect("the allowance refills");
    stack.audit().await;
}

#[tokio::test]
async fn place_order_waits_its_turn_at_the_edge() {
    let stack = Stack::with(Options {
        faults: true,
        checkout_concurrency: 1,
        ..Options::default()
    })
    .await
    .unwrap();
    let (admin, payer, placer) = (stack.admin().await, stack.user().await, stack.user().await);
    let product = admin.create_product("Mug", 10, 100).await.id;
    admin.top_up(payer.id, 1_000).await;
    let order = payer.place(&[(&product, 1)]).await.unwrap();
    // The only turn is held by a payment whose charge crawls.
    stack
        .faults()
        .payment
        .set(Fault::delay(Duration::from_millis(700)));
    let paying = tokio::spawn({
        let (payer, id) = (payer.clone(), order.id.clone());
        async move { payer.pay(&id, "").await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut request = tonic::Request::new(shop_proto::gateway::PlaceOrderRequest {
        items: shop_e2e::client::lines(&[(&product, 1)]),
        delivery: Some(shop_e2e::client::address()),
    });
    request.set_timeout(Duration::from_secs(1));
    assert_error(
        placer.shop.clone().place_order(request).await,
        Code::ResourceExhausted,
        "OVERLOADED",
    );
    assert!(placer.orders().await.is_empty(), "nothing was placed");
    stack.faults().payment.set(Fault::Pass);
    let paid = paying.await.unwrap().unwrap();
    assert_eq!(status_of(&paid), shop_proto::common::OrderStatus::Paid);
    placer
        .place(&[(&product, 1)])
        .await
        .expect("a free turn places");
    stack.audit().await;
}
