//! StreamEvents: the outbox from an offset, in order, then live.

use std::time::Duration;

use shop_proto::{
    common::DeliveryStatus,
    delivery::{DeliveryEvent, MarkShippedRequest, StreamEventsRequest},
};
use tokio_stream::StreamExt;
use tonic::{Code, Streaming};

use crate::helpers::{self, id, paid_delivery};

async fn next(stream: &mut Streaming<DeliveryEvent>) -> DeliveryEvent {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("an event within 5s")
        .expect("the stream is open")
        .expect("an event, not an error")
}

#[tokio::test]
async fn events_stream_from_an_offset_and_then_live() {
    let mut app = helpers::spawn().await;
    let first = paid_delivery(&mut app.client, &id()).await;
    app.client
        .mark_shipped(MarkShippedRequest {
            order_id: first.order_id.clone(),
        })
        .await
        .unwrap();

    let mut all = app
        .client
        .stream_events(StreamEventsRequest {
            after_offset: 0,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let created = next(&mut all).await;
    let shipped = next(&mut all).await;
    assert_eq!(
        (created.kind.as_str(), created.order_id.as_str()),
        ("DELIVERY_CREATED", first.order_id.as_str())
    );
    assert_eq!(created.status(), DeliveryStatus::Preparing);
    assert_eq!(shipped.kind, "DELIVERY_SHIPPED");
    assert_eq!(shipped.status(), DeliveryStatus::Shipped);
    assert!(shipped.offset > created.offset);
    assert_ne!(created.event_id, shipped.event_id);

    let mut from = app
        .client
        .stream_events(StreamEventsRequest {
            after_offset: created.offset,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(next(&mut from).await.event_id, shipped.event_id);

    // Both open streams see a new event as it commits.
    let second = paid_delivery(&mut app.client, &id()).await;
    for stream in [&mut all, &mut from] {
        let live = next(stream).await;
        assert_eq!(live.kind, "DELIVERY_CREATED");
        assert_eq!(live.order_id, second.order_id);
        assert!(live.offset > shipped.offset);
    }

    let err = app
        .client
        .stream_events(StreamEventsRequest {
            after_offset: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}
