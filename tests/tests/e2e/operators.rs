//! What an operator does with the saga log: list stuck sagas and put one back in the
//! recovery queue.

use std::time::Duration;

use shop_e2e::Stack;
use shop_proto::{
    common::OrderStatus,
    gateway::{AdjustStockRequest, ListSagasRequest, RetrySagaRequest, SagaState},
};
use tonic::Code;
use uuid::Uuid;

use crate::support::{eventually, status_of};

#[tokio::test]
async fn a_stuck_saga_is_listed_and_retried_to_an_end() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Clock", 700, 3).await;
    let order = user.place(&[(&product.id, 1)]).await.unwrap();

    // A saga an earlier run gave up on, before it locked the order.
    let saga = Uuid::now_v7();
    let pool = shop_common::db::connect(&stack.databases.gateway, 1)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO sagas (id, order_id, user_id, kind, state, step, phase, last_error, lease_until) \
         VALUES ($1, $2, $3, 'PAY', 'STUCK', 'LOCK', 'STARTED', 'order-svc unreachable', now())",
    )
    .bind(saga)
    .bind(Uuid::parse_str(&order.id).unwrap())
    .bind(user.id)
    .execute(&pool)
    .await
    .unwrap();

    let mut ops = admin.admin.clone();
    let stuck = ops
        .list_sagas(ListSagasRequest {
            state: SagaState::Stuck as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .sagas;
    assert_eq!(stuck.len(), 1);
    assert_eq!(stuck[0].id, saga.to_string());
    assert_eq!(stuck[0].last_error, "order-svc unreachable");

    let denied = user
        .admin
        .clone()
        .list_sagas(ListSagasRequest::default())
        .await;
    assert_eq!(denied.unwrap_err().code(), Code::PermissionDenied);

    let retried = ops
        .retry_saga(RetrySagaRequest {
            saga_id: saga.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retried.state(), SagaState::Running);
    let ended = eventually(Duration::from_secs(15), || async {
        let sagas = ops
            .clone()
            .list_sagas(ListSagasRequest {
                state: SagaState::Compensated as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .sagas;
        sagas.iter().any(|s| s.id == saga.to_string())
    })
    .await;
    assert!(ended, "recovery ends the retried saga");
    assert_eq!(
        status_of(&user.order(&order.id).await.unwrap()),
        OrderStatus::PendingPayment
    );

    let again = ops
        .retry_saga(RetrySagaRequest {
            saga_id: saga.to_string(),
        })
        .await;
    assert_eq!(
        again.unwrap_err().code(),
        Code::FailedPrecondition,
        "only a STUCK saga can be retried"
    );
    let unknown = ops
        .retry_saga(RetrySagaRequest {
            saga_id: Uuid::now_v7().to_string(),
        })
        .await;
    assert_eq!(unknown.unwrap_err().code(), Code::NotFound);
    stack.audit().await;
}

#[tokio::test]
async fn keyed_admin_writes_count_once_over_both_faces() {
    let stack = Stack::start().await.unwrap();
    let admin = stack.admin().await;
    let rest = stack.rest(&admin);
    let json = [
        ("content-type", "application/json"),
        ("idempotency-key", "new-lamp"),
    ];
    let body = r#"{"name":"Lamp","price":"900","stock":2}"#;
    let (status, first) = rest
        .send(
            reqwest::Method::POST,
            "/v1/admin/products",
            Some(body.into()),
            &json,
        )
        .await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = rest
        .send(
            reqwest::Method::POST,
            "/v1/admin/products",
            Some(body.into()),
            &json,
        )
        .await;
    assert!(status == 200 || status == 201, "{again}");
    assert_eq!(again["id"], first["id"], "one lamp, whatever the retries");
    let product_id = first["id"].as_str().unwrap().to_owned();

    // A restock sent twice with its key (a retry after a lost answer) adds once.
    let restock = |key: &'static str, delta: i32| {
        let mut ops = admin.admin.clone();
        let mut request = tonic::Request::new(AdjustStockRequest {
            product_id: product_id.clone(),
            delta,
        });
        request
            .metadata_mut()
            .insert("idempotency-key", key.parse().unwrap());
        async move { ops.adjust_stock(request).await }
    };
    assert_eq!(restock("restock-1", 5).await.unwrap().into_inner().stock, 7);
    assert_eq!(restock("restock-1", 5).await.unwrap().into_inner().stock, 7);
    let reused = restock("restock-1", 6).await.unwrap_err();
    assert_eq!(reused.code(), Code::FailedPrecondition, "{reused:?}");
    assert_eq!(
        shop_common::status::reason(&reused).as_deref(),
        Some("IDEMPOTENCY_KEY_REUSED")
    );
    // Another admin's key of the same name is another request.
    let other_admin = stack.admin().await;
    let mut ops = other_admin.admin.clone();
    let mut request = tonic::Request::new(AdjustStockRequest {
        product_id: product_id.clone(),
        delta: 1,
    });
    request
        .metadata_mut()
        .insert("idempotency-key", "restock-1".parse().unwrap());
    assert_eq!(
        ops.adjust_stock(request).await.unwrap().into_inner().stock,
        8
    );
    assert_eq!(admin.stock_of(&product_id).await, 8);
    stack.audit().await;
}
