//! The checkout flows a shopper goes through, over gRPC.

use std::time::Duration;

use shop_e2e::{Options, Stack};
use shop_proto::{
    common::{DeliveryStatus, OrderStatus, PaymentStatus},
    gateway::{
        AdjustStockRequest, CancelOrderRequest, ConfirmReceiptRequest, IssueCouponRequest,
        MarkShippedRequest, issue_coupon_request::Discount,
    },
};
use tonic::Code;

use crate::support::{assert_error, eventually, status_of};

#[tokio::test]
async fn place_then_pay() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Mug", 1_000, 5).await;
    admin.top_up(user.id, 10_000).await;

    let order = user.place(&[(&product.id, 2)]).await.unwrap();
    assert_eq!(status_of(&order), OrderStatus::PendingPayment);
    assert_eq!(order.total_amount, 2_000);
    assert_eq!(order.lines[0].unit_price, 1_000);
    assert_eq!(order.lines[0].name, "Mug");
    assert!(
        order.held_delivery.is_some(),
        "the held delivery info is shown to its owner"
    );
    assert_eq!(
        user.stock_of(&product.id).await,
        5,
        "placing an order does not touch stock"
    );

    let paid = user.pay(&order.id, "").await.unwrap();
    assert_eq!(status_of(&paid), OrderStatus::Paid);
    let payment = paid.payment.expect("payment shown");
    assert_eq!(payment.status(), PaymentStatus::Charged);
    assert_eq!(payment.paid_amount, 2_000);
    let delivery = paid.delivery.expect("delivery shown");
    assert_eq!(delivery.status(), DeliveryStatus::Preparing);
    assert_eq!(delivery.info.unwrap().contact, "010-1234-5678");
    assert!(paid.held_delivery.is_none());
    assert_eq!(user.wallet().await.balance, 8_000);
    assert_eq!(user.stock_of(&product.id).await, 3);

    // Paying again is refused and changes nothing.
    assert_error(
        user.pay(&order.id, "").await,
        Code::FailedPrecondition,
        "ORDER_NOT_PAYABLE",
    );
    assert_eq!(user.wallet().await.balance, 8_000);
    stack.audit().await;
}

#[tokio::test]
async fn declined_for_points_then_top_up_and_pay_again() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Lamp", 3_000, 2).await;
    admin.top_up(user.id, 1_000).await;

    let order = user.place(&[(&product.id, 1)]).await.unwrap();
    let err = assert_error(
        user.pay(&order.id, "").await,
        Code::FailedPrecondition,
        "INSUFFICIENT_POINTS",
    );
    assert!(!err.message().is_empty());
    let after = user.order(&order.id).await.unwrap();
    assert_eq!(
        status_of(&after),
        OrderStatus::PendingPayment,
        "a declined payment can be retried"
    );
    assert!(
        !after.last_error.is_empty(),
        "the order says why the payment failed"
    );
    assert_eq!(
        user.stock_of(&product.id).await,
        2,
        "stock released after the decline"
    );
    assert_eq!(user.wallet().await.balance, 1_000);

    admin.top_up(user.id, 5_000).await;
    let paid = user.pay(&order.id, "").await.unwrap();
    assert_eq!(status_of(&paid), OrderStatus::Paid);
    assert_eq!(user.wallet().await.balance, 3_000);
    assert_eq!(user.stock_of(&product.id).await, 1);
    stack.audit().await;
}

#[tokio::test]
async fn out_of_stock_then_restock() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Rare vinyl", 500, 1).await;
    admin.top_up(user.id, 10_000).await;

    let order = user.place(&[(&product.id, 2)]).await.unwrap();
    let err = assert_error(
        user.pay(&order.id, "").await,
        Code::FailedPrecondition,
        "OUT_OF_STOCK",
    );
    assert!(
        err.message().contains(&product.id) || err.message().contains("Rare vinyl"),
        "{}",
        err.message()
    );
    assert_eq!(user.wallet().await.balance, 10_000, "nothing charged");
    assert_eq!(user.stock_of(&product.id).await, 1);

    let mut admin_client = admin.admin.clone();
    admin_client
        .adjust_stock(AdjustStockRequest {
            product_id: product.id.clone(),
            delta: 5,
        })
        .await
        .unwrap();
    let paid = user.pay(&order.id, "").await.unwrap();
    assert_eq!(status_of(&paid), OrderStatus::Paid);
    assert_eq!(user.stock_of(&product.id).await, 4);
    stack.audit().await;
}

