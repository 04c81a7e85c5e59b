//! Building and running order-svc: its routes (OrderService) and its workers (the
//! expiry sweeper, the event relay, retention) on the shared [`Bound`] shape.

use std::net::SocketAddr;

use shop_common::{
    CancellationToken,
    app::Service,
    auth::InternalAuth,
    db,
    serving::{Bound, Workers},
};
use shop_proto::order::order_service_server::OrderServiceServer;
use sqlx::PgPool;
use tonic::service::Routes;

use crate::{Config, grpc::OrderApi, relay, retention, sweeper};

/// The gRPC service this app serves, as health and reflection report it.
pub const SERVICE_NAME: &str = "shop.order.v1.OrderService";

pub struct App {
    bound: Bound,
    config: Config,
}

impl App {
    /// Connects, migrates and binds; nothing is served until `run_until_stopped`.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let bound = Bound::bind(config.serving(), &sqlx::migrate!("./migrations")).await?;
        let outbox = db::outbox_head_gauge(bound.pool().clone(), "order", "order_events");
        Ok(Self {
            bound: bound.on_scrape(outbox),
            config,
        })
    }

    pub fn pool(&self) -> &PgPool {
        self.bound.pool()
    }

    /// The `/metrics` address actually bound.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.bound.metrics_addr()
    }
}

impl Service for App {
    fn local_addr(&self) -> SocketAddr {
        self.bound.local_addr()
    }

    async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let (pool, config) = (self.bound.pool().clone(), self.config);
        let mut workers = Workers::new();
        workers.add(
            "expiry sweeper",
            sweeper::spawn(pool.clone(), config.sweep_every, shutdown.clone()),
        );
        workers.add_optional(
            "event relay",
            config
                .events
                .clone()
                .map(|events| relay::spawn(pool.clone(), events, shutdown.clone())),
        );
        workers.add(
            "retention job",
            retention::spawn(
                pool.clone(),
                config.retention_every,
                config.log_retention,
                config.events.is_some(),
                shutdown.clone(),
            ),
        );
        let api = OrderApi::new(pool, shutdown.clone(), config.max_open_orders);
        let server = OrderServiceServer::with_interceptor(
            api,
            InternalAuth::new(config.internal_token.clone()),
        );
        self.bound
            .serve(Routes::new(server), &[SERVICE_NAME], workers, shutdown)
            .await
    }
}
