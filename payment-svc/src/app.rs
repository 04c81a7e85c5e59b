//! Building and running payment-svc: pool, migrations, listener, gRPC routes, and the
//! retention job (every business change happens inside a call).

use std::net::SocketAddr;

use shop_common::{
    CancellationToken, app::Service, auth::InternalAuth, db, metrics, secret::ExposeSecret,
};
use shop_proto::payment::payment_service_server::PaymentServiceServer;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::{Config, grpc::PaymentApi, retention};

/// The full name health reports SERVING and reflection lists.
pub const SERVICE_NAME: &str = "shop.payment.v1.PaymentService";

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
            .on_scrape(db::pool_gauges(pool.clone()));
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
        let retention = retention::spawn(
            self.pool.clone(),
            self.config.retention_every,
            self.config.log_retention,
            shutdown.clone(),
        );
        let api = PaymentApi::new(self.pool);
        let server = PaymentServiceServer::with_interceptor(
            api,
            InternalAuth::new(self.config.internal_token.clone()),
        );
        let routes = Routes::new(server);
        let metrics = tokio::spawn(self.metrics.serve(shutdown.clone()));
        let served =
            shop_common::grpc::serve(self.listener, routes, &[SERVICE_NAME], shutdown.clone())
                .await;
        shutdown.cancel();
        if let Err(err) = retention.await {
            tracing::warn!(error = %err, "retention job ended abnormally");
        }
        metrics::stopped(metrics).await;
        served
    }
}
