//! Defect 4: no fencing of saga leases.
//!
//! Two real gateway binaries share one saga log: A reaches the services through fault
//! proxies, B directly. Interleaving forced here:
//! 1. A drives a saga until a call of it hangs (the proxy is a blackhole), then A is
//!    frozen (SIGSTOP) with that call outstanding.
//! 2. A's lease runs out (the test ages it, as 30 s would); B's recovery claims the
//!    saga and finishes it: forward past the pivot, backward before it.
//! 3. The proxy heals and A is thawed (SIGCONT): its call times out or completes, and
//!    A carries on from where it was.
//!
//! Before the fix A then wrote to the saga B had finished (`DELIVER DONE` after
//! `COMPLETED`, a second compensation after `COMPENSATED`). Now every write of a saga is
//! conditional on the lease's owner and epoch: A's first write fails and A stops.
//!
//! The last test forces the same takeover between steps the log does not mark.

use std::time::Duration;

use gateway::auth::Role;
use shop_e2e::{
    Options, Services, User,
    process::{GatewayProcess, gateway_env},
};
use shop_proto::{common::OrderStatus, gateway::Order};
use shop_testkit::{Fault, FaultProxy};
use sqlx::PgPool;
use uuid::Uuid;

use super::{expire_leases, order_becomes, pay_saga, pool, wait_for_step};
use crate::support::{eventually, status_of};

fn loopback() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], shop_testkit::free_port()))
}

struct TwoGateways {
    services: Services,
    /// Reaches the services through `services.faults()`.
    a: GatewayProcess,
    /// Reaches them directly.
    b: GatewayProcess,
    gateway_db: PgPool,
}

async fn two_gateways() -> TwoGateways {
    let services = Services::start(Options {
        faults: true,
        ..Options::default()
    })
    .await
    .unwrap();
    let a = GatewayProcess::spawn(&services, loopback(), loopback())
        .await
        .unwrap();
    let mut direct = services.gateway_wiring();
    direct.database_url = services.databases.gateway.clone();
    direct.urls = [
        services.order.url(),
        services.payment.url(),
        services.delivery.url(),
    ];
    let (grpc, http) = (loopback(), loopback());
    let b = GatewayProcess::spawn_with(grpc, http, &gateway_env(&direct, http))
        .await
        .unwrap();
    let gateway_db = pool(&services.databases.gateway).await;
    TwoGateways {
        services,
        a,
        b,
        gateway_db,
    }
}

/// A buyer of A's with points and an unpaid order of one unit of a new product (5 in
/// stock, named `product`): the buyer, the product's id and the order.
async fn buyer_with_order(two: &TwoGateways, product: &str) -> (User, String, Order) {
    let jwt = &two.services.jwt_secret;
    let admin = User::at(&two.a.url(), jwt, Role::Admin).await;
    let buyer = User::at(&two.a.url(), jwt, Role::User).await;
    let product = admin.create_product(product, 100, 5).await.id;
    admin.top_up(buyer.id, 1_000).await;
    let order = buyer.place(&[(&product, 1)]).await.unwrap();
    (buyer, product, order)
}

/// Every log record of a saga, in order: (seq, step, phase).
async fn records(gateway_db: &PgPool, saga: Uuid) -> Vec<(i64, String, String)> {
    sqlx::query_as("SELECT seq, step, phase FROM saga_steps WHERE saga_id = $1 ORDER BY seq")
        .bind(saga)
        .fetch_all(gateway_db)
        .await
        .unwrap()
}

async fn state_of(gateway_db: &PgPool, saga: Uuid) -> String {
    sqlx::query_scalar("SELECT state FROM sagas WHERE id = $1")
        .bind(saga)
        .fetch_one(gateway_db)
        .await
        .unwrap()
}

/// Thaws A and gives it time to act on its stale view; then the saga's log must end
/// as B left it.
async fn thaw_and_check(two: &TwoGateways, saga: Uuid, proxy: &FaultProxy) {
    let finished = records(&two.gateway_db, saga).await;
    let state = state_of(&two.gateway_db, saga).await;
    proxy.set(Fault::Pass);
    proxy.reset_connections();
    two.a.process().resume();
    // A's outstanding call ends within its per-call limit (3 s); then it writes, or
    // (fenced) stops.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let after = records(&two.gateway_db, saga).await;
    assert_eq!(
        after,
        finished,
        "the saga's log is as B finished it: A wrote nothing after being thawed\n{}",
        two.a.log_tail()
    );
    assert_eq!(state_of(&two.gateway_db, saga).await, state);
}

#[tokio::test]
async fn a_driver_frozen_past_the_pivot_does_not_write_to_a_saga_another_finished() {
    let two = two_gateways().await;
    let faults = two.services.faults();
    let (buyer, _, order) = buyer_with_order(&two, "leases").await;

    // Slow answers from payment-svc give the test time to shut delivery-svc off
    // between the charge and the delivery.
    faults.payment.set(Fault::Delay {
        up: Duration::ZERO,
        down: Duration::from_millis(1500),
    });
    let paying = tokio::spawn({
        let (buyer, id) = (buyer.clone(), order.id.clone());
        async move { buyer.pay_within(&id, Duration::from_secs(20)).await }
    });
    wait_for_step(
        &two.gateway_db,
        &order.id,
        "CHARGE",
        Duration::from_secs(10),
    )
    .await;
    faults.delivery.set(Fault::Blackhole);
    faults.payment.set(Fault::Pass);
    wait_for_step(
        &two.gateway_db,
        &order.id,
        "DELIVER",
        Duration::from_secs(10),
    )
    .await;
    two.a.process().pause();

    let (saga, ..) = pay_saga(&two.gateway_db, &order.id).await.unwrap();
    expire_leases(&two.gateway_db, &order.id).await;
    let done = eventually(Duration::from_secs(20), || async {
        state_of(&two.gateway_db, saga).await == "COMPLETED"
    })
    .await;
    assert!(
        done,
        "B's recovery completed the saga:\n{}",
        two.b.log_tail()
    );

    thaw_and_check(&two, saga, &faults.delivery).await;
    let _ = paying.await;
    let order_db = pool(&two.services.databases.order).await;
    assert!(order_becomes(&order_db, &order.id, "PAID", Duration::from_secs(1)).await);
    two.services.audit().await;
}

