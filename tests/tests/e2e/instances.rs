//! Several instances of every binary on the same databases, as a deployment beyond one
//! machine runs them: two order-svc, two payment-svc, two delivery-svc and two
//! gateways (gateway A in front of the first of each, B of the second), all real
//! processes.
//!
//! - The background work runs once, not twice: unpaid orders expire once, automatic
//!   receipts fire once, each receipt reaches its order once, each saga is driven to
//!   one end.
//! - Killing one instance of each (SIGKILL) mid-load loses nothing: buyers retry on the
//!   other gateway with their idempotency key and end with one paid order each; the
//!   audit is clean.
//! - A gateway stopped with SIGTERM mid-saga hands its sagas to the other instance
//!   instead of leaving them until their lease runs out.

use std::{net::SocketAddr, time::Duration};

use gateway::auth::Role;
use shop_e2e::{
    Databases, Options, User, Wiring,
    audit::Audit,
    process::{Binary, GatewayWiring, Process, gateway_env, service_env},
};
use shop_proto::common::OrderStatus;
use shop_testkit::{Fault, FaultProxy, PgServer, RedisServer};
use sqlx::PgPool;
use tonic::Status;

use crate::support::{eventually, status_of};

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], shop_testkit::free_port()))
}

async fn pool(url: &str) -> PgPool {
    shop_common::db::connect(url, 2).await.unwrap()
}

/// One instance of each internal service.
struct Services {
    order: Process,
    payment: Process,
    delivery: Process,
}

struct Deployment {
    databases: Databases,
    redis_url: String,
    jwt_secret: String,
    first: Services,
    second: Services,
}

/// The default payment window: time enough for a checkout interrupted by a dead gateway
/// to be finished or undone by the other and retried by its buyer.
const PAYMENT_WINDOW: Duration = Duration::from_secs(300);
/// The window of the orders placed to expire (through a gateway of their own).
const SHORT_WINDOW: Duration = Duration::from_secs(3);
/// The gateways' saga lease: a dead gateway's sagas wait this long for the other.
const SAGA_LEASE: &str = "5s";

impl Deployment {
    async fn start(options: &Options) -> Self {
        let pg = PgServer::shared();
        let databases = Databases {
            order: pg.fresh_database().await,
            payment: pg.fresh_database().await,
            delivery: pg.fresh_database().await,
            gateway: pg.fresh_database().await,
        };
        let redis_url = RedisServer::shared().url();
        let wiring = Wiring {
            databases: databases.clone(),
            redis_url: redis_url.clone(),
        };
        let mut sets = Vec::new();
        for _ in 0..2 {
            let mut started = Vec::new();
            for binary in [Binary::Order, Binary::Payment, Binary::Delivery] {
                let env = service_env(binary, &wiring, options);
                started.push(Process::spawn(binary, loopback(), &env).await.unwrap());
            }
            let delivery = started.pop().unwrap();
            let payment = started.pop().unwrap();
            let order = started.pop().unwrap();
            sets.push(Services {
                order,
                payment,
                delivery,
            });
        }
        let second = sets.pop().unwrap();
        let first = sets.pop().unwrap();
        let jwt_secret = gateway::config::TEST_JWT_SECRET.to_owned();
        Self {
            databases,
            redis_url,
            jwt_secret,
            first,
            second,
        }
    }

    /// A gateway binary reaching the services at `urls`.
    async fn gateway(&self, urls: [String; 3]) -> Process {
        self.gateway_with_window(urls, PAYMENT_WINDOW).await
    }

    async fn gateway_with_window(&self, urls: [String; 3], window: Duration) -> Process {
        let wiring = GatewayWiring {
            database_url: self.databases.gateway.clone(),
            jwt_secret: self.jwt_secret.clone(),
            payment_window: window,
            urls,
        };
        let http = loopback();
        let mut env = gateway_env(&wiring, http);
        env.push(("SAGA_LEASE", SAGA_LEASE.to_owned()));
        Process::spawn(Binary::Gateway, loopback(), &env)
            .await
            .unwrap()
    }
}

fn urls(services: &Services) -> [String; 3] {
    [
        services.order.url(),
        services.payment.url(),
        services.delivery.url(),
    ]
}

