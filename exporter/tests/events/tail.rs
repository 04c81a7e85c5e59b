//! `shopctl events tail` prints what the relays publish as proto3 JSON.

use std::time::Duration;

use serde_json::Value;
use shop_events::tail::Tail;

use crate::stack::{OrderRelay, Stack, shared_broker};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_tail_prints_relayed_events_as_proto3_json() {
    let broker = shared_broker().await;
    let stack = Stack::start(&broker.url(), OrderRelay::InProcess).await;
    let (product, users) = stack.shoppers(1).await;
    let mut tail = Tail::bind(&stack.amqp_url, "order.*")
        .await
        .expect("tail binds");

    let order = users[0]
        .checkout(&[(product.as_str(), 2)], "")
        .await
        .expect("checkout");

    let mut seen: Vec<Value> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while seen.len() < 2 {
        let line = tokio::time::timeout_at(deadline, tail.next())
            .await
            .expect("the order's events arrive in time")
            .expect("tail reads")
            .expect("tail goes on");
        let key = line["routingKey"].as_str().unwrap_or("");
        assert!(key.starts_with("order."), "bound to order.* only: {line}");
        // Other tests publish on this broker too.
        if line["event"]["orderId"] == order.id.as_str() {
            seen.push(line);
        }
    }
    tail.close().await;

    assert_eq!(seen[0]["routingKey"], "order.placed", "{seen:?}");
    assert_eq!(seen[0]["event"]["status"], "ORDER_STATUS_PENDING_PAYMENT");
    let paid = &seen[1];
    assert_eq!(paid["routingKey"], "order.paid", "{paid}");
    assert_eq!(paid["messageId"], paid["event"]["eventId"]);
    assert_eq!(paid["event"]["kind"], "ORDER_PAID");
    assert_eq!(paid["event"]["status"], "ORDER_STATUS_PAID");
    assert_eq!(paid["event"]["userId"], users[0].id.to_string().as_str());
    // proto3 JSON: int64 as a string.
    assert_eq!(paid["event"]["paidAmount"], "200");
    assert_eq!(paid["event"]["totalAmount"], "200");
    assert!(
        paid["event"]["occurredAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{paid}"
    );
}