#[tokio::test]
async fn checkout_with_a_percent_coupon() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Headphones", 20_000, 3).await;
    admin.top_up(user.id, 20_000).await;
    let expires = shop_common::time::to_timestamp(chrono::Utc::now() + chrono::Duration::days(1));
    let coupon = admin
        .admin
        .clone()
        .issue_coupon(IssueCouponRequest {
            user_id: user.id.to_string(),
            discount: Some(Discount::DiscountPercent(10)),
            min_order_amount: 10_000,
            expires_at: Some(expires),
        })
        .await
        .unwrap()
        .into_inner();

    let order = user
        .checkout(&[(&product.id, 1)], &coupon.id)
        .await
        .unwrap();
    assert_eq!(status_of(&order), OrderStatus::Paid);
    assert_eq!(order.discount_amount, 2_000);
    assert_eq!(order.paid_amount, 18_000);
    assert_eq!(user.wallet().await.balance, 2_000);
    let wallet = user.wallet().await;
    assert_eq!(
        wallet.coupons[0].used_order_id, order.id,
        "the coupon is used by this order"
    );

    // The same coupon cannot pay a second order.
    let second = user.place(&[(&product.id, 1)]).await.unwrap();
    assert_error(
        user.pay(&second.id, &coupon.id).await,
        Code::FailedPrecondition,
        "COUPON_INVALID",
    );
    stack.audit().await;
}

#[tokio::test]
async fn cancel_unpaid_and_paid_orders() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Chair", 4_000, 10).await;
    admin.top_up(user.id, 10_000).await;

    let unpaid = user.place(&[(&product.id, 1)]).await.unwrap();
    let cancelled = user
        .shop
        .clone()
        .cancel_order(CancelOrderRequest {
            order_id: unpaid.id.clone(),
            reason: "changed my mind".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status_of(&cancelled), OrderStatus::Cancelled);
    assert!(cancelled.held_delivery.is_none());
    assert_error(
        user.pay(&unpaid.id, "").await,
        Code::FailedPrecondition,
        "ORDER_NOT_PAYABLE",
    );

    let paid = user.checkout(&[(&product.id, 2)], "").await.unwrap();
    assert_eq!(user.wallet().await.balance, 2_000);
    assert_eq!(user.stock_of(&product.id).await, 8);
    let cancelled = user
        .shop
        .clone()
        .cancel_order(CancelOrderRequest {
            order_id: paid.id.clone(),
            reason: "too slow".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status_of(&cancelled), OrderStatus::Cancelled);
    assert_eq!(cancelled.payment.unwrap().status(), PaymentStatus::Refunded);
    assert_eq!(
        cancelled.delivery.unwrap().status(),
        DeliveryStatus::Cancelled
    );
    assert_eq!(user.wallet().await.balance, 10_000, "refunded");
    assert_eq!(user.stock_of(&product.id).await, 10, "restocked");

    // Cancelling again is a no-op; a shipped order cannot be cancelled.
    let again = user
        .shop
        .clone()
        .cancel_order(CancelOrderRequest {
            order_id: paid.id.clone(),
            reason: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status_of(&again), OrderStatus::Cancelled);
    let shipped = user.checkout(&[(&product.id, 1)], "").await.unwrap();
    admin
        .admin
        .clone()
        .mark_shipped(MarkShippedRequest {
            order_id: shipped.id.clone(),
        })
        .await
        .unwrap();
    let refused = user
        .shop
        .clone()
        .cancel_order(CancelOrderRequest {
            order_id: shipped.id.clone(),
            reason: String::new(),
        })
        .await;
    assert_error(refused, Code::FailedPrecondition, "ORDER_NOT_CANCELLABLE");
    assert_eq!(user.wallet().await.balance, 6_000);
    stack.audit().await;
}

#[tokio::test]
async fn unpaid_order_expires_and_cannot_be_paid() {
    let options = Options {
        payment_window: Duration::from_secs(1),
        ..Options::default()
    };
    let stack = Stack::with(options).await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Ticket", 100, 5).await;
    admin.top_up(user.id, 1_000).await;
    let order = user.place(&[(&product.id, 1)]).await.unwrap();

    let expired = eventually(Duration::from_secs(10), || async {
        status_of(&user.order(&order.id).await.unwrap()) == OrderStatus::Expired
    })
    .await;
    assert!(expired, "the sweeper expires unpaid orders");
    assert_error(
        user.pay(&order.id, "").await,
        Code::FailedPrecondition,
        "ORDER_EXPIRED",
    );
    assert_eq!(user.wallet().await.balance, 1_000, "nothing charged");
    assert_eq!(user.stock_of(&product.id).await, 5, "nothing reserved");
    stack.audit().await;
}

#[tokio::test]
async fn receipt_confirmed_by_the_user_and_automatically() {
    let options = Options {
        auto_receive_after: Duration::from_secs(2),
        ..Options::default()
    };
    let stack = Stack::with(options).await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Book", 100, 5).await;
    admin.top_up(user.id, 1_000).await;

    let by_hand = user.checkout(&[(&product.id, 1)], "").await.unwrap();
    let received = user
        .shop
        .clone()
        .confirm_receipt(ConfirmReceiptRequest {
            order_id: by_hand.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status_of(&received), OrderStatus::Received);
    assert!(!received.delivery.unwrap().auto_received);

    let automatic = user.checkout(&[(&product.id, 1)], "").await.unwrap();
    let done = eventually(Duration::from_secs(15), || async {
        status_of(&user.order(&automatic.id).await.unwrap()) == OrderStatus::Received
    })
    .await;
    assert!(done, "automatic receipt reaches the order");
    let order = user.order(&automatic.id).await.unwrap();
    assert!(order.delivery.unwrap().auto_received);
    stack.audit().await;
}

#[tokio::test]
async fn place_order_is_idempotent_by_key() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Pen", 10, 5).await;

    let first = user
        .place_with_key(&[(&product.id, 1)], "key-1")
        .await
        .unwrap();
    let again = user
        .place_with_key(&[(&product.id, 1)], "key-1")
        .await
        .unwrap();
    assert_eq!(first.id, again.id, "a retry returns the same order");
    assert_error(
        user.place_with_key(&[(&product.id, 2)], "key-1").await,
        Code::FailedPrecondition,
        "IDEMPOTENCY_KEY_REUSED",
    );

    // Keys are per user: another user's same key is a different order.
    let other = stack.user().await;
    let theirs = other
        .place_with_key(&[(&product.id, 1)], "key-1")
        .await
        .unwrap();
    assert_ne!(theirs.id, first.id);
    let mine = user
        .shop
        .clone()
        .list_orders(shop_proto::gateway::ListOrdersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.orders.len(), 1);
    stack.audit().await;
}

#[tokio::test]
async fn ten_concurrent_payments_of_one_order_charge_once() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Console", 1_000, 10).await;
    admin.top_up(user.id, 100_000).await;
    let order = user.place(&[(&product.id, 1)]).await.unwrap();

    let attempts = (0..10).map(|_| user.pay(&order.id, ""));
    let results = futures::future::join_all(attempts).await;
    let paid = results.iter().filter(|r| r.is_ok()).count();
    assert!(paid >= 1, "{results:?}");
    for refused in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(refused.code(), Code::Aborted | Code::FailedPrecondition),
            "{refused:?}"
        );
    }
    assert_eq!(
        status_of(&user.order(&order.id).await.unwrap()),
        OrderStatus::Paid
    );
    assert_eq!(user.wallet().await.balance, 99_000, "charged exactly once");
    assert_eq!(user.stock_of(&product.id).await, 9);
    stack.audit().await;
}

