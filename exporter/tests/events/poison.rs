//! A message the exporter cannot read is retried a bounded number of times and then
//! waits in the dead-letter queue, while every real event is exported.

use std::{
    sync::{Arc, atomic::AtomicUsize},
    time::Duration,
};

use lapin::options::BasicPublishOptions;
use prost::Message;
use shop_events::{broker, tail, topology};
use shop_proto::delivery::DeliveryEvent;

use crate::stack::{OrderRelay, Stack, checkouts, shared_broker};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_dead_lettered_after_its_retries_while_others_flow() {
    let broker = shared_broker().await;
    let stack = Stack::start(&broker.url(), OrderRelay::InProcess).await;
    let (product, users) = stack.shoppers(4).await;

    // A broken publisher: bytes that are no OrderEvent, and a DeliveryEvent whose ids
    // are no UUIDs.
    let garbage = format!("poison-bytes-{}", uuid::Uuid::new_v4());
    let bad_ids = DeliveryEvent {
        offset: 1,
        event_id: format!("poison-id-{}", uuid::Uuid::new_v4()),
        order_id: "not-an-order".into(),
        kind: "DELIVERY_CREATED".into(),
        ..DeliveryEvent::default()
    };
    let connection = broker::connect(&stack.amqp_url, "poisoner")
        .await
        .expect("connect");
    let channel = broker::channel(&connection).await.expect("channel");
    for (key, id, body) in [
        (
            "order.paid",
            garbage.as_str(),
            b"\xff\xfe not protobuf".to_vec(),
        ),
        (
            "delivery.created",
            bad_ids.event_id.as_str(),
            bad_ids.encode_to_vec(),
        ),
    ] {
        channel
            .basic_publish(
                topology::EXCHANGE.into(),
                key.into(),
                BasicPublishOptions::default(),
                &body,
                topology::properties(id, "poison", 0, "test"),
            )
            .await
            .expect("publish poison");
    }
    broker::close(connection).await;

    let orders = checkouts(&users, &product, 20, Arc::new(AtomicUsize::new(0))).await;
    stack.wait_until_exported(Duration::from_secs(60)).await;
    stack.assert_exported_once(&orders).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let dead = loop {
        let dead = tail::dead_letters(&stack.amqp_url, &stack.queue, 10)
            .await
            .expect("look at the dead letters");
        if dead.count >= 2 || tokio::time::Instant::now() >= deadline {
            break dead;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(dead.count, 2, "{dead:?}");
    let mut ids: Vec<_> = dead
        .sample
        .iter()
        .filter_map(|d| d.message_id.clone())
        .collect();
    ids.sort();
    let mut expected = vec![garbage.clone(), bad_ids.event_id.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    assert!(
        dead.sample
            .iter()
            .all(|d| d.reason.as_deref() == Some("delivery_limit")),
        "dead-lettered by the delivery limit, after the retries: {dead:?}"
    );
    // Looking did not take them away.
    let again = tail::dead_letters(&stack.amqp_url, &stack.queue, 0)
        .await
        .expect("count");
    assert_eq!(again.count, 2);
    let processed: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_events WHERE routing_key NOT LIKE 'order.%' AND routing_key NOT LIKE 'delivery.%'")
        .fetch_one(stack.exporter_db())
        .await
        .expect("count");
    assert_eq!(processed, 0);
    stack.audit().await;
}
