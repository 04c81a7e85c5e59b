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
//! - [`Faults`]: fault proxies in front of every connection of a stack, for tests
//!   that delay or drop single calls ([`Options::faults`]).

pub mod audit;
pub mod client;
pub mod probe;
pub mod process;

use std::{net::SocketAddr, time::Duration};

use shop_common::app::Service;
use shop_testkit::{FaultProxy, PgServer, RedisServer, Running};

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
    /// Put a [`FaultProxy`] in front of every connection: gateway to each service,
    /// each service (and the gateway) to its database, delivery-svc to Redis.
    pub faults: bool,
    /// Last changes to the in-process apps' settings (limits, retention, ...).
    pub gateway_config: fn(&mut gateway::Config),
    pub order_config: fn(&mut order_svc::Config),
    pub delivery_config: fn(&mut delivery_svc::Config),
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
            faults: false,
            gateway_config: |_| {},
            order_config: |_| {},
            delivery_config: |_| {},
        }
    }
}

/// The fault proxies of a stack started with [`Options::faults`]; each passes
/// everything until a test switches it.
pub struct Faults {
    /// Between the gateway and each service.
    pub order: FaultProxy,
    pub payment: FaultProxy,
    pub delivery: FaultProxy,
    /// Between each binary and its database.
    pub order_db: FaultProxy,
    pub payment_db: FaultProxy,
    pub delivery_db: FaultProxy,
    pub gateway_db: FaultProxy,
    /// Between delivery-svc and Redis.
    pub redis: FaultProxy,
}

impl Faults {
    /// Every proxy passes everything again.
    pub fn heal(&self) {
        for proxy in [
            &self.order,
            &self.payment,
            &self.delivery,
            &self.order_db,
            &self.payment_db,
            &self.delivery_db,
            &self.gateway_db,
            &self.redis,
        ] {
            proxy.set(shop_testkit::Fault::Pass);
        }
    }
}

async fn proxy_in_front_of(url: &str) -> anyhow::Result<FaultProxy> {
    let authority = url
        .split("://")
        .nth(1)
        .and_then(|rest| {
            rest.rsplit_once('@')
                .map_or(Some(rest), |(_, host)| Some(host))
        })
        .and_then(|rest| rest.split('/').next())
        .ok_or_else(|| anyhow::anyhow!("no host:port in {url}"))?;
    FaultProxy::start(authority.parse()?).await
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
    /// With [`Options::faults`]: the proxies in front of every connection.
    pub faults: Option<Faults>,
    wired: Wiring,
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
    /// The databases, reached directly (for audits and tests).
    pub databases: Databases,
    pub redis_url: String,
    /// What the binaries are given: the same, or the fault proxies' URLs.
    pub wired: Wiring,
    /// With [`Options::faults`]: the proxies in front of every connection.
    pub faults: Option<Faults>,
    options: Options,
}

