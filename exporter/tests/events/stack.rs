//! The system of one events test: the four services (order-svc and delivery-svc with
//! their relays when asked), the exporter on a queue of its own, all on real sockets,
//! fresh databases on the test Postgres, and what the tests read back.

use std::{collections::HashMap, sync::Arc, time::Duration};

use gateway::auth::Role;
use shop_common::app::Service;
use shop_e2e::{Databases, User, audit::Audit};
use shop_events::RelayConfig;
use shop_proto::gateway::Order;
use shop_testkit::{PgServer, RabbitServer, RedisServer, Running};
use sqlx::{PgPool, postgres::PgPoolOptions};
use tokio::time::Instant;
use uuid::Uuid;

pub struct Stack {
    pub amqp_url: String,
    pub databases: Databases,
    pub queue: String,
    pub redis_url: String,
    pub gateway: Running,
    _services: Vec<Running>,
    jwt_secret: String,
    order_db: PgPool,
    delivery_db: PgPool,
    exporter_db: PgPool,
    queue_declared: Instant,
}

/// How long RabbitMQ 3.10 (Ra 2.2, Debian 12's package) needs before a quorum queue it
/// just declared survives a SIGKILL of the node. Ra records each queue's server in a
/// `dets` table, and Erlang's dets holds writes for about 3 s before they reach the
/// file: a node killed sooner restarts without the queue's server, and the queue never
/// elects a leader again (consumers get no answer, publishers no confirm). Measured
/// with `erl` on this OTP 25: an insert killed after 2.5 s was lost, after 4 s it was
/// there. Tests that kill the broker wait this long after the declaration.
const QUEUE_DURABLE_AFTER: Duration = Duration::from_secs(6);

/// Which order-svc instances publish: the one serving the gateway, or only relays the
/// test runs as child processes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OrderRelay {
    InProcess,
    Elsewhere,
}

impl Stack {
    pub async fn start(amqp_url: &str, order_relay: OrderRelay) -> Self {
        let pg = PgServer::shared();
        let redis_url = RedisServer::shared().url();
        let databases = Databases {
            order: pg.fresh_database().await,
            payment: pg.fresh_database().await,
            delivery: pg.fresh_database().await,
            gateway: pg.fresh_database().await,
        };
        let exporter_database = pg.fresh_database().await;
        let queue = format!("shop.exporter.test-{}", Uuid::new_v4().simple());
        let relay = Some(RelayConfig::for_tests(amqp_url.to_owned()));

        // The exporter first: its queue must exist before the first event is published.
        let mut config =
            exporter::Config::for_tests(exporter_database.clone(), amqp_url.to_owned());
        config.queue = queue.clone();
        let exporter = serve(exporter::App::build(config).await.expect("exporter builds"));
        let queue_declared = Instant::now();

        let mut config = order_svc::Config::for_tests(databases.order.clone());
        if order_relay == OrderRelay::InProcess {
            config.events = relay.clone();
        }
        let order = serve(
            order_svc::App::build(config)
                .await
                .expect("order-svc builds"),
        );
        let payment = serve(
            payment_svc::App::build(payment_svc::Config::for_tests(databases.payment.clone()))
                .await
                .expect("payment-svc builds"),
        );
        let mut config =
            delivery_svc::Config::for_tests(databases.delivery.clone(), redis_url.clone());
        config.events = relay;
        let delivery = serve(
            delivery_svc::App::build(config)
                .await
                .expect("delivery-svc builds"),
        );
        let config = gateway::Config::for_tests(
            databases.gateway.clone(),
            order.url(),
            payment.url(),
            delivery.url(),
        );
        let jwt_secret =
            shop_common::secret::ExposeSecret::expose_secret(&config.jwt_secret).to_owned();
        let gateway = serve(gateway::App::build(config).await.expect("gateway builds"));

        Self {
            amqp_url: amqp_url.to_owned(),
            order_db: pool(&databases.order).await,
            delivery_db: pool(&databases.delivery).await,
            exporter_db: pool(&exporter_database).await,
            databases,
            queue,
            redis_url,
            gateway,
            _services: vec![exporter, order, payment, delivery],
            jwt_secret,
            queue_declared,
        }
    }

