//! Starting the whole system for end-to-end tests: a fresh database per service on the
//! test Postgres, the test Redis, and the four real apps on port 0.

use shop_common::app::Service;
use shop_testkit::{PgServer, RedisServer, Running};

pub mod probe;

/// The four services of one test, each on its own loopback port.
pub struct Stack {
    pub order: Running,
    pub payment: Running,
    pub delivery: Running,
    pub gateway: Running,
    pub gateway_http: std::net::SocketAddr,
}

impl Stack {
    pub async fn start() -> anyhow::Result<Self> {
        let pg = PgServer::shared();
        let redis = RedisServer::shared();

        let order =
            order_svc::App::build(order_svc::Config::for_tests(pg.fresh_database().await)).await?;
        let order = Running::spawn(order.local_addr(), |stop| order.run_until_stopped(stop));

        let payment =
            payment_svc::App::build(payment_svc::Config::for_tests(pg.fresh_database().await))
                .await?;
        let payment = Running::spawn(payment.local_addr(), |stop| payment.run_until_stopped(stop));

        let delivery = delivery_svc::App::build(delivery_svc::Config::for_tests(
            pg.fresh_database().await,
            redis.url(),
        ))
        .await?;
        let delivery = Running::spawn(delivery.local_addr(), |stop| {
            delivery.run_until_stopped(stop)
        });

        let config = gateway::Config::for_tests(
            pg.fresh_database().await,
            order.url(),
            payment.url(),
            delivery.url(),
        );
        let gateway = gateway::App::build(config).await?;
        let gateway_http = gateway.http_addr();
        let gateway = Running::spawn(gateway.local_addr(), |stop| gateway.run_until_stopped(stop));

        Ok(Self {
            order,
            payment,
            delivery,
            gateway,
            gateway_http,
        })
    }
}