#[tokio::test]
async fn a_driver_frozen_before_the_pivot_does_not_undo_a_saga_another_finished() {
    let two = two_gateways().await;
    let faults = two.services.faults();
    let (buyer, _, order) = buyer_with_order(&two, "leases").await;

    faults.payment.set(Fault::Blackhole);
    let paying = tokio::spawn({
        let (buyer, id) = (buyer.clone(), order.id.clone());
        async move { buyer.pay_within(&id, Duration::from_secs(20)).await }
    });
    wait_for_step(
        &two.gateway_db,
        &order.id,
        "CHARGE",
        Duration::from_secs(10),
    )
    .await;
    two.a.process().pause();

    // B undoes the interrupted payment, and the buyer pays again through B.
    let (saga, ..) = pay_saga(&two.gateway_db, &order.id).await.unwrap();
    expire_leases(&two.gateway_db, &order.id).await;
    let undone = eventually(Duration::from_secs(20), || async {
        state_of(&two.gateway_db, saga).await == "COMPENSATED"
    })
    .await;
    assert!(undone, "B's recovery undid the saga:\n{}", two.b.log_tail());
    let buyer_b = buyer.reconnect(&two.b.url()).await;
    let paid = buyer_b.pay(&order.id, "").await.unwrap();
    assert_eq!(status_of(&paid), OrderStatus::Paid);

    thaw_and_check(&two, saga, &faults.payment).await;
    let _ = paying.await;
    let order_db = pool(&two.services.databases.order).await;
    assert!(
        order_becomes(&order_db, &order.id, "PAID", Duration::from_secs(1)).await,
        "the order paid through B stays paid"
    );
    two.services.audit().await;
}

/// The log marks no step before the pivot's (Charge STARTED): a saga whose driver
/// stopped after ReserveStock but before that mark reads LOCK in the log. Interleaving
/// forced here: order-svc's answers to A are slowed (1.5 s), so A's ReserveStock has
/// committed while A still waits for its answer; then A is frozen and its lease aged.
/// B's recovery must undo the reserve it cannot see in the log, as well as the lock.
#[tokio::test]
async fn recovery_undoes_the_steps_the_log_does_not_mark() {
    let two = two_gateways().await;
    let faults = two.services.faults();
    let (buyer, product, order) = buyer_with_order(&two, "unmarked").await;
    let order_db = pool(&two.services.databases.order).await;
    let order_uuid = Uuid::parse_str(&order.id).unwrap();

    faults.order.set(Fault::Delay {
        up: Duration::ZERO,
        down: Duration::from_millis(1500),
    });
    let paying = tokio::spawn({
        let (buyer, id) = (buyer.clone(), order.id.clone());
        async move { buyer.pay_within(&id, Duration::from_secs(20)).await }
    });
    let reservation = |state: &'static str| {
        let order_db = order_db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM stock_reservations WHERE order_id = $1 AND state = $2",
            )
            .bind(order_uuid)
            .bind(state)
            .fetch_one(&order_db)
            .await
            .unwrap()
                == 1
        }
    };
    assert!(
        eventually(Duration::from_secs(10), || reservation("RESERVED")).await,
        "A's ReserveStock committed"
    );
    two.a.process().pause();
    let (saga, state, step, _) = pay_saga(&two.gateway_db, &order.id).await.unwrap();
    assert_eq!(
        (state.as_str(), step.as_str()),
        ("RUNNING", "LOCK"),
        "the log has only the saga's intent"
    );

    expire_leases(&two.gateway_db, &order.id).await;
    let undone = eventually(Duration::from_secs(20), || async {
        state_of(&two.gateway_db, saga).await == "COMPENSATED"
    })
    .await;
    assert!(undone, "B's recovery undid the saga:\n{}", two.b.log_tail());
    assert!(reservation("RELEASED").await, "the reserve was undone");
    let stock: i32 = sqlx::query_scalar("SELECT stock FROM products WHERE id = $1")
        .bind(Uuid::parse_str(&product).unwrap())
        .fetch_one(&order_db)
        .await
        .unwrap();
    assert_eq!(stock, 5, "the unit is back in stock");
    assert!(
        order_becomes(
            &order_db,
            &order.id,
            "PENDING_PAYMENT",
            Duration::from_secs(1)
        )
        .await
    );

    thaw_and_check(&two, saga, &faults.order).await;
    let _ = paying.await;
    let payment_db = pool(&two.services.databases.payment).await;
    let charged: i64 = sqlx::query_scalar("SELECT count(*) FROM payments WHERE order_id = $1")
        .bind(order_uuid)
        .fetch_one(&payment_db)
        .await
        .unwrap();
    assert_eq!(charged, 0, "A, fenced off, charged nothing");
    two.services.audit().await;
}
