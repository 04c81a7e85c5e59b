//! Faults: a service down mid-checkout, Redis losing its holds, and a gateway that
//! crashed mid-saga (its saga log says where; recovery must finish or undo it).
//! Each ends with the invariant audit.

use std::time::Duration;

use shop_e2e::{Options, Stack};
use shop_proto::{
    common::OrderStatus,
    order::{BeginPaymentRequest, ReserveStockRequest, order_service_client::OrderServiceClient},
    payment::{ChargeRequest, payment_service_client::PaymentServiceClient},
};
use shop_testkit::RedisServer;
use tonic::{Code, transport::Channel};
use uuid::Uuid;

use crate::support::{assert_error, eventually, status_of};

async fn channel(url: String) -> Channel {
    Channel::from_shared(url).unwrap().connect().await.unwrap()
}

#[tokio::test]
async fn payment_service_down_then_back() {
    let mut stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Bike", 5_000, 3).await;
    admin.top_up(user.id, 10_000).await;
    let order = user.place(&[(&product.id, 1)]).await.unwrap();

    stack
        .with_payment_down(async {
            let refused = user.pay(&order.id, "").await;
            let status = refused.expect_err("payment-svc is down");
            assert!(
                matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded),
                "{status:?}"
            );
        })
        .await;

    // Recovery finishes the compensation once payment-svc is back.
    let payable = eventually(Duration::from_secs(20), || async {
        status_of(&user.order(&order.id).await.unwrap()) == OrderStatus::PendingPayment
    })
    .await;
    assert!(payable, "the interrupted payment is undone");
    assert_eq!(user.stock_of(&product.id).await, 3, "stock released");
    assert_eq!(user.wallet().await.balance, 10_000, "nothing charged");

    let paid = user.pay(&order.id, "").await.unwrap();
    assert_eq!(status_of(&paid), OrderStatus::Paid);
    stack.audit().await;
}

#[tokio::test]
async fn redis_restart_loses_holds_and_nothing_is_charged() {
    let redis = RedisServer::start().unwrap();
    let stack = Stack::with(Options {
        redis_url: Some(redis.url()),
        ..Options::default()
    })
    .await
    .unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Tent", 2_000, 4).await;
    admin.top_up(user.id, 10_000).await;
    let order = user.place(&[(&product.id, 1)]).await.unwrap();

    redis.stop().unwrap();
    redis.start_again().unwrap();

    let refused = eventually(Duration::from_secs(10), || async {
        match user.pay(&order.id, "").await {
            Err(status) => {
                shop_common::status::reason(&status).as_deref() == Some("DELIVERY_HOLD_EXPIRED")
            }
            Ok(_) => panic!("an order whose delivery details are gone must not be paid"),
        }
    })
    .await;
    assert!(
        refused,
        "the lost hold is reported once Redis answers again"
    );
    assert_eq!(
        status_of(&user.order(&order.id).await.unwrap()),
        OrderStatus::Expired
    );
    assert_eq!(user.wallet().await.balance, 10_000);
    assert_eq!(user.stock_of(&product.id).await, 4);
    stack.audit().await;
}

/// Where a gateway crashed: the saga row it left behind (its lease already run out).
struct Crash<'a> {
    saga: Uuid,
    order: &'a str,
    user: Uuid,
    step: &'a str,
    amount: i64,
    payment: Option<Uuid>,
}

