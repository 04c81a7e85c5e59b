//! HoldDelivery, GetHold, ExtendHold, ReleaseHold against the real Redis.

use std::time::Duration;

use chrono::Utc;
use shop_common::{status, time};
use shop_proto::delivery::{
    ExtendHoldRequest, GetHoldRequest, HoldDeliveryRequest, ReleaseHoldRequest,
};
use tonic::Code;

use crate::helpers::{self, assert_error, eventually, hold_request, id, info};

fn expires_in(hold: &shop_proto::delivery::Hold) -> chrono::Duration {
    let at = hold
        .expires_at
        .as_ref()
        .and_then(time::from_timestamp)
        .expect("expires_at");
    at - Utc::now()
}

#[tokio::test]
async fn a_hold_is_readable_until_its_ttl_runs_out() {
    let mut app = helpers::spawn().await;
    let (order_id, user_id) = (id(), id());
    let hold = app
        .client
        .hold_delivery(hold_request(
            &order_id,
            &user_id,
            Duration::from_millis(300),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(hold.order_id, order_id);
    assert_eq!(hold.user_id, user_id);
    assert_eq!(hold.info.as_ref().unwrap().contact, "010-1234-5678");
    assert!(expires_in(&hold) <= chrono::Duration::milliseconds(300));

    let read = app
        .client
        .get_hold(GetHoldRequest {
            order_id: order_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.info, hold.info);

    let mut client = app.client.clone();
    let gone = eventually(Duration::from_secs(5), || {
        let mut client = client.clone();
        let order_id = order_id.clone();
        async move {
            matches!(client.get_hold(GetHoldRequest { order_id }).await,
                Err(s) if s.code() == Code::NotFound)
        }
    })
    .await;
    assert!(gone, "the hold outlived its 300ms TTL");
    let err = client
        .extend_hold(ExtendHoldRequest {
            order_id,
            until: Some(time::to_timestamp(
                Utc::now() + chrono::Duration::minutes(5),
            )),
        })
        .await
        .unwrap_err();
    assert_error(&err, Code::FailedPrecondition, "DELIVERY_HOLD_EXPIRED");
}

#[tokio::test]
async fn a_repeated_hold_returns_the_first_and_another_user_is_aborted() {
    let mut app = helpers::spawn().await;
    let (order_id, user_id) = (id(), id());
    let first = app
        .client
        .hold_delivery(hold_request(&order_id, &user_id, Duration::from_secs(60)))
        .await
        .unwrap()
        .into_inner();

    let mut again = hold_request(&order_id, &user_id, Duration::from_secs(60));
    again.info = Some(info("부산광역시 해운대구 1"));
    let second = app.client.hold_delivery(again).await.unwrap().into_inner();
    assert_eq!(
        second.info, first.info,
        "a repeat must not overwrite the hold"
    );

    let err = app
        .client
        .hold_delivery(hold_request(&order_id, &id(), Duration::from_secs(60)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let kept = app
        .client
        .get_hold(GetHoldRequest { order_id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(kept.user_id, user_id);
}

#[tokio::test]
async fn invalid_holds_list_every_field_and_store_nothing() {
    let mut app = helpers::spawn().await;
    let order_id = id();
    let mut bad = hold_request(&order_id, "not-a-uuid", Duration::ZERO);
    let info = bad.info.as_mut().unwrap();
    info.recipient_name = "  ".into();
    info.contact = "call me".into();
    let err = app.client.hold_delivery(bad).await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "VALIDATION_FAILED");
    let mut fields: Vec<String> = status::violations(&err)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        ["info.contact", "info.recipient_name", "ttl", "user_id"]
    );

    let too_long = hold_request(&order_id, &id(), Duration::from_secs(3601));
    let err = app.client.hold_delivery(too_long).await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "VALIDATION_FAILED");
    assert_eq!(status::violations(&err)[0].0, "ttl");

    let err = app
        .client
        .hold_delivery(HoldDeliveryRequest {
            order_id: "123".into(),
            user_id: id(),
            info: None,
            ttl: None,
        })
        .await
        .unwrap_err();
    let fields: Vec<String> = status::violations(&err)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(fields, ["order_id", "info", "ttl"]);

    let err = app
        .client
        .get_hold(GetHoldRequest { order_id })
        .await
        .unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
}

#[tokio::test]
async fn extend_only_lengthens_and_is_capped_at_the_maximum() {
    let mut app = helpers::spawn().await;
    let order_id = id();
    app.client
        .hold_delivery(hold_request(&order_id, &id(), Duration::from_secs(2)))
        .await
        .unwrap();
    let extend = |minutes: i64| ExtendHoldRequest {
        order_id: order_id.clone(),
        until: Some(time::to_timestamp(
            Utc::now() + chrono::Duration::minutes(minutes),
        )),
    };

    let hold = app
        .client
        .extend_hold(extend(10))
        .await
        .unwrap()
        .into_inner();
    let left = expires_in(&hold);
    assert!(left > chrono::Duration::minutes(9) && left <= chrono::Duration::minutes(10));

    let hold = app
        .client
        .extend_hold(extend(1))
        .await
        .unwrap()
        .into_inner();
    assert!(
        expires_in(&hold) > chrono::Duration::minutes(9),
        "extend shortened the hold"
    );

    let hold = app
        .client
        .extend_hold(extend(300))
        .await
        .unwrap()
        .into_inner();
    let left = expires_in(&hold);
    assert!(
        left > chrono::Duration::minutes(59) && left <= chrono::Duration::hours(1),
        "not capped at HOLD_MAX_TTL: {left}"
    );
}

#[tokio::test]
async fn release_deletes_the_hold_once() {
    let mut app = helpers::spawn().await;
    let order_id = id();
    app.client
        .hold_delivery(hold_request(&order_id, &id(), Duration::from_secs(60)))
        .await
        .unwrap();
    let release = || ReleaseHoldRequest {
        order_id: order_id.clone(),
    };
    assert!(
        app.client
            .release_hold(release())
            .await
            .unwrap()
            .into_inner()
            .released
    );
    assert!(
        !app.client
            .release_hold(release())
            .await
            .unwrap()
            .into_inner()
            .released
    );
    let err = app
        .client
        .get_hold(GetHoldRequest {
            order_id: order_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}
