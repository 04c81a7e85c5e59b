//! Building and running payment-svc: its routes (PaymentService) and its one worker
//! (retention; every business change happens inside a call) on the shared [`Bound`]
//! shape.

use std::net::SocketAddr;

use shop_common::{
    CancellationToken,
    app::Service,
    auth::InternalAuth,
    serving::{Bound, Workers},
};
use shop_proto::payment::payment_service_server::PaymentServiceServer;
use sqlx::PgPool;
use tonic::service::Routes;

use crate::{Config, grpc::PaymentApi, retention};

/// The gRPC service this app serves, as health and reflection report it.
pub const SERVICE_NAME: &str = "shop.payment.v1.PaymentService";

pub struct App {
    bound: Bound,
    config: Config,
}

impl App {
    /// Connects, migrates and binds; nothing is served until `run_until_stopped`.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let bound = Bound::bind(config.serving(), &sqlx::migrate!("./migrations")).await?;
        Ok(Self { bound, config })
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
            "retention job",
            retention::spawn(
                pool.clone(),
                config.retention_every,
                config.log_retention,
                shutdown.clone(),
            ),
        );
        let server = PaymentServiceServer::with_interceptor(
            PaymentApi::new(pool),
            InternalAuth::new(config.internal_token.clone()),
        );
        self.bound
            .serve(Routes::new(server), &[SERVICE_NAME], workers, shutdown)
            .await
    }
}
