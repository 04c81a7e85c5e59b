//! Hostile or careless input and the records order-svc keeps: control characters,
//! totals no payment can take, a user opening order after order, stock raised so far
//! that putting reserved units back would overflow, and the retention of the outbox
//! and the fences.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use shop_common::validate::MAX_CHARGE;
use shop_proto::order::{self as pb, StreamEventsRequest};
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{
    assert_error, line, new_id, order_request, spawn_app, spawn_app_with, violated_fields,
};

#[tokio::test]
async fn a_product_name_with_a_control_character_is_refused() {
    let app = spawn_app().await;
    let status = assert_error(
        app.client()
            .create_product(pb::CreateProductRequest {
                name: "mug\u{0}".into(),
                price: 1,
                stock: 1,
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert_eq!(violated_fields(&status), vec!["name".to_owned()]);
    let listed = app
        .client()
        .list_products(pb::ListProductsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.products.is_empty());
}

#[tokio::test]
async fn an_order_no_payment_could_take_is_refused_when_placed() {
    let app = spawn_app().await;
    let gold = app.product("gold bar", MAX_CHARGE / 1000 + 1, 5000).await;
    let status = assert_error(
        app.client()
            .create_order(order_request(&new_id(), vec![line(&gold.id, 1000)]))
            .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert!(status.message().contains("largest amount"), "{status:?}");
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(orders, 0);
    let payable = app
        .client()
        .create_order(order_request(&new_id(), vec![line(&gold.id, 999)]))
        .await
        .expect("a total within the maximum is placed");
    assert_eq!(
        payable.into_inner().total_amount,
        999 * (MAX_CHARGE / 1000 + 1)
    );
}

#[tokio::test]
async fn one_user_cannot_open_more_unpaid_orders_than_allowed_even_at_once() {
    let app = spawn_app_with(|mut config| {
        config.max_open_orders = 3;
        config
    })
    .await;
    let mug = app.product("mug", 10, 100).await;
    let user = new_id();
    let requests: Vec<_> = (0..8)
        .map(|_| order_request(&user, vec![line(&mug.id, 1)]))
        .collect();
    let mut calls = tokio::task::JoinSet::new();
    for request in requests.clone() {
        let mut client = app.client();
        calls.spawn(async move { client.create_order(request).await });
    }
    let answers = calls.join_all().await;
    let placed: Vec<_> = answers.iter().filter_map(|a| a.as_ref().ok()).collect();
    assert_eq!(placed.len(), 3, "{answers:?}");
    for refused in answers.iter().filter_map(|a| a.as_ref().err()) {
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
        assert_eq!(
            shop_common::status::reason(refused).as_deref(),
            Some("TOO_MANY_OPEN_ORDERS")
        );
    }
    // A repeat of a placed order is still answered; another user is not affected.
    let first = requests
        .iter()
        .find(|r| placed.iter().any(|p| p.get_ref().id == r.order_id))
        .unwrap();
    app.client().create_order(first.clone()).await.unwrap();
    app.client()
        .create_order(order_request(&new_id(), vec![line(&mug.id, 1)]))
        .await
        .unwrap();
    // Cancelling one frees a place.
    app.cancel(&placed[0].get_ref().id, "changed my mind")
        .await
        .unwrap();
    app.client()
        .create_order(order_request(&user, vec![line(&mug.id, 1)]))
        .await
        .expect("one open order fewer, one more allowed");
}

#[tokio::test]
async fn stock_cannot_be_raised_so_far_that_a_release_would_overflow() {
    let app = spawn_app().await;
    let item = app.product("item", 10, 10).await;
    let order = app.order(vec![line(&item.id, 5)]).await;
    let saga = app.pay(&order).await;
    assert_eq!(app.stock(&item.id).await, 5);

    let adjust = |delta: i32| {
        let mut client = app.client();
        let product_id = item.id.clone();
        async move {
            client
                .adjust_stock(pb::AdjustStockRequest {
                    product_id,
                    delta,
                    ..Default::default()
                })
                .await
        }
    };
    // On hand 5 + this = i32::MAX, but 5 more are reserved: putting them back later
    // would overflow the stock.
    let status = assert_error(
        adjust(i32::MAX - 5).await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert!(status.message().contains("5 units reserved"), "{status:?}");
    assert_eq!(app.stock(&item.id).await, 5, "nothing changed");
    adjust(i32::MAX - 10).await.expect("within the range");
    assert!(
        app.release(&order.id, &saga)
            .await
            .unwrap()
            .into_inner()
            .released
    );
    assert_eq!(app.stock(&item.id).await, i32::MAX);
    app.assert_stock_conserved().await;
}

#[tokio::test]
async fn a_compensation_reason_with_control_characters_is_blanked_not_refused() {
    let app = spawn_app().await;
    let item = app.product("item", 10, 10).await;
    let order = app.order(vec![line(&item.id, 1)]).await;
    let saga = new_id();
    app.begin(&order.id, &saga).await.unwrap();
    let aborted = app
        .abort(&order.id, &saga, "declined\u{0}: no points")
        .await
        .expect("an undo never fails on its wording")
        .into_inner();
    assert_eq!(aborted.last_error, "declined : no points");
}

/// Polls `check` every 50 ms until it holds or `within` passes.
async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// How many rows `sql` counts.
async fn count(pool: &sqlx::PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn retention_keeps_what_a_reader_or_an_open_order_still_needs() {
    let app = spawn_app_with(|mut config| {
        config.log_retention = Duration::from_millis(300);
        config
    })
    .await;
    let item = app.product("item", 10, 10).await;
    let open = app.order(vec![line(&item.id, 1)]).await;
    app.begin(&open.id, &new_id()).await.unwrap();
    let closed = app.order(vec![line(&item.id, 1)]).await;
    let saga = new_id();
    app.begin(&closed.id, &saga).await.unwrap();
    app.abort(&closed.id, &saga, "declined").await.unwrap();
    app.cancel(&closed.id, "").await.unwrap();

    // A named reader at offset 0 has read nothing: every event stays.
    let read = |after_offset: i64| {
        let mut client = app.client();
        async move {
            client
                .stream_events(StreamEventsRequest {
                    after_offset,
                    consumer: "gateway-1".into(),
                })
                .await
                .map(drop)
        }
    };
    read(0).await.unwrap();
    let fences_gone = eventually(Duration::from_secs(10), || async {
        count(&app.pool, "SELECT count(*) FROM payment_fences").await == 1
    })
    .await;
    assert!(
        fences_gone,
        "the closed order's fence goes, the open one's stays"
    );
    let kept: (Uuid,) = sqlx::query_as("SELECT order_id FROM payment_fences")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(kept.0.to_string(), open.id);
    let events = count(&app.pool, "SELECT count(*) FROM order_events").await;
    assert!(events >= 3, "unread events stay: {events}");

    let last: i64 = count(&app.pool, r#"SELECT max("offset") FROM order_events"#).await;
    read(last).await.unwrap();
    let read_gone = eventually(Duration::from_secs(10), || async {
        count(&app.pool, "SELECT count(*) FROM order_events").await == 0
    })
    .await;
    assert!(read_gone, "events every reader is past go");
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM orders").await,
        2,
        "orders are business records and stay"
    );
}

#[tokio::test]
async fn with_the_relay_on_an_event_the_broker_has_not_confirmed_stays() {
    // The broker is unreachable (nothing listens on port 1): the relay publishes
    // nothing, so past the retention every event is still unpublished.
    let app = spawn_app_with(|mut config| {
        config.log_retention = Duration::from_millis(300);
        config.events = Some(shop_events::RelayConfig::for_tests(
            "amqp://guest:guest@127.0.0.1:1/%2f".into(),
        ));
        config
    })
    .await;
    let item = app.product("item", 10, 10).await;
    let order = app.order(vec![line(&item.id, 1)]).await;
    app.cancel(&order.id, "").await.unwrap();
    let events = count(&app.pool, "SELECT count(*) FROM order_events").await;
    assert!(events >= 2, "placed and cancelled: {events}");
    // Several retention rounds (RETENTION_EVERY is short in tests) pass.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM order_events").await,
        events,
        "no unpublished event is deleted"
    );

    // What the broker confirmed goes.
    sqlx::query("UPDATE order_events SET published_at = now()")
        .execute(&app.pool)
        .await
        .unwrap();
    let gone = eventually(Duration::from_secs(10), || async {
        count(&app.pool, "SELECT count(*) FROM order_events").await == 0
    })
    .await;
    assert!(gone, "published events past the retention go");
}

#[tokio::test]
async fn a_statement_stuck_behind_a_lock_gives_up_at_the_lock_timeout() {
    let app = spawn_app_with(|mut config| {
        config.db_timeouts.lock = Duration::from_millis(300);
        config
    })
    .await;
    let item = app.product("item", 10, 10).await;
    let order = app.order(vec![line(&item.id, 1)]).await;
    // Someone holds the order row (a stuck transaction, a long migration...).
    let mut row = app.pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM orders WHERE id = $1 FOR UPDATE")
        .bind(Uuid::parse_str(&order.id).unwrap())
        .execute(&mut *row)
        .await
        .unwrap();
    let waited = tokio::time::timeout(Duration::from_secs(10), app.begin(&order.id, &new_id()))
        .await
        .expect("the call ends by itself, the lock still held");
    let status = waited.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    row.rollback().await.unwrap();
    app.begin(&order.id, &new_id())
        .await
        .expect("once the lock is gone the same call succeeds");
}
