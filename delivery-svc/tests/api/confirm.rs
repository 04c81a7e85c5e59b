//! ConfirmDelivery: hold -> delivery -> hold deleted, idempotent, crash-safe, and no
//! delivery info in Postgres before payment.

use std::time::Duration;

use chrono::Utc;
use shop_common::time;
use shop_proto::{
    common::DeliveryStatus,
    delivery::{ExtendHoldRequest, GetDeliveryRequest, GetHoldRequest},
};
use tonic::Code;

use crate::helpers::{self, assert_error, confirm_request, count, hold_request, id};

const CREATED_EVENTS: &str =
    "SELECT count(*) FROM delivery_events WHERE order_id = $1 AND kind = 'DELIVERY_CREATED'";

#[tokio::test]
async fn extend_then_confirm_creates_a_preparing_delivery_and_removes_the_hold() {
    let mut app = helpers::spawn().await;
    let (order_id, user_id) = (id(), id());
    let hold = app
        .client
        .hold_delivery(hold_request(&order_id, &user_id, Duration::from_secs(60)))
        .await
        .unwrap()
        .into_inner();
    let extend = ExtendHoldRequest {
        order_id: order_id.clone(),
        until: Some(time::to_timestamp(
            Utc::now() + chrono::Duration::minutes(5),
        )),
    };
    app.client.extend_hold(extend.clone()).await.unwrap();

    let delivery = app
        .client
        .confirm_delivery(confirm_request(&order_id, &id()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(delivery.order_id, order_id);
    assert_eq!(delivery.user_id, user_id);
    assert_eq!(delivery.status(), DeliveryStatus::Preparing);
    assert_eq!(delivery.info, hold.info);
    let created = time::from_timestamp(delivery.created_at.as_ref().unwrap()).unwrap();
    let due = time::from_timestamp(delivery.receive_due_at.as_ref().unwrap()).unwrap();
    assert_eq!((due - created).num_hours(), 24);

    let err = app
        .client
        .get_hold(GetHoldRequest {
            order_id: order_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::NotFound,
        "the hold must be gone after confirm"
    );
    // A retried saga extends the hold again: the delivery answers for it.
    app.client.extend_hold(extend).await.unwrap();
    let read = app
        .client
        .get_delivery(GetDeliveryRequest {
            order_id: order_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.id, delivery.id);
    assert_eq!(count(&app.pool, CREATED_EVENTS, &order_id).await, 1);
}

#[tokio::test]
async fn confirm_is_idempotent_even_when_calls_race() {
    let mut app = helpers::spawn().await;
    let order_id = id();
    let saga_id = id();
    app.client
        .hold_delivery(hold_request(&order_id, &id(), Duration::from_secs(60)))
        .await
        .unwrap();
    let calls = (0..6).map(|_| {
        let mut client = app.client.clone();
        let request = confirm_request(&order_id, &saga_id);
        tokio::spawn(async move { client.confirm_delivery(request).await })
    });
    let mut ids = Vec::new();
    for call in calls {
        ids.push(call.await.unwrap().unwrap().into_inner().id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every confirm must return the same delivery");
    let again = app
        .client
        .confirm_delivery(confirm_request(&order_id, &saga_id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.id, ids[0]);
    assert_eq!(count(&app.pool, CREATED_EVENTS, &order_id).await, 1);
    assert_eq!(
        count(
            &app.pool,
            "SELECT count(*) FROM deliveries WHERE order_id = $1",
            &order_id
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_crash_between_insert_and_hold_delete_is_finished_by_the_retry() {
    let mut app = helpers::spawn().await;
    let (order_id, user_id, saga_id) = (id(), id(), id());
    let hold = || hold_request(&order_id, &user_id, Duration::from_secs(60));
    app.client.hold_delivery(hold()).await.unwrap();
    let first = app
        .client
        .confirm_delivery(confirm_request(&order_id, &saga_id))
        .await
        .unwrap()
        .into_inner();
    // As if the process died after the insert committed but before the hold delete.
    app.client.hold_delivery(hold()).await.unwrap();

    let retried = app
        .client
        .confirm_delivery(confirm_request(&order_id, &saga_id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retried.id, first.id);
    let err = app
        .client
        .get_hold(GetHoldRequest {
            order_id: order_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::NotFound,
        "the retry must remove the leftover hold"
    );
    assert_eq!(count(&app.pool, CREATED_EVENTS, &order_id).await, 1);
}

#[tokio::test]
async fn confirm_without_a_hold_is_hold_expired_and_creates_nothing() {
    let mut app = helpers::spawn().await;
    let order_id = id();
    let err = app
        .client
        .confirm_delivery(confirm_request(&order_id, &id()))
        .await
        .unwrap_err();
    assert_error(&err, Code::FailedPrecondition, "DELIVERY_HOLD_EXPIRED");
    assert_eq!(
        count(
            &app.pool,
            "SELECT count(*) FROM deliveries WHERE order_id = $1",
            &order_id
        )
        .await,
        0
    );
    let err = app
        .client
        .confirm_delivery(confirm_request("nope", ""))
        .await
        .unwrap_err();
    assert_error(&err, Code::InvalidArgument, "VALIDATION_FAILED");
}

#[tokio::test]
async fn an_unpaid_orders_address_and_contact_never_reach_postgres() {
    let mut app = helpers::spawn().await;
    let order_id = id();
    let mut request = hold_request(&order_id, &id(), Duration::from_secs(60));
    let info = request.info.as_mut().unwrap();
    info.address = format!("비밀의 주소 {order_id}");
    info.contact = "+82 10 9876 5432".into();
    app.client.hold_delivery(request).await.unwrap();
    app.client
        .extend_hold(ExtendHoldRequest {
            order_id: order_id.clone(),
            until: Some(time::to_timestamp(
                Utc::now() + chrono::Duration::minutes(5),
            )),
        })
        .await
        .unwrap();

    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(tables.contains(&"deliveries".to_string()));
    for table in tables {
        let sql = format!(
            r#"SELECT count(*) FROM "{table}" t WHERE t::text LIKE '%' || $1 || '%' OR t::text LIKE '%9876 5432%'"#
        );
        let found: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(&order_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(found, 0, "table {table} holds an unpaid order's data");
    }
}
