//! Personal data and hostile input: control characters refused before anything is
//! held, a hold's expiry set back exactly, delivery details erased when cancelled and
//! a while after receipt, and a Redis that is full or not replicated answered as
//! UNAVAILABLE having kept every hold it had.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use shop_common::time;
use shop_proto::delivery::{
    CancelDeliveryRequest, ConfirmReceiptRequest, GetDeliveryRequest, GetHoldRequest,
    SetHoldExpiryRequest,
};
use shop_testkit::{PgServer, RedisServer};
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{
    self, assert_error, eventually, hold_request, id, info, paid_delivery, spawn, spawn_with,
};

async fn redis(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn pttl(url: &str, order_id: &str) -> i64 {
    redis::cmd("PTTL")
        .arg(format!("delivery:hold:{order_id}"))
        .query_async(&mut redis(url).await)
        .await
        .unwrap()
}

/// The personal columns of the order's delivery row, as stored.
async fn stored(pool: &sqlx::PgPool, order_id: &str) -> (String, String, String, String, bool) {
    sqlx::query_as(
        "SELECT recipient_name, address, contact, requirement, redacted_at IS NOT NULL \
         FROM deliveries WHERE order_id = $1",
    )
    .bind(Uuid::parse_str(order_id).unwrap())
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn control_characters_are_refused_and_nothing_is_held() {
    let app = spawn().await;
    let mut client = app.client.clone();
    for (field, bad) in [
        ("info.address", info("Seoul\u{0} 1")),
        (
            "info.recipient_name",
            shop_proto::common::DeliveryInfo {
                recipient_name: "Kim\u{1b}[31m".into(),
                ..info("Seoul")
            },
        ),
        (
            "info.requirement",
            shop_proto::common::DeliveryInfo {
                requirement: "ring\u{7}".into(),
                ..info("Seoul")
            },
        ),
    ] {
        let order_id = id();
        let mut request = hold_request(&order_id, &id(), Duration::from_secs(60));
        request.info = Some(bad);
        let status = client.hold_delivery(request).await.unwrap_err();
        assert_error(&status, Code::InvalidArgument, "VALIDATION_FAILED");
        let fields: Vec<String> = shop_common::status::violations(&status)
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, vec![field.to_owned()]);
        let held = client.get_hold(GetHoldRequest { order_id }).await;
        assert_eq!(held.unwrap_err().code(), Code::NotFound, "nothing was held");
    }
}

#[tokio::test]
async fn a_hold_expiry_is_set_exactly_earlier_or_gone() {
    let app = spawn().await;
    let mut client = app.client.clone();
    let url = RedisServer::shared().url();
    let order_id = id();
    client
        .hold_delivery(hold_request(&order_id, &id(), Duration::from_secs(3600)))
        .await
        .unwrap();
    let at = chrono::Utc::now() + chrono::Duration::seconds(20);
    let hold = client
        .set_hold_expiry(SetHoldExpiryRequest {
            order_id: order_id.clone(),
            at: Some(time::to_timestamp(at)),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(hold.info.is_some());
    let left = pttl(&url, &order_id).await;
    assert!(
        (15_000..=20_000).contains(&left),
        "shortened to 20 s: {left} ms"
    );

    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    client
        .set_hold_expiry(SetHoldExpiryRequest {
            order_id: order_id.clone(),
            at: Some(time::to_timestamp(past)),
        })
        .await
        .unwrap();
    assert_eq!(pttl(&url, &order_id).await, -2, "a time passed deletes it");
    let gone = client
        .set_hold_expiry(SetHoldExpiryRequest {
            order_id,
            at: Some(time::to_timestamp(at)),
        })
        .await
        .unwrap_err();
    assert_error(&gone, Code::NotFound, "NOT_FOUND");
}

#[tokio::test]
async fn a_cancelled_delivery_loses_its_personal_data_at_once() {
    let app = spawn().await;
    let mut client = app.client.clone();
    let delivery = paid_delivery(&mut client, &id()).await;
    assert_eq!(
        stored(&app.pool, &delivery.order_id).await.1,
        "서울특별시 중구 을지로 100"
    );
    let cancelled = client
        .cancel_delivery(CancelDeliveryRequest {
            order_id: delivery.order_id.clone(),
            saga_id: id(),
            // A compensation's reason is blanked, never refused (nor a database error).
            reason: "refund\u{0}requested".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(cancelled.cancelled);
    let answered = cancelled.delivery.unwrap();
    assert!(
        answered.info.is_none() && answered.redacted_at.is_some(),
        "{answered:?}"
    );
    assert_eq!(
        stored(&app.pool, &delivery.order_id).await,
        (
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            true
        )
    );
    let reason: String =
        sqlx::query_scalar("SELECT cancel_reason FROM deliveries WHERE order_id = $1")
            .bind(Uuid::parse_str(&delivery.order_id).unwrap())
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(reason, "refund requested");
}

#[tokio::test]
async fn a_received_delivery_loses_its_personal_data_after_the_retention() {
    let app = spawn_with(|config| config.pii_retention = Duration::from_millis(300)).await;
    let mut client = app.client.clone();
    let user = id();
    let (kept, received) = (
        paid_delivery(&mut client, &user).await,
        paid_delivery(&mut client, &user).await,
    );
    client
        .confirm_receipt(ConfirmReceiptRequest {
            order_id: received.order_id.clone(),
            user_id: user.clone(),
        })
        .await
        .unwrap();
    let erased = eventually(Duration::from_secs(10), || async {
        stored(&app.pool, &received.order_id).await.4
    })
    .await;
    assert!(erased, "the received delivery is redacted by the job");
    let read = client
        .get_delivery(GetDeliveryRequest {
            order_id: received.order_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(read.info.is_none() && read.redacted_at.is_some());
    assert_eq!(read.status(), shop_proto::common::DeliveryStatus::Received);
    let open = stored(&app.pool, &kept.order_id).await;
    assert!(
        !open.4 && !open.1.is_empty(),
        "a delivery not yet received keeps its address"
    );
}

#[tokio::test]
async fn a_full_redis_refuses_new_holds_and_keeps_the_old_ones() {
    let server = RedisServer::start().unwrap();
    let database = PgServer::shared().fresh_database().await;
    let app = helpers::spawn_on(database, server.url(), |_| {}).await;
    let mut client = app.client.clone();
    let first = id();
    client
        .hold_delivery(hold_request(&first, &id(), Duration::from_secs(60)))
        .await
        .unwrap();
    // At its limit (1 byte is below what an empty server uses), noeviction refuses
    // every write and evicts nothing.
    let mut conn = redis(&server.url()).await;
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("1")
        .query_async(&mut conn)
        .await
        .unwrap();
    let refused = client
        .hold_delivery(hold_request(&id(), &id(), Duration::from_secs(60)))
        .await
        .unwrap_err();
    assert_error(&refused, Code::Unavailable, "UNAVAILABLE");
    let still = client
        .get_hold(GetHoldRequest { order_id: first })
        .await
        .unwrap()
        .into_inner();
    assert!(still.info.is_some(), "the earlier hold is still there");
}

#[tokio::test]
async fn with_min_replicas_a_hold_waits_for_a_replica() {
    let master = RedisServer::start().unwrap();
    let database = PgServer::shared().fresh_database().await;
    let app = helpers::spawn_on(database, master.url(), |config| {
        config.hold_min_replicas = 1;
    })
    .await;
    let mut client = app.client.clone();
    let refused = client
        .hold_delivery(hold_request(&id(), &id(), Duration::from_secs(60)))
        .await
        .unwrap_err();
    assert_error(&refused, Code::Unavailable, "UNAVAILABLE");

    let replica = RedisServer::start().unwrap();
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(master.port())
        .query_async(&mut redis(&replica.url()).await)
        .await
        .unwrap();
    let master_conn = redis(&master.url()).await;
    let linked = eventually(Duration::from_secs(15), || {
        let mut conn = master_conn.clone();
        async move {
            let info: String = redis::cmd("INFO")
                .arg("replication")
                .query_async(&mut conn)
                .await
                .unwrap();
            info.contains("connected_slaves:1") && info.contains("state=online")
        }
    })
    .await;
    assert!(linked, "the replica caught up");
    // The first WAIT after the sync may miss its 500 ms on a loaded machine (the
    // replica's first ack): UNAVAILABLE is the retryable answer, and the hold is
    // idempotent, so the client tries again, as the gateway does.
    let order_id = id();
    let user_id = id();
    let acknowledged = eventually(Duration::from_secs(10), || {
        let mut client = client.clone();
        let request = hold_request(&order_id, &user_id, Duration::from_secs(60));
        async move {
            match client.hold_delivery(request).await {
                Ok(_) => true,
                Err(status) => {
                    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                    false
                }
            }
        }
    })
    .await;
    assert!(acknowledged, "a replicated hold is acknowledged");
    let on_replica: Option<String> = redis::cmd("GET")
        .arg(format!("delivery:hold:{order_id}"))
        .query_async(&mut redis(&replica.url()).await)
        .await
        .unwrap();
    assert!(on_replica.is_some(), "the replica has it");
}

#[tokio::test]
async fn a_confirm_is_answered_only_once_the_hold_is_gone() {
    // A Redis user that may do everything but delete: the confirm's DEL fails after
    // the delivery is inserted, as when the connection drops at that moment.
    let server = RedisServer::start().unwrap();
    let mut admin = redis(&server.url()).await;
    let _: () = redis::cmd("ACL")
        .arg(
            &[
                "SETUSER", "nodel", "on", ">secret", "~*", "+@all", "-del", "-unlink",
            ][..],
        )
        .query_async(&mut admin)
        .await
        .unwrap();
    let limited = format!("redis://nodel:secret@127.0.0.1:{}", server.port());
    let database = PgServer::shared().fresh_database().await;
    let app = helpers::spawn_on(database, limited, |_| {}).await;
    let mut client = app.client.clone();
    let (order_id, saga_id) = (id(), id());
    client
        .hold_delivery(hold_request(&order_id, &id(), Duration::from_secs(60)))
        .await
        .unwrap();

    let refused = client
        .confirm_delivery(helpers::confirm_request(&order_id, &saga_id))
        .await
        .expect_err("the hold could not be deleted: not an answer yet");
    assert_ne!(refused.code(), Code::Ok);
    assert!(
        pttl(&server.url(), &order_id).await > 0,
        "the hold is still there"
    );

    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "nodel", "+del"][..])
        .query_async(&mut admin)
        .await
        .unwrap();
    let delivery = client
        .confirm_delivery(helpers::confirm_request(&order_id, &saga_id))
        .await
        .expect("the retry finds the delivery and deletes the hold")
        .into_inner();
    assert_eq!(delivery.order_id, order_id);
    assert_eq!(
        pttl(&server.url(), &order_id).await,
        -2,
        "no hold once confirmed"
    );
}