/// How many events of `kind` each order has, the most of any order.
async fn most_events(pool: &PgPool, table: &str, kind: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM {table} \
         WHERE kind = $1 GROUP BY order_id) per_order"
    )))
    .bind(kind)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_of_everything_do_the_work_once_and_lose_nothing_when_one_of_each_dies() {
    let options = Options {
        auto_receive_after: Duration::from_secs(2),
        ..Options::default()
    };
    let mut deployment = Deployment::start(&options).await;
    let mut a = deployment.gateway(urls(&deployment.first)).await;
    let b = deployment.gateway(urls(&deployment.second)).await;
    let secret = deployment.jwt_secret.clone();
    let admin = User::at(&b.url(), &secret, Role::Admin).await;
    let product = admin.create_product("twice", 100, 200).await.id;

    // Buyers spread over both gateways, each with one key; some leave an order unpaid.
    let mut buyers = Vec::new();
    for n in 0..24 {
        let gateway = if n % 2 == 0 { &a } else { &b };
        let buyer = User::at(&gateway.url(), &secret, Role::User).await;
        admin.top_up(buyer.id, 1_000).await;
        buyers.push(buyer);
    }
    // Orders left unpaid, placed with a short window so that they expire in the test.
    let short = deployment
        .gateway_with_window(urls(&deployment.second), SHORT_WINDOW)
        .await;
    let unpaid = User::at(&short.url(), &secret, Role::User).await;
    let mut unpaid_orders = Vec::new();
    for _ in 0..4 {
        unpaid_orders.push(unpaid.place(&[(&product, 1)]).await.unwrap().id);
    }

    let checkouts: Vec<_> = buyers
        .iter()
        .map(|buyer| {
            let (buyer, product) = (buyer.clone(), product.clone());
            tokio::spawn(async move {
                let key = format!("twice-{}", buyer.id);
                let answer = buyer
                    .checkout_keyed_within(&[(&product, 1)], &key, Duration::from_secs(8))
                    .await;
                (buyer, key, answer)
            })
        })
        .collect();
    // One of each dies while the checkouts run.
    let gateway_db = pool(&deployment.databases.gateway).await;
    let under_way = eventually(Duration::from_secs(20), || async {
        count(&gateway_db, "SELECT count(*) FROM sagas").await >= 6
    })
    .await;
    assert!(under_way, "the checkouts got under way");
    a.kill();
    deployment.first.order.kill();
    deployment.first.payment.kill();
    deployment.first.delivery.kill();

    // Whoever got no clear answer retries on the surviving gateway with their key.
    let mut paid = Vec::new();
    for checkout in checkouts {
        let (buyer, key, mut answer) = checkout.await.unwrap();
        let survivor = buyer.reconnect(&b.url()).await;
        // A saga the dead gateway was driving waits for its lease to run out; meanwhile
        // the key is IDEMPOTENCY_KEY_IN_USE.
        let give_up = tokio::time::Instant::now() + Duration::from_secs(45);
        while tokio::time::Instant::now() < give_up {
            if let Ok(order) = &answer
                && status_of(order) == OrderStatus::Paid
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            answer = survivor
                .checkout_keyed_within(&[(&product, 1)], &key, Duration::from_secs(8))
                .await;
        }
        let order: Result<_, Status> = answer;
        let order = order.unwrap_or_else(|s| panic!("{key}: {s:?}"));
        assert_eq!(
            status_of(&order),
            OrderStatus::Paid,
            "{key} ends with a paid order"
        );
        paid.push(order.id);
    }

    let (order_db, delivery_db) = (
        pool(&deployment.databases.order).await,
        pool(&deployment.databases.delivery).await,
    );
    for id in &paid {
        let received = eventually(Duration::from_secs(30), || async {
            status_of(&admin.order(id).await.unwrap()) == OrderStatus::Received
        })
        .await;
        assert!(received, "order {id} is received automatically");
    }
    for id in &unpaid_orders {
        let expired = eventually(Duration::from_secs(30), || async {
            status_of(&admin.order(id).await.unwrap()) == OrderStatus::Expired
        })
        .await;
        assert!(expired, "unpaid order {id} expires");
    }
    assert_eq!(paid.len(), buyers.len());
    assert_eq!(
        most_events(&order_db, "order_events", "ORDER_EXPIRED").await,
        1
    );
    assert_eq!(
        most_events(&order_db, "order_events", "ORDER_RECEIVED").await,
        1
    );
    assert_eq!(
        most_events(&order_db, "order_events", "ORDER_PAID").await,
        1
    );
    assert_eq!(
        most_events(&delivery_db, "delivery_events", "DELIVERY_RECEIVED").await,
        1
    );
    assert_eq!(
        count(
            &order_db,
            "SELECT count(*) FROM orders WHERE status = 'RECEIVED'"
        )
        .await,
        i64::try_from(buyers.len()).unwrap(),
        "one paid order per buyer, no more"
    );
    Audit::connect(&deployment.databases, &deployment.redis_url)
        .await
        .assert_clean()
        .await;
}

