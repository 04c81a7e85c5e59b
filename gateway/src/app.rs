//! Building and running the gateway: pool, migrations, gRPC and HTTP listeners.

use std::net::SocketAddr;

use shop_common::{CancellationToken, app::Service, db};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::Config;

pub struct App {
    grpc: TcpListener,
    http: TcpListener,
    pool: PgPool,
    config: Config,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = db::connect(&config.database_url, config.db_max_connections).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let grpc = TcpListener::bind(config.listen_addr).await?;
        let http = TcpListener::bind(config.http_addr).await?;
        Ok(Self {
            grpc,
            http,
            pool,
            config,
        })
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http.local_addr().unwrap_or(self.config.http_addr)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl Service for App {
    fn local_addr(&self) -> SocketAddr {
        self.grpc.local_addr().unwrap_or(self.config.listen_addr)
    }

    async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let router = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
        let http_shutdown = shutdown.clone();
        let http = axum::serve(self.http, router)
            .with_graceful_shutdown(async move { http_shutdown.cancelled().await });
        let grpc = shop_common::grpc::serve(self.grpc, Routes::default(), &[], shutdown);
        let (grpc, http) = tokio::join!(grpc, http);
        grpc?;
        http?;
        Ok(())
    }
}
