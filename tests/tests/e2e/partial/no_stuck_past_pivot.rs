//! Defect 3: charged sagas went STUCK after a ~2 minute outage, and lost their hold.
//!
//! Forced here: delivery-svc's database is unreachable (its proxy refuses) after the
//! charge, so every ConfirmDelivery is UNAVAILABLE while ExtendHold (Redis only) still
//! works.
//! - `many_attempts`: the saga's attempt count is set as a long outage would leave it
//!   (50). Before the fix, the next recovery claim marked it STUCK ("gave up after 10
//!   attempts") and the charged order waited for an operator; now past the pivot
//!   there is no limit by count and it completes once the database is back.
//! - `hold`: the hold's remaining TTL is cut to 4 s, as a long outage would leave it.
//!   Before the fix recovery retried ConfirmDelivery without touching the hold, which
//!   expired, so the charge was refunded and the order FAILED; now each retry first
//!   extends the hold.

use std::time::Duration;

use gateway::auth::Role;
use shop_e2e::{Options, Services, Stack, User, process::GatewayProcess};
use shop_proto::common::OrderStatus;
use shop_testkit::Fault;

use super::{expire_leases, hold_key, order_becomes, pay_saga, pool, redis, shop};
use crate::support::{eventually, status_of};

fn loopback() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], shop_testkit::free_port()))
}

async fn stack() -> Stack {
    Stack::with(Options {
        faults: true,
        ..Options::default()
    })
    .await
    .unwrap()
}

/// The gateway is the real binary here: it is killed while recovery may be driving
/// the saga, so that the attempt count set by the test is the one the next claim sees.
#[tokio::test]
async fn many_attempts_past_the_pivot_do_not_make_a_saga_stuck() {
    let services = Services::start(Options {
        faults: true,
        ..Options::default()
    })
    .await
    .unwrap();
    let (grpc, http) = (loopback(), loopback());
    let gateway = GatewayProcess::spawn(&services, grpc, http).await.unwrap();
    let admin = User::at(&gateway.url(), &services.jwt_secret, Role::Admin).await;
    let buyer = User::at(&gateway.url(), &services.jwt_secret, Role::User).await;
    let product = admin.create_product("partial", 100, 5).await.id;
    admin.top_up(buyer.id, 10_000).await;
    let order = buyer.place(&[(&product, 1)]).await.unwrap();
    let (gateway_db, order_db) = (
        pool(&services.databases.gateway).await,
        pool(&services.databases.order).await,
    );
    services.faults().delivery_db.set(Fault::Refuse);

    let answer = buyer
        .pay_within(&order.id, Duration::from_secs(4))
        .await
        .unwrap();
    assert_eq!(status_of(&answer), OrderStatus::PaymentInProgress);
    let mut gateway = gateway;
    gateway.kill();
    drop(gateway);
    let (saga, ..) = pay_saga(&gateway_db, &order.id).await.unwrap();
    sqlx::query("UPDATE sagas SET attempts = 50, lease_until = now() WHERE id = $1")
        .bind(saga)
        .execute(&gateway_db)
        .await
        .unwrap();
    let gateway = GatewayProcess::spawn(&services, grpc, http).await.unwrap();

    let retried = eventually(Duration::from_secs(20), || async {
        let (attempts, state): (i32, String) =
            sqlx::query_as("SELECT attempts, state FROM sagas WHERE id = $1")
                .bind(saga)
                .fetch_one(&gateway_db)
                .await
                .unwrap();
        attempts > 50 || state != "RUNNING"
    })
    .await;
    assert!(
        retried,
        "recovery claimed the saga again:\n{}",
        gateway.log_tail()
    );
    let state: String = sqlx::query_scalar("SELECT state FROM sagas WHERE id = $1")
        .bind(saga)
        .fetch_one(&gateway_db)
        .await
        .unwrap();
    assert_eq!(
        state, "RUNNING",
        "a charged saga is not STUCK by a count of attempts"
    );

    services.faults().delivery_db.set(Fault::Pass);
    expire_leases(&gateway_db, &order.id).await;
    assert!(
        order_becomes(&order_db, &order.id, "PAID", Duration::from_secs(30)).await,
        "the saga completes once delivery-svc's database is back:\n{}",
        gateway.log_tail()
    );
    services.audit().await;
}

#[tokio::test]
async fn recovery_keeps_the_hold_alive_while_it_retries_the_delivery() {
    let stack = stack().await;
    let (buyer, product) = shop(&stack, 5).await;
    let order = buyer.place(&[(&product, 1)]).await.unwrap();
    let order_db = pool(&stack.databases.order).await;
    stack.faults().delivery_db.set(Fault::Refuse);

    let answer = buyer
        .pay_within(&order.id, Duration::from_secs(4))
        .await
        .unwrap();
    assert_eq!(status_of(&answer), OrderStatus::PaymentInProgress);
    let mut redis = redis(&stack).await;
    let cut: i64 = redis::cmd("PEXPIRE")
        .arg(hold_key(&order.id))
        .arg(4000)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(cut, 1, "the hold is there until the delivery exists");

    // Longer than the hold had left: only a retry that extends it keeps it.
    tokio::time::sleep(Duration::from_secs(7)).await;
    stack.faults().delivery_db.set(Fault::Pass);
    let gateway_db = pool(&stack.databases.gateway).await;
    expire_leases(&gateway_db, &order.id).await;
    let ended = eventually(Duration::from_secs(30), || async {
        let status = super::order_status(&order_db, &order.id).await;
        status != "PAYMENT_IN_PROGRESS"
    })
    .await;
    assert!(ended, "the saga ends once the database is back");
    assert_eq!(
        super::order_status(&order_db, &order.id).await,
        "PAID",
        "the hold outlived the outage, so the purchase went through"
    );
    stack.audit().await;
}
