//! Building and running payment-svc: pool, migrations, listener, gRPC routes. It has
//! no background workers: every change happens inside a call.

use std::net::SocketAddr;

use shop_common::{CancellationToken, app::Service, auth::InternalAuth, db, metrics};
use shop_proto::payment::payment_service_server::PaymentServiceServer;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::{Config, grpc::PaymentApi};

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
        let pool = db::connect(&config.database_url, config.db_max_connections).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
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
        metrics::stopped(metrics).await;
        served
    }
}
