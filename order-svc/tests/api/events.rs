//! StreamEvents: the outbox in offset order, from any offset, following new events.

use std::time::Duration;

use shop_proto::{
    common::OrderStatus,
    order::{OrderEvent, StreamEventsRequest},
};
use tonic::{Code, Streaming};

use crate::helpers::{TestApp, assert_error, line, spawn_app};

async fn next(stream: &mut Streaming<OrderEvent>) -> OrderEvent {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("an event within 10 s")
        .expect("a healthy stream")
        .expect("the stream stays open")
}

async fn open(app: &TestApp, after_offset: i64) -> Streaming<OrderEvent> {
    app.client()
        .stream_events(StreamEventsRequest {
            after_offset,
            ..Default::default()
        })
        .await
        .expect("stream opens")
        .into_inner()
}

#[tokio::test]
async fn events_arrive_in_order_from_an_offset_and_keep_coming() {
    let app = spawn_app().await;
    let mug = app.product("mug", 10, 100).await;
    let first = app.order(vec![line(&mug.id, 1)]).await;
    let second = app.order(vec![line(&mug.id, 1)]).await;
    app.cancel(&first.id, "no").await.unwrap();

    let mut stream = open(&app, 0).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(next(&mut stream).await);
    }
    let summary: Vec<(&str, &str)> = seen
        .iter()
        .map(|e| (e.order_id.as_str(), e.kind.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (first.id.as_str(), "ORDER_PLACED"),
            (second.id.as_str(), "ORDER_PLACED"),
            (first.id.as_str(), "ORDER_CANCELLED"),
        ]
    );
    assert!(seen.windows(2).all(|w| w[0].offset < w[1].offset));
    assert_eq!(seen[2].status, i32::from(OrderStatus::Cancelled));
    assert_ne!(seen[0].event_id, seen[1].event_id);

    // New events reach the open stream.
    app.cancel(&second.id, "no").await.unwrap();
    let live = next(&mut stream).await;
    assert_eq!(
        (live.order_id.as_str(), live.kind.as_str()),
        (second.id.as_str(), "ORDER_CANCELLED")
    );
    assert!(live.offset > seen[2].offset);

    // A reader resuming after the first event gets the rest, in the same order.
    let mut resumed = open(&app, seen[0].offset).await;
    assert_eq!(next(&mut resumed).await, seen[1]);
    assert_eq!(next(&mut resumed).await, seen[2]);
    assert_eq!(next(&mut resumed).await, live);
}

#[tokio::test]
async fn a_negative_offset_is_refused() {
    let app = spawn_app().await;
    assert_error(
        app.client()
            .stream_events(StreamEventsRequest {
                after_offset: -1,
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
}

#[tokio::test]
async fn each_event_carries_the_user_and_amounts_as_they_were() {
    let app = spawn_app().await;
    let mug = app.product("mug", 700, 100).await;
    let order = app.order(vec![line(&mug.id, 3)]).await;
    app.pay(&order).await;

    let mut stream = open(&app, 0).await;
    let placed = next(&mut stream).await;
    let paid = next(&mut stream).await;
    assert_eq!(
        (placed.kind.as_str(), paid.kind.as_str()),
        ("ORDER_PLACED", "ORDER_PAID")
    );
    for event in [&placed, &paid] {
        assert_eq!(event.user_id, order.user_id);
        assert_eq!(event.total_amount, 2100);
    }
    // Written when it happened: the placed event keeps the unpaid amounts.
    assert_eq!(placed.paid_amount, 0);
    assert_eq!(paid.paid_amount, 2100);
}
