//! Bad input at the edge: control characters in free text, an order total no payment
//! could take, and stock raised so far that a later restock would overflow. Each is
//! refused up front (INVALID_ARGUMENT), before a hold, an order or a saga exists.

use serde_json::json;
use shop_e2e::{Options, Stack, client};
use shop_proto::{
    common::{DeliveryInfo, OrderStatus},
    gateway::{AdjustStockRequest, CheckoutRequest, CreateProductRequest},
};
use shop_testkit::RedisServer;
use tonic::Code;

use super::holds;
use crate::support::{assert_error, assert_invalid, status_of};

#[tokio::test]
async fn control_characters_are_refused_before_anything_is_held_or_charged() {
    let redis = RedisServer::start().unwrap();
    let stack = Stack::with(Options {
        redis_url: Some(redis.url()),
        ..Options::default()
    })
    .await
    .unwrap();
    let (admin, buyer) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Lamp", 100, 5).await.id;
    admin.top_up(buyer.id, 1_000).await;
    let pending = buyer.place(&[(&product, 1)]).await.unwrap();

    // As a new user would try it over REST: the NUL is in the JSON string.
    let (status, body) = stack
        .rest(&buyer)
        .post(
            "/v1/orders",
            json!({
                "items": [{"productId": product, "quantity": 1}],
                "delivery": {"recipientName": "Kim", "address": "Seoul\u{0} 1", "contact": "010-1234-5678"},
            }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["reason"], "VALIDATION_FAILED", "{body}");
    assert_eq!(
        body["error"]["fieldViolations"][0]["field"],
        "delivery.address"
    );

    // Checkout with a bad note: refused up front, not DELIVERY_HOLD_EXPIRED after a charge.
    let checkout = CheckoutRequest {
        items: client::lines(&[(&product, 1)]),
        delivery: Some(DeliveryInfo {
            requirement: "ring twice\u{7}".into(),
            ..client::address()
        }),
        coupon_id: String::new(),
    };
    assert_invalid(
        buyer.shop.clone().checkout(checkout).await,
        "delivery.requirement",
    );
    // A NUL in a cancel reason would break the saga log.
    assert_invalid(buyer.cancel(&pending.id, "bye\u{0}").await, "reason");
    let name = CreateProductRequest {
        name: "Lamp\u{1b}[2J".into(),
        price: 1,
        stock: 1,
    };
    assert_invalid(admin.admin.clone().create_product(name).await, "name");

    let orders = buyer.orders().await;
    assert_eq!(orders.len(), 1, "only the good order exists");
    assert_eq!(status_of(&orders[0]), OrderStatus::PendingPayment);
    assert_eq!(holds(&redis.url()).await.len(), 1, "only its hold");
    assert_eq!(buyer.wallet().await.balance, 1_000);
    assert_eq!(buyer.stock_of(&product).await, 5);
    stack.audit().await;
}

#[tokio::test]
async fn a_total_no_payment_can_take_is_refused_when_placed() {
    let redis = RedisServer::start().unwrap();
    let stack = Stack::with(Options {
        redis_url: Some(redis.url()),
        ..Options::default()
    })
    .await
    .unwrap();
    let (admin, buyer) = (stack.admin().await, stack.user().await);
    let max = shop_common::validate::MAX_CHARGE;
    let gold = admin.create_product("Gold", max / 1000 + 1, 5_000).await.id;
    for order in [
        buyer.place(&[(&gold, 1000)]).await,
        buyer.checkout(&[(&gold, 1000)], "").await,
    ] {
        let status = assert_invalid(order, "items");
        assert!(status.message().contains("largest amount"), "{status:?}");
    }
    assert!(buyer.orders().await.is_empty(), "no order was made");
    assert!(
        holds(&redis.url()).await.is_empty(),
        "its hold was released"
    );
    let gateway = crate::partial::pool(&stack.databases.gateway).await;
    let sagas: i64 = sqlx::query_scalar("SELECT count(*) FROM sagas")
        .fetch_one(&gateway)
        .await
        .unwrap();
    assert_eq!(sagas, 0, "no saga ran");
}

#[tokio::test]
async fn stock_raised_near_the_maximum_cannot_make_a_cancellation_stuck() {
    let stack = Stack::start().await.unwrap();
    let (admin, buyer) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Socks", 10, 10).await.id;
    admin.top_up(buyer.id, 1_000).await;
    let paid = buyer.checkout(&[(&product, 5)], "").await.unwrap();
    assert_eq!(status_of(&paid), OrderStatus::Paid);

    let adjust = |delta: i32| {
        let mut ops = admin.admin.clone();
        let product_id = product.clone();
        async move {
            ops.adjust_stock(AdjustStockRequest { product_id, delta })
                .await
                .map(tonic::Response::into_inner)
        }
    };
    // 5 on hand: this would make i32::MAX on hand, and the cancellation's restock of
    // the 5 reserved would overflow (INTERNAL, a STUCK saga) before the fix.
    assert_error(
        adjust(i32::MAX - 5).await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert_eq!(adjust(i32::MAX - 10).await.unwrap().stock, i32::MAX - 5);
    let cancelled = buyer.cancel(&paid.id, "changed my mind").await.unwrap();
    assert_eq!(status_of(&cancelled), OrderStatus::Cancelled);
    assert_eq!(buyer.stock_of(&product).await, i32::MAX);
    stack.audit().await;
}
