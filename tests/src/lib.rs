//! End-to-end support: the whole system for one test (a fresh database per service on
//! the test Postgres, the test Redis, the four real apps on port 0), clients of both
//! public faces as a user or an admin, and the invariant audit every test ends with.

pub mod audit;
pub mod client;
pub mod probe;

use std::time::Duration;

use shop_common::app::Service;
use shop_testkit::{PgServer, RedisServer, Running};

pub use client::{Rest, User};

/// Settings a test may change.
#[derive(Clone)]
pub struct Options {
    pub payment_window: Duration,
    pub auto_receive_after: Duration,
    pub redis_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            payment_window: Duration::from_secs(300),
            auto_receive_after: Duration::from_secs(24 * 3600),
            redis_url: None,
        }
    }
}

/// The four services of one test, each on its own loopback port.
pub struct Stack {
    pub order: Running,
    pub payment: Running,
    pub delivery: Running,
    pub gateway: Running,
    pub gateway_http: std::net::SocketAddr,
    pub jwt_secret: String,
    pub databases: Databases,
    pub redis_url: String,
}

/// Database URLs of one stack.
#[derive(Clone)]
pub struct Databases {
    pub order: String,
    pub payment: String,
    pub delivery: String,
    pub gateway: String,
}

impl Stack {
    pub async fn start() -> anyhow::Result<Self> {
        Self::with(Options::default()).await
    }

    pub async fn with(options: Options) -> anyhow::Result<Self> {
        let pg = PgServer::shared();
        let redis_url = options
            .redis_url
            .clone()
            .unwrap_or_else(|| RedisServer::shared().url());
        let databases = Databases {
            order: pg.fresh_database().await,
            payment: pg.fresh_database().await,
            delivery: pg.fresh_database().await,
            gateway: pg.fresh_database().await,
        };

        let order =
            order_svc::App::build(order_svc::Config::for_tests(databases.order.clone())).await?;
        let order = Running::spawn(order.local_addr(), |stop| order.run_until_stopped(stop));

        let payment =
            payment_svc::App::build(payment_svc::Config::for_tests(databases.payment.clone()))
                .await?;
        let payment = Running::spawn(payment.local_addr(), |stop| payment.run_until_stopped(stop));

        let mut delivery_config =
            delivery_svc::Config::for_tests(databases.delivery.clone(), redis_url.clone());
        delivery_config.auto_receive_after = options.auto_receive_after;
        let delivery = delivery_svc::App::build(delivery_config).await?;
        let delivery = Running::spawn(delivery.local_addr(), |stop| {
            delivery.run_until_stopped(stop)
        });

        let mut config = gateway::Config::for_tests(
            databases.gateway.clone(),
            order.url(),
            payment.url(),
            delivery.url(),
        );
        config.payment_window = options.payment_window;
        let jwt_secret = config.jwt_secret.clone();
        let gateway = gateway::App::build(config).await?;
        let gateway_http = gateway.http_addr();
        let gateway = Running::spawn(gateway.local_addr(), |stop| gateway.run_until_stopped(stop));

        Ok(Self {
            order,
            payment,
            delivery,
            gateway,
            gateway_http,
            jwt_secret,
            databases,
            redis_url,
        })
    }

    /// Stops payment-svc, runs `during`, then starts a new payment-svc on the same
    /// port and database (as a restart after a crash or deploy would).
    pub async fn with_payment_down<F: std::future::Future>(&mut self, during: F) -> F::Output {
        let addr = self.payment.addr;
        self.payment.halt().await.expect("payment-svc stops");
        let output = during.await;
        let mut config = payment_svc::Config::for_tests(self.databases.payment.clone());
        config.listen_addr = addr;
        let app = payment_svc::App::build(config)
            .await
            .expect("payment-svc restarts");
        self.payment = Running::spawn(addr, |stop| app.run_until_stopped(stop));
        output
    }

    /// A new shopper with their own id and token.
    pub async fn user(&self) -> User {
        User::connect(self, gateway::auth::Role::User).await
    }

    /// An operator.
    pub async fn admin(&self) -> User {
        User::connect(self, gateway::auth::Role::Admin).await
    }

    /// The REST facade as `user`.
    pub fn rest(&self, user: &User) -> Rest {
        Rest::new(self.gateway_http, &user.token)
    }

    /// Waits (bounded) for every saga to end, then checks the five invariants; panics
    /// with every violation found.
    pub async fn audit(&self) {
        let audit = audit::Audit::connect(&self.databases, &self.redis_url).await;
        audit.assert_clean().await;
    }
}
