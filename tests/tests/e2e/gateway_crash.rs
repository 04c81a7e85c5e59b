//! The real `gateway` binary killed with SIGKILL while checkouts run, then started
//! again on the same database and ports: its recovery worker must finish (past the
//! pivot) or undo (before it) every saga the dead process left, and a client that
//! retries with its idempotency key must end with exactly one paid order.
//!
//! The binary is built on first use (`cargo build -p gateway --bin gateway`, see
//! `GatewayProcess::binary`), or taken from `SHOP_GATEWAY_BIN`.

use std::{net::SocketAddr, time::Duration};

use gateway::auth::Role;
use shop_e2e::{Options, Services, User, process::GatewayProcess};
use shop_proto::{common::OrderStatus, gateway::Order};
use sqlx::PgPool;
use tonic::Status;
use uuid::Uuid;

use crate::support::status_of;

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], shop_testkit::free_port()))
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// When to kill the gateway: once this round made `sagas` sagas, of which
/// `past_pivot` got past the charge, and some saga is still running.
#[derive(Clone, Copy)]
struct KillAt {
    sagas: i64,
    past_pivot: i64,
}

/// One crash: `buyers` check out at once (each with its own key), the gateway is
/// killed as `kill` says, and a new one is started. With `age_leases`
/// the dead process's leases (sagas and idempotency keys, 30 s) are aged at once
/// instead of waited for. Returns the new gateway and each buyer's first answer.
async fn crash_round(
    services: &Services,
    gateway: GatewayProcess,
    buyers: &[User],
    product_id: &str,
    kill: KillAt,
    age_leases: bool,
) -> (GatewayProcess, Vec<Result<Order, Status>>) {
    let mut gateway = gateway;
    let db = shop_common::db::connect(&services.databases.gateway, 2)
        .await
        .unwrap();
    let before = count(&db, "SELECT count(*) FROM sagas").await;
    let before_past = count(
        &db,
        "SELECT count(*) FROM sagas WHERE state = 'COMPLETED' OR step IN ('DELIVER', 'FINISH')",
    )
    .await;
    let checkouts: Vec<_> = buyers
        .iter()
        .map(|buyer| {
            let (buyer, product_id) = (buyer.clone(), product_id.to_owned());
            tokio::spawn(async move {
                let key = format!("checkout-{}", buyer.id);
                buyer.checkout_with_key(&[(&product_id, 1)], &key).await
            })
        })
        .collect();

    // Kill it mid-saga: once enough sagas exist (and passed the pivot), some running.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (sagas, past_pivot, running): (i64, i64, i64) = sqlx::query_as(
            "SELECT count(*), \
                    count(*) FILTER (WHERE state = 'COMPLETED' OR step IN ('DELIVER', 'FINISH')), \
                    count(*) FILTER (WHERE state IN ('RUNNING', 'COMPENSATING')) \
             FROM sagas",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        if sagas - before >= kill.sagas
            && past_pivot - before_past >= kill.past_pivot
            && running > 0
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "checkouts did not get under way ({sagas} sagas, {past_pivot} past the pivot):\n{}",
            gateway.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    gateway.kill();
    let (grpc, http) = (gateway.grpc, gateway.http);
    drop(gateway);

    let mut answers = Vec::new();
    for checkout in checkouts {
        let answer = tokio::time::timeout(Duration::from_secs(30), checkout)
            .await
            .expect("a killed gateway's callers get an answer")
            .unwrap();
        answers.push(answer);
    }
    let open = count(
        &db,
        "SELECT count(*) FROM sagas WHERE state IN ('RUNNING', 'COMPENSATING')",
    )
    .await;
    assert!(open > 0, "the kill landed mid-saga");
    if age_leases {
        sqlx::query(
            "UPDATE sagas SET lease_until = now() WHERE state IN ('RUNNING', 'COMPENSATING')",
        )
        .execute(&db)
        .await
        .unwrap();
        sqlx::query("UPDATE idempotency_keys SET locked_until = now() WHERE state = 'IN_PROGRESS'")
            .execute(&db)
            .await
            .unwrap();
    }

    let gateway = GatewayProcess::spawn(services, grpc, http).await.unwrap();
    // Recovery claims sagas once their lease ran out (30 s when not aged).
    let patience = if age_leases { 30 } else { 90 };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(patience);
    loop {
        let open = count(
            &db,
            "SELECT count(*) FROM sagas WHERE state IN ('RUNNING', 'COMPENSATING')",
        )
        .await;
        if open == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{open} saga(s) still open {patience} s after the restart:\n{}",
            gateway.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stuck = count(&db, "SELECT count(*) FROM sagas WHERE state = 'STUCK'").await;
    assert_eq!(
        stuck,
        0,
        "no saga needs an operator:\n{}",
        gateway.log_tail()
    );
    (gateway, answers)
}

/// Every order is PAID, or not paid and then neither charged nor holding stock (the
/// audit checks the charges and reservations of each).
async fn orders_settled(services: &Services) {
    let orders = shop_common::db::connect(&services.databases.order, 1)
        .await
        .unwrap();
    let statuses: Vec<(Uuid, String)> = sqlx::query_as("SELECT id, status FROM orders")
        .fetch_all(&orders)
        .await
        .unwrap();
    for (id, status) in &statuses {
        assert!(
            matches!(
                status.as_str(),
                "PAID" | "PENDING_PAYMENT" | "EXPIRED" | "CANCELLED" | "FAILED"
            ),
            "order {id} is {status}"
        );
    }
    services.audit().await;
}

/// Each buyer retries their checkout with its key through `gateway`: every one ends
/// with exactly one order, paid once.
async fn retries_end_paid(
    gateway: &GatewayProcess,
    buyers: &[User],
    first: &[Result<Order, Status>],
    product_id: &str,
) -> Vec<User> {
    let mut again = Vec::new();
    for (buyer, first) in buyers.iter().zip(first) {
        let buyer = buyer.reconnect(&gateway.url()).await;
        let key = format!("checkout-{}", buyer.id);
        let order = buyer
            .checkout_with_key(&[(product_id, 1)], &key)
            .await
            .unwrap_or_else(|status| panic!("retry of {key}: {status:?}"));
        assert_eq!(status_of(&order), OrderStatus::Paid, "{order:?}");
        if let Ok(first) = first {
            assert_eq!(first.id, order.id, "a retry answers with the first order");
        }
        let orders = buyer.orders().await;
        assert_eq!(orders.len(), 1, "one order per key: {orders:?}");
        again.push(buyer);
    }
    again
}

async fn buyers(admin: &User, url: &str, secret: &str, how_many: usize) -> Vec<User> {
    let mut buyers = Vec::new();
    for _ in 0..how_many {
        let buyer = User::at(url, secret, Role::User).await;
        admin.top_up(buyer.id, 1_000).await;
        buyers.push(buyer);
    }
    buyers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_killed_mid_checkouts_recovers_every_saga() {
    const BUYERS: usize = 30;
    const KILL: KillAt = KillAt {
        sagas: 10,
        past_pivot: 3,
    };
    let services = Services::start(Options::default()).await.unwrap();
    let gateway = GatewayProcess::spawn(&services, loopback(), loopback())
        .await
        .unwrap();
    let admin = User::at(&gateway.url(), &services.jwt_secret, Role::Admin).await;
    let product = admin.create_product("Festival ticket", 100, 100).await;
    let buyers = buyers(&admin, &gateway.url(), &services.jwt_secret, BUYERS).await;

    let (gateway, answers) =
        crash_round(&services, gateway, &buyers, &product.id, KILL, true).await;
    orders_settled(&services).await;

    let buyers = retries_end_paid(&gateway, &buyers, &answers, &product.id).await;
    for buyer in &buyers {
        assert_eq!(buyer.wallet().await.balance, 900, "charged exactly once");
    }
    assert_eq!(buyers[0].stock_of(&product.id).await, 100 - BUYERS as i32);
    services.audit().await;
}

/// The long version: several kills at different points, with the real 30 s leases.
/// Run with `cargo test -p shop-e2e gateway_crash -- --ignored`
/// (about four minutes: each restart waits for the dead process's leases).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "soak: several minutes; run explicitly"]
async fn gateway_killed_repeatedly_with_real_leases() {
    const BUYERS: usize = 40;
    let services = Services::start(Options::default()).await.unwrap();
    let mut gateway = GatewayProcess::spawn(&services, loopback(), loopback())
        .await
        .unwrap();
    let admin = User::at(&gateway.url(), &services.jwt_secret, Role::Admin).await;
    let product = admin.create_product("Season pass", 10, 1_000).await;
    let mut sold = 0;
    let mut cut = 0;
    let kills = [(2, 0), (10, 2), (30, 15)].map(|(sagas, past_pivot)| KillAt { sagas, past_pivot });
    for kill in kills {
        let buyers = buyers(&admin, &gateway.url(), &services.jwt_secret, BUYERS).await;
        let (next, answers) =
            crash_round(&services, gateway, &buyers, &product.id, kill, false).await;
        gateway = next;
        orders_settled(&services).await;
        cut += answers.iter().filter(|a| a.is_err()).count();
        let buyers = retries_end_paid(&gateway, &buyers, &answers, &product.id).await;
        for buyer in &buyers {
            assert_eq!(buyer.wallet().await.balance, 990);
        }
        sold += BUYERS as i32;
        assert_eq!(buyers[0].stock_of(&product.id).await, 1_000 - sold);
        services.audit().await;
    }
    assert!(cut > 0, "some checkouts were cut by the kills");
}
