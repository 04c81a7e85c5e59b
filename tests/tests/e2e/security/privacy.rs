//! The address is only for delivering the order (seed 000): after a failed payment
//! its hold ends with the order's payment window again, a cancelled delivery keeps
//! none of it, and the idempotency table cannot be used to confirm a guessed address.

use prost::Message;
use sha2::{Digest, Sha256};
use shop_e2e::Stack;
use shop_proto::{common::OrderStatus, gateway::PlaceOrderRequest};
use tonic::Code;
use uuid::Uuid;

use crate::{
    partial::{hold_key, pool, redis},
    support::{assert_error, status_of},
};

#[tokio::test]
async fn after_a_failed_payment_the_hold_ends_with_the_order() {
    let stack = Stack::start().await.unwrap();
    let (admin, buyer) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Chair", 500, 5).await.id;
    let order = buyer.place(&[(&product, 1)]).await.unwrap();
    // No points: the saga kept the hold for its run (15 minutes), then was undone.
    assert_error(
        buyer.pay(&order.id, "").await,
        Code::FailedPrecondition,
        "INSUFFICIENT_POINTS",
    );
    let mut conn = redis(&stack).await;
    let left: i64 = redis::cmd("PTTL")
        .arg(hold_key(&order.id))
        .query_async(&mut conn)
        .await
        .unwrap();
    let window = stack.options().payment_window.as_millis() as i64;
    assert!(
        left > 0 && left <= window + 30_000,
        "the hold ends with the order's window again, not 15 minutes on: {left} ms"
    );
    // The order is still payable, with its hold.
    admin.top_up(buyer.id, 1_000).await;
    assert_eq!(
        status_of(&buyer.pay(&order.id, "").await.unwrap()),
        OrderStatus::Paid
    );
    stack.audit().await;
}

#[tokio::test]
async fn a_cancelled_delivery_keeps_no_address() {
    let stack = Stack::start().await.unwrap();
    let (admin, buyer) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Table", 500, 5).await.id;
    admin.top_up(buyer.id, 1_000).await;
    let paid = buyer.checkout(&[(&product, 1)], "").await.unwrap();
    assert!(paid.delivery.as_ref().unwrap().info.is_some());
    buyer.cancel(&paid.id, "changed my mind").await.unwrap();
    let order = buyer.order(&paid.id).await.unwrap();
    let delivery = order
        .delivery
        .expect("the cancelled delivery is still listed");
    assert!(
        delivery.info.is_none() && delivery.redacted_at.is_some(),
        "{delivery:?}"
    );
    let stored: (String, String, String) = sqlx::query_as(
        "SELECT recipient_name, address, contact FROM deliveries WHERE order_id = $1",
    )
    .bind(Uuid::parse_str(&paid.id).unwrap())
    .fetch_one(&pool(&stack.databases.delivery).await)
    .await
    .unwrap();
    assert_eq!(stored, (String::new(), String::new(), String::new()));
    assert_eq!(buyer.wallet().await.balance, 1_000, "refunded");
    stack.audit().await;
}

#[tokio::test]
async fn the_idempotency_fingerprint_is_keyed_not_a_plain_hash_of_the_body() {
    let stack = Stack::start().await.unwrap();
    let (admin, buyer) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Desk", 500, 5).await.id;
    let order = buyer
        .place_with_key(&[(&product, 1)], "order-1")
        .await
        .unwrap();
    let stored: Vec<u8> = sqlx::query_scalar(
        "SELECT request_hash FROM idempotency_keys WHERE user_id = $1 AND key = 'order-1'",
    )
    .bind(buyer.id)
    .fetch_one(&pool(&stack.databases.gateway).await)
    .await
    .unwrap();
    // Who reads the table and guesses the body (address included) cannot confirm it.
    let body = PlaceOrderRequest {
        items: shop_e2e::client::lines(&[(&product, 1)]),
        delivery: Some(shop_e2e::client::address()),
    };
    let mut plain = Sha256::new();
    plain.update(b"PlaceOrder");
    plain.update([0]);
    plain.update(body.encode_to_vec());
    assert_eq!(stored.len(), 32);
    assert_ne!(stored, plain.finalize().to_vec());
    // It still tells a retry from a reuse.
    let again = buyer
        .place_with_key(&[(&product, 1)], "order-1")
        .await
        .unwrap();
    assert_eq!(again.id, order.id);
    assert_error(
        buyer.place_with_key(&[(&product, 2)], "order-1").await,
        Code::FailedPrecondition,
        "IDEMPOTENCY_KEY_REUSED",
    );
}