async fn crashed_saga(stack: &Stack, crash: Crash<'_>) {
    let pool = shop_common::db::connect(&stack.databases.gateway, 1)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO sagas (id, order_id, user_id, kind, state, step, phase, amount, payment_id, paid_amount, lease_until) \
         VALUES ($1, $2, $3, 'PAY', 'RUNNING', $4, 'STARTED', $5, $6, $5, now() - interval '1 second')",
    )
    .bind(crash.saga)
    .bind(Uuid::parse_str(crash.order).unwrap())
    .bind(crash.user)
    .bind(crash.step)
    .bind(crash.amount)
    .bind(crash.payment)
    .execute(&pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn recovery_undoes_a_saga_that_crashed_during_the_charge() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Camera", 3_000, 2).await;
    admin.top_up(user.id, 5_000).await;
    let order = user.place(&[(&product.id, 1)]).await.unwrap();

    // What the crashed gateway did before dying: lock, reserve, charge (its answer lost).
    let saga = Uuid::now_v7();
    let mut orders = OrderServiceClient::new(channel(stack.order.url()).await);
    let mut payments = PaymentServiceClient::new(channel(stack.payment.url()).await);
    orders
        .begin_payment(BeginPaymentRequest {
            order_id: order.id.clone(),
            saga_id: saga.to_string(),
        })
        .await
        .unwrap();
    orders
        .reserve_stock(ReserveStockRequest {
            order_id: order.id.clone(),
            saga_id: saga.to_string(),
        })
        .await
        .unwrap();
    payments
        .charge(ChargeRequest {
            order_id: order.id.clone(),
            saga_id: saga.to_string(),
            user_id: user.id.to_string(),
            amount: 3_000,
            coupon_id: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(user.wallet().await.balance, 2_000);
    crashed_saga(
        &stack,
        Crash {
            saga,
            order: &order.id,
            user: user.id,
            step: "CHARGE",
            amount: 3_000,
            payment: None,
        },
    )
    .await;

    let undone = eventually(Duration::from_secs(20), || async {
        status_of(&user.order(&order.id).await.unwrap()) == OrderStatus::PendingPayment
    })
    .await;
    assert!(
        undone,
        "recovery compensates a saga that did not pass its pivot"
    );
    assert_eq!(
        user.wallet().await.balance,
        5_000,
        "the charge whose answer was lost is refunded"
    );
    assert_eq!(user.stock_of(&product.id).await, 2);
    assert!(!user.order(&order.id).await.unwrap().last_error.is_empty());
    stack.audit().await;
}

#[tokio::test]
async fn recovery_finishes_a_saga_that_crashed_after_the_charge() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Drone", 4_000, 2).await;
    admin.top_up(user.id, 5_000).await;
    let order = user.place(&[(&product.id, 1)]).await.unwrap();

    let saga = Uuid::now_v7();
    let mut orders = OrderServiceClient::new(channel(stack.order.url()).await);
    let mut payments = PaymentServiceClient::new(channel(stack.payment.url()).await);
    orders
        .begin_payment(BeginPaymentRequest {
            order_id: order.id.clone(),
            saga_id: saga.to_string(),
        })
        .await
        .unwrap();
    orders
        .reserve_stock(ReserveStockRequest {
            order_id: order.id.clone(),
            saga_id: saga.to_string(),
        })
        .await
        .unwrap();
    let payment = payments
        .charge(ChargeRequest {
            order_id: order.id.clone(),
            saga_id: saga.to_string(),
            user_id: user.id.to_string(),
            amount: 4_000,
            coupon_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let payment_id = Uuid::parse_str(&payment.id).unwrap();
    crashed_saga(
        &stack,
        Crash {
            saga,
            order: &order.id,
            user: user.id,
            step: "DELIVER",
            amount: 4_000,
            payment: Some(payment_id),
        },
    )
    .await;

    let finished = eventually(Duration::from_secs(20), || async {
        status_of(&user.order(&order.id).await.unwrap()) == OrderStatus::Paid
    })
    .await;
    assert!(finished, "recovery drives a saga past its pivot forward");
    let paid = user.order(&order.id).await.unwrap();
    assert!(paid.delivery.is_some());
    assert_eq!(user.wallet().await.balance, 1_000);
    assert_error(
        user.pay(&order.id, "").await,
        Code::FailedPrecondition,
        "ORDER_NOT_PAYABLE",
    );
    stack.audit().await;
}
