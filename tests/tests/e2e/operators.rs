//! What an operator does with the saga log: list stuck sagas and put one back in the
//! recovery queue.

use std::time::Duration;

use shop_e2e::Stack;
use shop_proto::{
    common::OrderStatus,
    gateway::{ListSagasRequest, RetrySagaRequest, SagaState},
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