#[tokio::test]
async fn hot_product_sells_exactly_its_stock() {
    const BUYERS: usize = 40;
    const STOCK: i32 = 10;
    let stack = Stack::start().await.unwrap();
    let admin = stack.admin().await;
    let product = admin.create_product("Limited sneakers", 100, STOCK).await;
    let mut buyers = Vec::new();
    for _ in 0..BUYERS {
        let buyer = stack.user().await;
        admin.top_up(buyer.id, 1_000).await;
        buyers.push(buyer);
    }
    let items = [(product.id.as_str(), 1)];
    let results = futures::future::join_all(buyers.iter().map(|b| b.checkout(&items, ""))).await;
    let sold = results
        .iter()
        .filter(|r| r.as_ref().is_ok_and(|o| status_of(o) == OrderStatus::Paid))
        .count();
    let out_of_stock = results
        .iter()
        .filter(|r| {
            r.as_ref()
                .err()
                .is_some_and(|s| shop_common::status::reason(s).as_deref() == Some("OUT_OF_STOCK"))
        })
        .count();
    assert_eq!(sold, STOCK as usize, "exactly the stock is sold");
    assert_eq!(
        out_of_stock,
        BUYERS - STOCK as usize,
        "everyone else is told OUT_OF_STOCK: {results:?}"
    );
    assert_eq!(admin.stock_of(&product.id).await, 0);
    stack.audit().await;
}

#[tokio::test]
async fn a_declined_checkout_retried_with_its_key_answers_with_the_same_order() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Sofa", 9_000, 2).await;
    admin.top_up(user.id, 1_000).await;
    let checkout = || {
        let mut request = tonic::Request::new(shop_proto::gateway::CheckoutRequest {
            items: shop_e2e::client::lines(&[(&product.id, 1)]),
            delivery: Some(shop_e2e::client::address()),
            coupon_id: String::new(),
        });
        request
            .metadata_mut()
            .insert("idempotency-key", "checkout-1".parse().unwrap());
        let mut shop = user.shop.clone();
        async move {
            shop.checkout(request)
                .await
                .map(tonic::Response::into_inner)
        }
    };

    assert_error(
        checkout().await,
        Code::FailedPrecondition,
        "INSUFFICIENT_POINTS",
    );
    let retried = checkout().await.unwrap();
    assert_eq!(status_of(&retried), OrderStatus::PendingPayment);
    assert!(!retried.last_error.is_empty());
    let orders = user
        .shop
        .clone()
        .list_orders(shop_proto::gateway::ListOrdersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .orders;
    assert_eq!(orders.len(), 1, "the retry did not create a second order");
    assert_eq!(orders[0].id, retried.id);
    assert_eq!(user.wallet().await.balance, 1_000);
    stack.audit().await;
}
