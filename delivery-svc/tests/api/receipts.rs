//! Automatic receipt: due deliveries become RECEIVED exactly once, even with two app
//! instances competing for the same database.

use std::time::Duration;

use shop_proto::{
    common::DeliveryStatus,
    delivery::{CancelDeliveryRequest, GetDeliveryRequest, MarkShippedRequest},
};
use shop_testkit::RedisServer;
use uuid::Uuid;

use crate::helpers::{self, eventually, id, paid_delivery};

#[tokio::test]
async fn two_instances_receive_each_due_delivery_exactly_once() {
    let fast = |c: &mut delivery_svc::Config| {
        c.auto_receive_after = Duration::from_millis(500);
        c.timer_every = Duration::from_millis(50);
    };
    let mut a = helpers::spawn_with(fast).await;
    let _b = helpers::spawn_on(a.database_url.clone(), RedisServer::shared().url(), fast).await;
    // A third instance with the default 24h timer makes a delivery that is not due.
    let mut slow =
        helpers::spawn_on(a.database_url.clone(), RedisServer::shared().url(), |_| {}).await;

    let mut orders = Vec::new();
    for n in 0..12 {
        let delivery = paid_delivery(&mut a.client, &id()).await;
        if n % 3 == 0 {
            // Shipped or not, a due delivery is received (or it already was).
            let _ = a
                .client
                .mark_shipped(MarkShippedRequest {
                    order_id: delivery.order_id.clone(),
                })
                .await;
        }
        orders.push(delivery.order_id);
    }
    let not_due = paid_delivery(&mut slow.client, &id()).await;
    let cancelled = paid_delivery(&mut slow.client, &id()).await;
    slow.client
        .cancel_delivery(CancelDeliveryRequest {
            order_id: cancelled.order_id.clone(),
            saga_id: id(),
            reason: "test".into(),
        })
        .await
        .unwrap();
    // Make the cancelled one due as well: it must still not be received.
    sqlx::query("UPDATE deliveries SET receive_due_at = now() WHERE order_id = $1")
        .bind(Uuid::parse_str(&cancelled.order_id).unwrap())
        .execute(&a.pool)
        .await
        .unwrap();

    // Wait for exactly these deliveries (under load the last ones fall due late).
    let pool = a.pool.clone();
    let ids: Vec<Uuid> = orders.iter().map(|o| Uuid::parse_str(o).unwrap()).collect();
    let all_received = eventually(Duration::from_secs(15), || {
        let (pool, ids) = (pool.clone(), ids.clone());
        async move {
            let open: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM deliveries WHERE order_id = ANY($1) AND status <> 'RECEIVED'",
            )
            .bind(&ids)
            .fetch_one(&pool)
            .await
            .unwrap();
            open == 0
        }
    })
    .await;
    assert!(
        all_received,
        "due deliveries were not received automatically"
    );
    // Give both workers a few more rounds to (wrongly) receive anything twice.
    tokio::time::sleep(Duration::from_millis(300)).await;

    for order_id in &orders {
        let delivery = a
            .client
            .get_delivery(GetDeliveryRequest {
                order_id: order_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(delivery.status(), DeliveryStatus::Received);
        assert!(delivery.auto_received);
        let events: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM delivery_events
             WHERE order_id = $1 AND kind = 'DELIVERY_RECEIVED' AND auto_received",
        )
        .bind(Uuid::parse_str(order_id).unwrap())
        .fetch_one(&a.pool)
        .await
        .unwrap();
        assert_eq!(events, 1, "order {order_id} received {events} times");
    }
    for (order_id, status) in [
        (&not_due.order_id, DeliveryStatus::Preparing),
        (&cancelled.order_id, DeliveryStatus::Cancelled),
    ] {
        let delivery = a
            .client
            .get_delivery(GetDeliveryRequest {
                order_id: order_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(delivery.status(), status);
    }
}
