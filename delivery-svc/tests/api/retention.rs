//! The retention of delivery-svc's outbox: an event goes once it is older than
//! LOG_RETENTION, every named reader has read it and, with the broker relay on, the
//! broker has confirmed it.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use shop_proto::delivery::StreamEventsRequest;

use crate::helpers::{TestApp, eventually, id, paid_delivery, spawn_with};

async fn events(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM delivery_events")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Reads the stream as `consumer` past `after_offset` (the read records its cursor).
async fn read_as(app: &TestApp, consumer: &str, after_offset: i64) {
    app.client
        .clone()
        .stream_events(StreamEventsRequest {
            after_offset,
            consumer: consumer.into(),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn an_event_a_named_reader_has_not_read_stays() {
    let app = spawn_with(|config| config.log_retention = Duration::from_millis(300)).await;
    read_as(&app, "gateway-1", 0).await;
    paid_delivery(&mut app.client.clone(), &id()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(events(&app).await, 1, "the unread event stays");

    let last: i64 = sqlx::query_scalar(r#"SELECT max("offset") FROM delivery_events"#)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    read_as(&app, "gateway-1", last).await;
    let gone = eventually(Duration::from_secs(10), || async {
        events(&app).await == 0
    })
    .await;
    assert!(gone, "an event every reader is past goes");
}

#[tokio::test]
async fn with_the_relay_on_an_event_the_broker_has_not_confirmed_stays() {
    // Nothing listens on port 1: the relay publishes nothing.
    let app = spawn_with(|config| {
        config.log_retention = Duration::from_millis(300);
        config.events = Some(shop_events::RelayConfig::for_tests(
            "amqp://guest:guest@127.0.0.1:1/%2f".into(),
        ));
    })
    .await;
    paid_delivery(&mut app.client.clone(), &id()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(events(&app).await, 1, "the unpublished event stays");

    sqlx::query("UPDATE delivery_events SET published_at = now()")
        .execute(&app.pool)
        .await
        .unwrap();
    let gone = eventually(Duration::from_secs(10), || async {
        events(&app).await == 0
    })
    .await;
    assert!(gone, "a published event past the retention goes");
}