/// Gateway A's sagas hang in Deliver, past the pivot (its delivery-svc proxy answers
/// nothing), with their callers' deadlines far off; A is stopped with SIGTERM. Their
/// lease (kept alive by A's heartbeat until it exits) would hold them back from B until
/// it ran out; on the way out A hands them over, so B finishes them at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateway_stopped_mid_saga_hands_its_sagas_over() {
    let options = Options::default();
    let deployment = Deployment::start(&options).await;
    let payment_for_a = FaultProxy::start(deployment.first.payment.addr)
        .await
        .unwrap();
    let delivery_for_a = FaultProxy::start(deployment.first.delivery.addr)
        .await
        .unwrap();
    let mut a = deployment
        .gateway([
            deployment.first.order.url(),
            payment_for_a.url(),
            delivery_for_a.url(),
        ])
        .await;
    let b = deployment.gateway(urls(&deployment.second)).await;
    let secret = deployment.jwt_secret.clone();
    let admin = User::at(&b.url(), &secret, Role::Admin).await;
    let product = admin.create_product("handover", 100, 50).await.id;
    let mut orders = Vec::new();
    for _ in 0..4 {
        let buyer = User::at(&a.url(), &secret, Role::User).await;
        admin.top_up(buyer.id, 1_000).await;
        let order = buyer.place(&[(&product, 1)]).await.unwrap();
        orders.push((buyer, order.id));
    }

    // Slow charges give the test time to silence delivery-svc between the charge and
    // the delivery.
    let gateway_db = pool(&deployment.databases.gateway).await;
    payment_for_a.set(Fault::Delay {
        up: Duration::ZERO,
        down: Duration::from_millis(1500),
    });
    let paying: Vec<_> = orders
        .iter()
        .map(|(buyer, id)| {
            let (buyer, id) = (buyer.clone(), id.clone());
            tokio::spawn(async move { buyer.pay_within(&id, Duration::from_secs(60)).await })
        })
        .collect();
    let at = |step: &'static str| {
        let gateway_db = gateway_db.clone();
        async move {
            let sql = format!("SELECT count(*) FROM sagas WHERE step = '{step}'");
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                .fetch_one(&gateway_db)
                .await
                .unwrap()
        }
    };
    assert!(
        eventually(Duration::from_secs(20), || async {
            at("CHARGE").await == 4
        })
        .await,
        "A's sagas are charging"
    );
    delivery_for_a.set(Fault::Blackhole);
    payment_for_a.set(Fault::Pass);
    assert!(
        eventually(Duration::from_secs(20), || async {
            at("DELIVER").await == 4
        })
        .await,
        "A's sagas wait for delivery-svc, past the pivot"
    );

    a.terminate(Duration::from_secs(30)).await;
    let still_leased = count(
        &gateway_db,
        "SELECT count(*) FROM sagas WHERE state IN ('RUNNING', 'COMPENSATING') AND lease_until > now()",
    )
    .await;
    let open = count(
        &gateway_db,
        "SELECT count(*) FROM sagas WHERE state IN ('RUNNING', 'COMPENSATING')",
    )
    .await;
    assert!(open > 0, "the stop landed mid-saga");
    assert_eq!(
        still_leased, 0,
        "no saga is left leased to the stopped gateway"
    );
    let ended = eventually(Duration::from_secs(20), || async {
        count(
            &gateway_db,
            "SELECT count(*) FROM sagas WHERE state IN ('RUNNING', 'COMPENSATING')",
        )
        .await
            == 0
    })
    .await;
    assert!(
        ended,
        "B finished A's sagas without waiting for their lease:\n{}",
        b.log_tail()
    );
    let order_db = pool(&deployment.databases.order).await;
    for (_, id) in &orders {
        let status: String = sqlx::query_scalar("SELECT status FROM orders WHERE id = $1::uuid")
            .bind(id)
            .fetch_one(&order_db)
            .await
            .unwrap();
        assert_eq!(
            status, "PAID",
            "order {id}: the charge went through, so B completes it"
        );
    }
    drop(paying);
    Audit::connect(&deployment.databases, &deployment.redis_url)
        .await
        .assert_clean()
        .await;
}