    /// SIGKILLs `broker`, as a crash would, once the exporter's queue has outlived the
    /// broker's own window of loss ([`QUEUE_DURABLE_AFTER`]).
    pub async fn kill_broker(&self, broker: &Arc<RabbitServer>) {
        tokio::time::sleep_until(self.queue_declared + QUEUE_DURABLE_AFTER).await;
        let broker = Arc::clone(broker);
        tokio::task::spawn_blocking(move || broker.stop())
            .await
            .expect("join")
            .expect("the broker is killed");
    }

    /// A product with plenty of stock, and `buyers` shoppers with plenty of points.
    pub async fn shoppers(&self, buyers: usize) -> (String, Vec<User>) {
        let admin = User::at(&self.gateway.url(), &self.jwt_secret, Role::Admin).await;
        let product = admin.create_product("Event T-shirt", 100, 100_000).await;
        let mut users = Vec::with_capacity(buyers);
        for _ in 0..buyers {
            let user = User::at(&self.gateway.url(), &self.jwt_secret, Role::User).await;
            admin.top_up(user.id, 10_000_000).await;
            users.push(user);
        }
        (product.id, users)
    }

    /// Every event id in both outboxes.
    pub async fn outbox(&self) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = sqlx::query_scalar("SELECT event_id FROM order_events")
            .fetch_all(&self.order_db)
            .await
            .expect("read order_events");
        let delivery: Vec<Uuid> = sqlx::query_scalar("SELECT event_id FROM delivery_events")
            .fetch_all(&self.delivery_db)
            .await
            .expect("read delivery_events");
        ids.extend(delivery);
        ids
    }

    /// Outbox rows the broker has not confirmed yet.
    pub async fn unpublished(&self) -> i64 {
        let count = |pool: &PgPool, table: &str| {
            let sql = format!("SELECT count(*) FROM {table} WHERE published_at IS NULL");
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&pool)
                    .await
                    .expect("count unpublished")
            }
        };
        count(&self.order_db, "order_events").await
            + count(&self.delivery_db, "delivery_events").await
    }

    /// Event id -> how many more times it arrived after the first, in the exporter.
    pub async fn exported(&self) -> HashMap<Uuid, i32> {
        sqlx::query_as::<_, (Uuid, i32)>("SELECT event_id, duplicates FROM processed_events")
            .fetch_all(&self.exporter_db)
            .await
            .expect("read processed_events")
            .into_iter()
            .collect()
    }

    pub fn exporter_db(&self) -> &PgPool {
        &self.exporter_db
    }

    /// Waits (at most `within`) until every outbox event is published and exported;
    /// returns how long that took.
    pub async fn wait_until_exported(&self, within: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let outbox = self.outbox().await;
            let exported = self.exported().await;
            if self.unpublished().await == 0 && outbox.iter().all(|id| exported.contains_key(id)) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < within,
                "after {within:?}: {} unpublished, {} of {} outbox events exported",
                self.unpublished().await,
                outbox.iter().filter(|id| exported.contains_key(id)).count(),
                outbox.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Checks that every outbox event is in the exporter's tables exactly once, and
    /// that the facts of the `paid` orders match them. Returns the duplicates absorbed.
    pub async fn assert_exported_once(&self, paid: &[Order]) -> i64 {
        let outbox = self.outbox().await;
        let exported = self.exported().await;
        for id in &outbox {
            assert!(
                exported.contains_key(id),
                "event {id} never reached the exporter"
            );
        }
        let timeline: Vec<Uuid> = sqlx::query_scalar("SELECT event_id FROM order_timeline")
            .fetch_all(&self.exporter_db)
            .await
            .expect("read the timeline");
        let timeline: HashMap<Uuid, usize> =
            timeline.into_iter().fold(HashMap::new(), |mut seen, id| {
                *seen.entry(id).or_default() += 1;
                seen
            });
        for id in &outbox {
            assert_eq!(timeline.get(id), Some(&1), "event {id} in the timeline");
        }
        for order in paid {
            let id = Uuid::parse_str(&order.id).expect("order id");
            let fact: FactRow = sqlx::query_as(
                "SELECT status, user_id, paid_amount, paid_at, delivery_status
                 FROM order_facts WHERE order_id = $1",
            )
            .bind(id)
            .fetch_one(&self.exporter_db)
            .await
            .expect("the order has facts");
            assert_eq!(fact.status.as_deref(), Some("PAID"), "order {id}");
            assert_eq!(
                fact.user_id.map(|u| u.to_string()),
                Some(order.user_id.clone())
            );
            assert_eq!(fact.paid_amount, Some(order.paid_amount));
            assert!(fact.paid_at.is_some(), "order {id} has its paid_at");
            assert_eq!(
                fact.delivery_status.as_deref(),
                Some("PREPARING"),
                "order {id}"
            );
        }
        outbox.iter().map(|id| i64::from(exported[id])).sum()
    }

    /// The OS pid of the order-svc relay holding the relay lock, if any.
    pub async fn active_order_relays(&self) -> Vec<u32> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT a.application_name FROM pg_locks l
             JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted
               AND a.datname = current_database()
               AND a.application_name LIKE 'order-svc relay pid %'",
        )
        .fetch_all(&self.order_db)
        .await
        .expect("read pg_locks");
        names
            .iter()
            .filter_map(|n| n.rsplit(' ').next()?.parse().ok())
            .collect()
    }

    /// Waits (bounded) until exactly one order-svc relay holds the lock.
    pub async fn the_active_order_relay(&self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let active = self.active_order_relays().await;
            assert!(active.len() <= 1, "two active relays: {active:?}");
            if let [pid] = active[..] {
                return pid;
            }
            assert!(
                Instant::now() < deadline,
                "no order-svc relay became active"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for every saga to end, then checks the invariants of DESIGN.md.
    pub async fn audit(&self) {
        Audit::connect(&self.databases, &self.redis_url)
            .await
            .assert_clean()
            .await;
    }
}

#[derive(sqlx::FromRow)]
struct FactRow {
    status: Option<String>,
    user_id: Option<Uuid>,
    paid_amount: Option<i64>,
    paid_at: Option<chrono::DateTime<chrono::Utc>>,
    delivery_status: Option<String>,
}

fn serve<A: Service>(app: A) -> Running {
    Running::spawn(app.local_addr(), |stop| app.run_until_stopped(stop))
}

async fn pool(url: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .connect(url)
        .await
        .expect("connect to a test database")
}

/// A private broker for a test that stops it (started off the async threads).
pub async fn own_broker() -> Arc<RabbitServer> {
    tokio::task::spawn_blocking(RabbitServer::start)
        .await
        .expect("join")
        .map(Arc::new)
        .unwrap_or_else(|err| panic!("cannot start test rabbitmq: {err:#}"))
}

/// The node shared by tests that leave it running.
pub async fn shared_broker() -> &'static RabbitServer {
    tokio::task::spawn_blocking(RabbitServer::shared)
        .await
        .expect("join")
}

/// Runs `count` checkouts of one `product` spread over `users` (each buys in turn),
/// and returns the orders; `done` counts finished checkouts as they happen.
pub async fn checkouts(
    users: &[User],
    product: &str,
    count: usize,
    done: Arc<std::sync::atomic::AtomicUsize>,
) -> Vec<Order> {
    let per_user = count.div_ceil(users.len());
    let mut tasks = Vec::new();
    for (i, user) in users.iter().enumerate() {
        let (user, product, done) = (user.clone(), product.to_owned(), Arc::clone(&done));
        let mine = per_user.min(count.saturating_sub(i * per_user));
        tasks.push(tokio::spawn(async move {
            let mut orders = Vec::with_capacity(mine);
            for _ in 0..mine {
                let order = user
                    .checkout(&[(product.as_str(), 1)], "")
                    .await
                    .expect("checkout succeeds: the broker is not on its path");
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                orders.push(order);
            }
            orders
        }));
    }
    let mut orders = Vec::with_capacity(count);
    for task in tasks {
        orders.extend(task.await.expect("checkout task"));
    }
    orders
}
