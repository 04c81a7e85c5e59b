//! Building and running order-svc: pool, migrations, listener, gRPC routes, workers.

use std::net::SocketAddr;

use shop_common::{
    CancellationToken, app::Service, auth::InternalAuth, db, metrics, secret::ExposeSecret,
};
use shop_proto::order::order_service_server::OrderServiceServer;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::{Config, grpc::OrderApi, relay, retention, sweeper};

/// The gRPC service this app serves, as health and reflection report it.
pub const SERVICE_NAME: &str = "shop.order.v1.OrderService";

pub struct App {
    listener: TcpListener,
    metrics: metrics::Endpoint,
    pool: PgPool,
    config: Config,
}

impl App {
    /// Connects, migrates and binds; nothing is served until `run_until_stopped`.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = db::connect_with(
            config.database_url.expose_secret(),
            config.db_max_connections,
            config.db_timeouts,
        )
        .await?;
        db::migrate(&pool, &sqlx::migrate!("./migrations")).await?;
        let listener = TcpListener::bind(config.listen_addr).await?;
        let metrics = metrics::Endpoint::bind(config.metrics_addr)
            .await?
            .on_scrape(db::pool_gauges(pool.clone()))
            .on_scrape(db::outbox_head_gauge(pool.clone(), "order", "order_events"));
        Ok(Self {
            listener,
            metrics,
            pool,
            config,
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The `/metrics` address actually bound.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics
            .local_addr()
            .unwrap_or(self.config.metrics_addr)
    }
}

impl Service for App {
    fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.config.listen_addr)
    }

    async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let metrics = tokio::spawn(self.metrics.serve(shutdown.clone()));
        let sweeper = sweeper::spawn(self.pool.clone(), self.config.sweep_every, shutdown.clone());
        let relay = self
            .config
            .events
            .clone()
            .map(|events| relay::spawn(self.pool.clone(), events, shutdown.clone()));
        let retention = retention::spawn(
            self.pool.clone(),
            self.config.retention_every,
            self.config.log_retention,
            self.config.events.is_some(),
            shutdown.clone(),
        );
        let api = OrderApi::new(
            self.pool.clone(),
            shutdown.clone(),
            self.config.max_open_orders,
        );
        let server = OrderServiceServer::with_interceptor(
            api,
            InternalAuth::new(self.config.internal_token.clone()),
        );
        let served = shop_common::grpc::serve(
            self.listener,
            Routes::new(server),
            &[SERVICE_NAME],
            shutdown.clone(),
        )
        .await;
        // The sweeper stops on the same token; wait so no round outlives the app.
        shutdown.cancel();
        if let Err(err) = sweeper.await {
            tracing::warn!(error = %err, "expiry sweeper ended abnormally");
        }
        if let Some(relay) = relay
            && let Err(err) = relay.await
        {
            tracing::warn!(error = %err, "event relay ended abnormally");
        }
        if let Err(err) = retention.await {
            tracing::warn!(error = %err, "retention job ended abnormally");
        }
        metrics::stopped(metrics).await;
        served
    }
}
