//! Redis outages: the app starts without Redis, answers UNAVAILABLE quickly while it is
//! down, and recovers on its own when it is back.

use std::time::{Duration, Instant};

use shop_proto::delivery::{GetDeliveryRequest, GetHoldRequest};
use shop_testkit::{PgServer, RedisServer};
use tonic::Code;

use crate::helpers::{self, confirm_request, eventually, hold_request, id};

#[tokio::test]
async fn holds_are_unavailable_while_redis_is_down_and_work_again_after() {
    let redis = RedisServer::start().unwrap();
    let database = PgServer::shared().fresh_database().await;
    let mut app = helpers::spawn_on(database, redis.url(), |_| {}).await;
    let user_id = id();
    app.client
        .hold_delivery(hold_request(&id(), &user_id, Duration::from_secs(60)))
        .await
        .unwrap();

    redis.stop().unwrap();
    let order_id = id();
    let started = Instant::now();
    let err = app
        .client
        .hold_delivery(hold_request(&order_id, &user_id, Duration::from_secs(60)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "Redis down must fail fast, took {:?}",
        started.elapsed()
    );
    let err = app
        .client
        .get_hold(GetHoldRequest {
            order_id: order_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    // Not DELIVERY_HOLD_EXPIRED: the saga must retry, not give up on the order.
    let err = app
        .client
        .confirm_delivery(confirm_request(&order_id, &id()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);

    redis.start_again().unwrap();
    let client = app.client.clone();
    let recovered = eventually(Duration::from_secs(10), || {
        let mut client = client.clone();
        let request = hold_request(&order_id, &user_id, Duration::from_secs(60));
        async move { client.hold_delivery(request).await.is_ok() }
    })
    .await;
    assert!(recovered, "holds did not work again after Redis came back");
    app.client
        .confirm_delivery(confirm_request(&order_id, &id()))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_app_starts_while_redis_is_down() {
    let nowhere = format!("redis://127.0.0.1:{}", shop_testkit::free_port());
    let database = PgServer::shared().fresh_database().await;
    let mut app = helpers::spawn_on(database, nowhere, |_| {}).await;
    let err = app
        .client
        .hold_delivery(hold_request(&id(), &id(), Duration::from_secs(60)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    let err = app
        .client
        .get_delivery(GetDeliveryRequest { order_id: id() })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::NotFound,
        "Postgres-only calls keep working"
    );
}

#[tokio::test]
async fn a_redis_that_never_answers_is_unavailable_not_a_hang() {
    // Accepts connections (the kernel backlog) but never reads or replies.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", silent.local_addr().unwrap());
    let database = PgServer::shared().fresh_database().await;
    let mut app = helpers::spawn_on(database, url, |_| {}).await;
    for _ in 0..2 {
        let started = Instant::now();
        let err = app
            .client
            .get_hold(GetHoldRequest { order_id: id() })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "a silent Redis must time out, took {:?}",
            started.elapsed()
        );
    }
}

/// A reply that does not parse (here every byte of it inverted, between delivery-svc
/// and Redis) used to stay in the connection's buffer and fail every later command
/// until the service was restarted. Now such an error drops the connection: once the
/// replies are sound again, the next commands work.
#[tokio::test]
async fn a_garbled_reply_does_not_break_the_connection_for_good() {
    let redis = RedisServer::start().unwrap();
    let proxy =
        shop_testkit::FaultProxy::start(std::net::SocketAddr::from(([127, 0, 0, 1], redis.port())))
            .await
            .unwrap();
    let database = PgServer::shared().fresh_database().await;
    let mut app = helpers::spawn_on(database, proxy.rewrite(&redis.url()), |_| {}).await;
    let (order_id, user_id) = (id(), id());
    app.client
        .hold_delivery(hold_request(&order_id, &user_id, Duration::from_secs(60)))
        .await
        .unwrap();

    proxy.set(shop_testkit::Fault::Garble);
    for _ in 0..5 {
        let garbled = app
            .client
            .get_hold(GetHoldRequest {
                order_id: order_id.clone(),
            })
            .await;
        assert!(garbled.is_err(), "a garbled reply is an error: {garbled:?}");
    }
    proxy.set(shop_testkit::Fault::Pass);
    proxy.reset_connections();

    let client = app.client.clone();
    let recovered = eventually(Duration::from_secs(5), || {
        let mut client = client.clone();
        let request = GetHoldRequest {
            order_id: order_id.clone(),
        };
        async move { client.get_hold(request).await.is_ok() }
    })
    .await;
    assert!(
        recovered,
        "the hold is read again once the replies are sound"
    );
}
