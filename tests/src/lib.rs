//! End-to-end support: the whole system for one test (a fresh database per service on
//! the test Postgres, the test Redis, the four real apps on port 0), clients of both
//! public faces as a user or an admin, and the invariant audit every test ends with.
//!
//! - [`Stack`]: the four apps in this process.
//! - [`Services`]: the three internal services only, for a gateway run elsewhere (the
//!   real binary, see [`process`]).
//! - [`client`]: the public faces as a shopper or an operator holds them.
//! - [`audit`]: the invariants of DESIGN.md, read from every database and Redis.
//! - [`probe`]: health and reflection, as grpcurl sees them.

pub mod audit;
pub mod client;
pub mod probe;
pub mod process;

use std::{net::SocketAddr, time::Duration};

use shop_common::app::Service;
use shop_testkit::{PgServer, RedisServer, Running};

pub use client::{Rest, User};

/// Settings a test may change.
#[derive(Clone)]
pub struct Options {
    pub payment_window: Duration,
    pub auto_receive_after: Duration,
    pub redis_url: Option<String>,
    /// Database URLs to use instead of fresh ones on the shared test server: a test
    /// that stops a service's Postgres gives that service a database on a private
    /// server, so the other tests of the binary are not disturbed.
    pub order_database: Option<String>,
    pub payment_database: Option<String>,
    pub delivery_database: Option<String>,
    /// The gateway's `CHECKOUT_CONCURRENCY`.
    pub checkout_concurrency: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            payment_window: Duration::from_secs(300),
            auto_receive_after: Duration::from_secs(24 * 3600),
            redis_url: None,
            order_database: None,
            payment_database: None,
            delivery_database: None,
            checkout_concurrency: 32,
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
    options: Options,
}

/// Database URLs of one stack.
#[derive(Clone)]
pub struct Databases {
    pub order: String,
    pub payment: String,
    pub delivery: String,
    pub gateway: String,
}

/// The three internal services of one test, and a fresh database for a gateway that
/// runs elsewhere (say, the real `gateway` binary as a child process).
pub struct Services {
    pub order: Running,
    pub payment: Running,
    pub delivery: Running,
    /// The secret a gateway in front of these services signs tokens with.
    pub jwt_secret: String,
    pub databases: Databases,
    pub redis_url: String,
    options: Options,
}

impl Services {
    pub async fn start(options: Options) -> anyhow::Result<Self> {
        let pg = PgServer::shared();
        let redis_url = options
            .redis_url
            .clone()
            .unwrap_or_else(|| RedisServer::shared().url());
        let fresh_or = |url: &Option<String>| {
            let url = url.clone();
            async move {
                match url {
                    Some(url) => url,
                    None => pg.fresh_database().await,
                }
            }
        };
        let databases = Databases {
            order: fresh_or(&options.order_database).await,
            payment: fresh_or(&options.payment_database).await,
            delivery: fresh_or(&options.delivery_database).await,
            gateway: pg.fresh_database().await,
        };
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        let order = start_order(&databases, any_port).await?;
        let payment = start_payment(&databases, any_port).await?;
        let delivery = start_delivery(&databases, &redis_url, &options, any_port).await?;
        Ok(Self {
            order,
            payment,
            delivery,
            jwt_secret: gateway_config(&databases, "", "", "").jwt_secret,
            databases,
            redis_url,
            options,
        })
    }

    /// Waits (bounded) for every saga to end, then checks the five invariants.
    pub async fn audit(&self) {
        let audit = audit::Audit::connect(&self.databases, &self.redis_url).await;
        audit.assert_clean().await;
    }
}

fn gateway_config(
    databases: &Databases,
    order: &str,
    payment: &str,
    delivery: &str,
) -> gateway::Config {
    gateway::Config::for_tests(
        databases.gateway.clone(),
        order.to_owned(),
        payment.to_owned(),
        delivery.to_owned(),
    )
}

async fn start_order(databases: &Databases, addr: SocketAddr) -> anyhow::Result<Running> {
    let mut config = order_svc::Config::for_tests(databases.order.clone());
    config.listen_addr = addr;
    let app = order_svc::App::build(config).await?;
    Ok(Running::spawn(app.local_addr(), |stop| {
        app.run_until_stopped(stop)
    }))
}

async fn start_payment(databases: &Databases, addr: SocketAddr) -> anyhow::Result<Running> {
    let mut config = payment_svc::Config::for_tests(databases.payment.clone());
    config.listen_addr = addr;
    let app = payment_svc::App::build(config).await?;
    Ok(Running::spawn(app.local_addr(), |stop| {
        app.run_until_stopped(stop)
    }))
}

async fn start_delivery(
    databases: &Databases,
    redis_url: &str,
    options: &Options,
    addr: SocketAddr,
) -> anyhow::Result<Running> {
    let mut config =
        delivery_svc::Config::for_tests(databases.delivery.clone(), redis_url.to_owned());
    config.auto_receive_after = options.auto_receive_after;
    config.listen_addr = addr;
    let app = delivery_svc::App::build(config).await?;
    Ok(Running::spawn(app.local_addr(), |stop| {
        app.run_until_stopped(stop)
    }))
}

impl Stack {
    pub async fn start() -> anyhow::Result<Self> {
        Self::with(Options::default()).await
    }

    pub async fn with(options: Options) -> anyhow::Result<Self> {
        let services = Services::start(options).await?;
        let mut config = gateway_config(
            &services.databases,
            &services.order.url(),
            &services.payment.url(),
            &services.delivery.url(),
        );
        config.payment_window = services.options.payment_window;
        config.checkout_concurrency = services.options.checkout_concurrency;
        let gateway = gateway::App::build(config).await?;
        let gateway_http = gateway.http_addr();
        let gateway = Running::spawn(gateway.local_addr(), |stop| gateway.run_until_stopped(stop));

        let Services {
            order,
            payment,
            delivery,
            jwt_secret,
            databases,
            redis_url,
            options,
        } = services;
        Ok(Self {
            order,
            payment,
            delivery,
            gateway,
            gateway_http,
            jwt_secret,
            databases,
            redis_url,
            options,
        })
    }

    /// Stops payment-svc, runs `during`, then starts a new payment-svc on the same
    /// port and database (as a restart after a crash or deploy would).
    pub async fn with_payment_down<F: std::future::Future>(&mut self, during: F) -> F::Output {
        let addr = self.payment.addr;
        self.payment.halt().await.expect("payment-svc stops");
        let output = during.await;
        self.payment = start_payment(&self.databases, addr)
            .await
            .expect("payment-svc restarts");
        output
    }

    /// Stops delivery-svc (gracefully); its port stays reserved for
    /// [`Stack::restart_delivery`].
    pub async fn stop_delivery(&mut self) {
        self.delivery.halt().await.expect("delivery-svc stops");
    }

    /// Starts a new delivery-svc on the same port, database and Redis.
    pub async fn restart_delivery(&mut self) {
        self.delivery = start_delivery(
            &self.databases,
            &self.redis_url,
            &self.options,
            self.delivery.addr,
        )
        .await
        .expect("delivery-svc restarts");
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