/// The database and Redis URLs the binaries connect to.
#[derive(Clone)]
pub struct Wiring {
    pub databases: Databases,
    pub redis_url: String,
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
        let db_proxies = if options.faults {
            Some([
                proxy_in_front_of(&databases.order).await?,
                proxy_in_front_of(&databases.payment).await?,
                proxy_in_front_of(&databases.delivery).await?,
                proxy_in_front_of(&databases.gateway).await?,
                proxy_in_front_of(&redis_url).await?,
            ])
        } else {
            None
        };
        let wired = match &db_proxies {
            Some([order, payment, delivery, gateway, redis]) => Wiring {
                databases: Databases {
                    order: order.rewrite(&databases.order),
                    payment: payment.rewrite(&databases.payment),
                    delivery: delivery.rewrite(&databases.delivery),
                    gateway: gateway.rewrite(&databases.gateway),
                },
                redis_url: redis.rewrite(&redis_url),
            },
            None => Wiring {
                databases: databases.clone(),
                redis_url: redis_url.clone(),
            },
        };
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        let order = start_order(&wired.databases, &options, any_port).await?;
        let payment = start_payment(&wired.databases, any_port).await?;
        let delivery = start_delivery(&wired, &options, any_port).await?;
        let faults = match db_proxies {
            Some([order_db, payment_db, delivery_db, gateway_db, redis]) => Some(Faults {
                order: FaultProxy::start(order.addr).await?,
                payment: FaultProxy::start(payment.addr).await?,
                delivery: FaultProxy::start(delivery.addr).await?,
                order_db,
                payment_db,
                delivery_db,
                gateway_db,
                redis,
            }),
            None => None,
        };
        Ok(Self {
            order,
            payment,
            delivery,
            jwt_secret: gateway::config::TEST_JWT_SECRET.to_owned(),
            databases,
            redis_url,
            wired,
            faults,
            options,
        })
    }

    /// Where a gateway reaches order-svc, payment-svc and delivery-svc: their own
    /// addresses, or the fault proxies in front of them.
    pub fn urls(&self) -> [String; 3] {
        match &self.faults {
            Some(f) => [f.order.url(), f.payment.url(), f.delivery.url()],
            None => [self.order.url(), self.payment.url(), self.delivery.url()],
        }
    }

    /// How a gateway binary joins these services (through the proxies, if any).
    pub fn gateway_wiring(&self) -> process::GatewayWiring {
        process::GatewayWiring {
            database_url: self.wired.databases.gateway.clone(),
            jwt_secret: self.jwt_secret.clone(),
            payment_window: self.options.payment_window,
            urls: self.urls(),
        }
    }

    /// The fault proxies (panics when started without them).
    pub fn faults(&self) -> &Faults {
        self.faults
            .as_ref()
            .expect("services started with Options { faults: true, .. }")
    }

    /// Waits (bounded) for every saga to end, then checks the five invariants.
    pub async fn audit(&self) {
        let audit = audit::Audit::connect(&self.databases, &self.redis_url).await;
        audit.assert_clean().await;
    }

    pub fn options(&self) -> &Options {
        &self.options
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

async fn start_order(
    databases: &Databases,
    options: &Options,
    addr: SocketAddr,
) -> anyhow::Result<Running> {
    let mut config = order_svc::Config::for_tests(databases.order.clone());
    config.listen_addr = addr;
    (options.order_config)(&mut config);
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
    wired: &Wiring,
    options: &Options,
    addr: SocketAddr,
) -> anyhow::Result<Running> {
    let mut config =
        delivery_svc::Config::for_tests(wired.databases.delivery.clone(), wired.redis_url.clone());
    config.auto_receive_after = options.auto_receive_after;
    config.listen_addr = addr;
    (options.delivery_config)(&mut config);
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
        let mut services = Services::start(options).await?;
        let urls = services.urls();
        let faults = services.faults.take();
        let [order_url, payment_url, delivery_url] = &urls;
        let mut config = gateway_config(
            &services.wired.databases,
            order_url,
            payment_url,
            delivery_url,
        );
        config.payment_window = services.options.payment_window;
        config.checkout_concurrency = services.options.checkout_concurrency;
        (services.options.gateway_config)(&mut config);
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
            wired,
            faults: _,
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
            faults,
            wired,
            options,
        })
    }

    /// Stops payment-svc, runs `during`, then starts a new payment-svc on the same
    /// port and database (as a restart after a crash or deploy would).
    pub async fn with_payment_down<F: std::future::Future>(&mut self, during: F) -> F::Output {
        let addr = self.payment.addr;
        self.payment.halt().await.expect("payment-svc stops");
        let output = during.await;
        self.payment = start_payment(&self.wired.databases, addr)
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
        self.delivery = start_delivery(&self.wired, &self.options, self.delivery.addr)
            .await
            .expect("delivery-svc restarts");
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// How another gateway (say, the real binary) joins this stack: the same
    /// database and secret, the services at `urls` (their addresses or proxies).
    pub fn gateway_wiring(&self, urls: [String; 3]) -> process::GatewayWiring {
        process::GatewayWiring {
            database_url: self.databases.gateway.clone(),
            jwt_secret: self.jwt_secret.clone(),
            payment_window: self.options.payment_window,
            urls,
        }
    }

    /// The fault proxies (panics when the stack was started without them).
    pub fn faults(&self) -> &Faults {
        self.faults
            .as_ref()
            .expect("a stack started with Options { faults: true, .. }")
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
