//! Defect 5: a poison event stopped every automatic receipt.
//!
//! Interleaving forced here, with two gateways on one saga log and one event offset
//! (A through fault proxies, B directly) and receipts due 1 s after delivery:
//! 1. A's saga for order 1 charges and creates the delivery, then order-svc goes
//!    silent for A (its proxy is a blackhole), so order 1 stays PAYMENT_IN_PROGRESS
//!    while A retries MarkPaid.
//! 2. Order 1's delivery is received automatically; B's consumer gets the event and
//!    order-svc refuses MarkReceived (the order is not PAID).
//! 3. Order 2 is bought through B, paid, and received automatically after order 1.
//!
//! Before the fix the consumer re-read order 1's event forever and order 2 was never
//! marked RECEIVED while order 1 was stuck. Now the event is retried a bounded number of
//! times, parked with its reason (listed by AdminService.ListParkedEvents), and the
//! stream moves on; the parked event is applied once order 1 is paid.

use std::time::Duration;

use gateway::auth::Role;
use shop_e2e::{
    Options, Services, User,
    process::{GatewayProcess, gateway_env},
};
use shop_proto::common::OrderStatus;
use shop_testkit::Fault;

use super::{order_becomes, order_status, pool, wait_for_step};
use crate::support::status_of;

fn loopback() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], shop_testkit::free_port()))
}

#[tokio::test]
async fn an_event_that_cannot_be_applied_is_parked_and_the_stream_moves_on() {
    let services = Services::start(Options {
        faults: true,
        auto_receive_after: Duration::from_secs(1),
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
    let faults = services.faults();
    let (gateway_db, order_db) = (
        pool(&services.databases.gateway).await,
        pool(&services.databases.order).await,
    );
    let jwt = &services.jwt_secret;
    let admin = User::at(&b.url(), jwt, Role::Admin).await;
    let product = admin.create_product("receipts", 100, 5).await.id;
    let first = User::at(&a.url(), jwt, Role::User).await;
    let second = User::at(&b.url(), jwt, Role::User).await;
    admin.top_up(first.id, 1_000).await;
    admin.top_up(second.id, 1_000).await;

    let order1 = first.place(&[(&product, 1)]).await.unwrap();
    faults.payment.set(Fault::Delay {
        up: Duration::ZERO,
        down: Duration::from_millis(1500),
    });
    let paying = tokio::spawn({
        let (first, id) = (first.clone(), order1.id.clone());
        // A keeps retrying MarkPaid for as long as this budget lasts; once it defers,
        // B's recovery would pay order 1 (direct) before the test has seen it parked.
        async move { first.pay_within(&id, Duration::from_secs(60)).await }
    });
    wait_for_step(&gateway_db, &order1.id, "CHARGE", Duration::from_secs(10)).await;
    faults.order.set(Fault::Blackhole);
    faults.payment.set(Fault::Pass);
    // The saga's FINISH is not written before it runs: its delivery shows it got there.
    let delivery_db = pool(&services.databases.delivery).await;
    let delivered = crate::support::eventually(Duration::from_secs(10), || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM deliveries WHERE order_id = $1")
            .bind(uuid::Uuid::parse_str(&order1.id).unwrap())
            .fetch_one(&delivery_db)
            .await
            .unwrap()
            == 1
    })
    .await;
    assert!(delivered, "order 1's delivery was created");

    let order2 = second.checkout(&[(&product, 1)], "").await.unwrap();
    assert_eq!(status_of(&order2), OrderStatus::Paid);
    assert!(
        order_becomes(&order_db, &order2.id, "RECEIVED", Duration::from_secs(15)).await,
        "order 2's receipt is applied although order 1's event cannot be:\n{}",
        b.log_tail()
    );
    assert_eq!(
        order_status(&order_db, &order1.id).await,
        "PAYMENT_IN_PROGRESS",
        "order 1 was still unpaid meanwhile"
    );
    let parked = admin
        .admin
        .clone()
        .list_parked_events(shop_proto::gateway::ListParkedEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .events;
    assert!(
        parked
            .iter()
            .any(|e| e.order_id == order1.id && !e.reason.is_empty()),
        "order 1's event is parked with its reason: {parked:?}"
    );

    faults.order.set(Fault::Pass);
    faults.order.reset_connections();
    let _ = paying.await;
    assert!(
        order_becomes(&order_db, &order1.id, "RECEIVED", Duration::from_secs(60)).await,
        "the parked event is applied once order 1 is paid:\n{}",
        b.log_tail()
    );
    services.audit().await;
}
