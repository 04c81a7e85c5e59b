//! delivery-svc unreachable after the charge (the pivot): the saga must wait, not
//! compensate, and not leave a charge without a delivery. A lock on the buyer's wallet
//! row holds the real saga inside Charge while delivery-svc is stopped, so the
//! hold was extended before and ConfirmDelivery finds delivery-svc gone, with no hook
//! in the gateway. When delivery-svc is back recovery finishes the saga to PAID; when
//! the hold was lost meanwhile (Redis restarted empty) the order ends FAILED with the
//! points refunded and the stock put back.

use std::time::Duration;

use shop_e2e::{Options, Stack, User};
use shop_proto::{common::OrderStatus, gateway::Order};
use shop_testkit::RedisServer;
use sqlx::PgPool;
use tonic::{Code, Status};
use uuid::Uuid;

use crate::support::{eventually, status_of};

/// The pay saga's row: (state, step).
async fn saga_of(gateway: &PgPool, order_id: &str) -> (String, String) {
    sqlx::query_as("SELECT state, step FROM sagas WHERE order_id = $1 AND kind = 'PAY'")
        .bind(Uuid::parse_str(order_id).unwrap())
        .fetch_one(gateway)
        .await
        .unwrap()
}

async fn order_status(order: &PgPool, order_id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
        .bind(Uuid::parse_str(order_id).unwrap())
        .fetch_one(order)
        .await
        .unwrap()
}

/// Pays `order` and stops delivery-svc while the saga is inside Charge; returns the
/// answer the buyer got once the charge went through.
async fn pay_while_delivery_stops(
    stack: &mut Stack,
    user: &User,
    order: &Order,
) -> Result<Order, Status> {
    let payment = shop_common::db::connect(&stack.databases.payment, 2)
        .await
        .unwrap();
    let mut lock = payment.begin().await.unwrap();
    sqlx::query("SELECT balance FROM wallets WHERE user_id = $1 FOR UPDATE")
        .bind(user.id)
        .fetch_one(&mut *lock)
        .await
        .unwrap();

    // No client deadline: the gateway spends its default budget (10 s) retrying
    // ConfirmDelivery, then answers and hands the saga to recovery. (With a client
    // deadline equal to the gateway's budget the answer can come too late, and a
    // cancelled request leaves its saga to recovery only when its lease runs out.)
    let paying = tokio::spawn({
        let (user, order_id) = (user.clone(), order.id.clone());
        async move { user.pay(&order_id, "").await }
    });

    let waiting = eventually(Duration::from_secs(10), || async {
        let waiters: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&payment)
        .await
        .unwrap();
        waiters > 0
    })
    .await;
    assert!(waiting, "the charge waits for the wallet row");
    stack.stop_delivery().await;
    lock.rollback().await.unwrap();

    tokio::time::timeout(Duration::from_secs(15), paying)
        .await
        .expect("the buyer gets an answer within the gateway's budget")
        .unwrap()
}

/// What must hold while delivery-svc is down after the charge.
async fn charged_and_waiting(stack: &Stack, order: &Order, answer: &Result<Order, Status>) {
    match answer {
        Ok(order) => assert_eq!(status_of(order), OrderStatus::PaymentInProgress),
        Err(status) => assert!(
            matches!(status.code(), Code::DeadlineExceeded | Code::Unavailable),
            "{status:?}"
        ),
    }
    let gateway = shop_common::db::connect(&stack.databases.gateway, 1)
        .await
        .unwrap();
    let orders = shop_common::db::connect(&stack.databases.order, 1)
        .await
        .unwrap();
    // Recovery keeps trying (each attempt spends its budget retrying ConfirmDelivery);
    // meanwhile nothing may move backwards.
    for _ in 0..2 {
        let (state, step) = saga_of(&gateway, &order.id).await;
        assert_eq!(
            (state.as_str(), step.as_str()),
            ("RUNNING", "DELIVER"),
            "past the pivot the saga waits for delivery-svc"
        );
        assert_eq!(
            order_status(&orders, &order.id).await,
            "PAYMENT_IN_PROGRESS"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_down_after_the_charge_then_back_finishes_paid() {
    let mut stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Kayak", 6_000, 2).await;
    admin.top_up(user.id, 10_000).await;
    let order = user.place(&[(&product.id, 1)]).await.unwrap();

    let answer = pay_while_delivery_stops(&mut stack, &user, &order).await;
    charged_and_waiting(&stack, &order, &answer).await;
    assert_eq!(user.wallet().await.balance, 4_000, "charged once");
    assert_eq!(user.stock_of(&product.id).await, 1, "stock reserved");

    stack.restart_delivery().await;
    let paid = eventually(Duration::from_secs(30), || async {
        status_of(&user.order(&order.id).await.unwrap()) == OrderStatus::Paid
    })
    .await;
    assert!(paid, "recovery finishes the saga once delivery-svc is back");
    let order = user.order(&order.id).await.unwrap();
    assert!(order.delivery.is_some(), "{order:?}");
    assert_eq!(user.wallet().await.balance, 4_000);
    assert_eq!(user.stock_of(&product.id).await, 1);
    stack.audit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_down_after_the_charge_and_hold_lost_fails_with_refund() {
    let redis = RedisServer::start().unwrap();
    let mut stack = Stack::with(Options {
        redis_url: Some(redis.url()),
        ..Options::default()
    })
    .await
    .unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Canoe", 7_000, 2).await;
    admin.top_up(user.id, 10_000).await;
    let order = user.place(&[(&product.id, 1)]).await.unwrap();

    let answer = pay_while_delivery_stops(&mut stack, &user, &order).await;
    charged_and_waiting(&stack, &order, &answer).await;
    assert_eq!(user.wallet().await.balance, 3_000);

    // Redis loses every hold while delivery-svc is away.
    tokio::task::block_in_place(|| {
        redis.stop().unwrap();
        redis.start_again().unwrap();
    });
    stack.restart_delivery().await;
    let failed = eventually(Duration::from_secs(30), || async {
        status_of(&user.order(&order.id).await.unwrap()) == OrderStatus::Failed
    })
    .await;
    assert!(failed, "a charge whose delivery details are gone is undone");
    let order = user.order(&order.id).await.unwrap();
    assert!(!order.last_error.is_empty());
    assert_eq!(user.wallet().await.balance, 10_000, "refunded");
    assert_eq!(user.stock_of(&product.id).await, 2, "restocked");
    stack.audit().await;
}
