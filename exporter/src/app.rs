//! Building and running the exporter: pool, migrations, the health listener, the
//! consumer.

use std::net::SocketAddr;

use shop_common::{CancellationToken, app::Service, db, metrics, secret::ExposeSecret};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::{
    Config,
    consumer::{self, Consumer},
};

pub struct App {
    listener: TcpListener,
    metrics: metrics::Endpoint,
    pool: PgPool,
    config: Config,
}

impl App {
    /// Connects to its database, migrates, declares its queue and binds. The broker is
    /// consumed when running, and reconnected for as long as it is away.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = db::connect(
            config.database_url.expose_secret(),
            config.db_max_connections,
        )
        .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        // Before anyone publishes into a new system (up.sh and the tests start the
        // exporter first), so that no event is routed to no queue. A broker that is
        // not up yet is not fatal: the consumer declares the queue when it connects.
        if let Err(err) =
            consumer::declare_queue(config.amqp_url.expose_secret(), &config.queue).await
        {
            tracing::warn!(
                error = format!("{err:#}"),
                "exporter queue not declared yet"
            );
        }
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
        let metrics = tokio::spawn(self.metrics.serve(shutdown.clone()));
        let consumer = Consumer {
            pool: self.pool.clone(),
            amqp_url: self.config.amqp_url.clone(),
            queue: self.config.queue.clone(),
        }
        .spawn(shutdown.clone());
        // Health only (grpc.health.v1 and reflection), for probes.
        let served =
            shop_common::grpc::serve(self.listener, Routes::default(), &[], shutdown.clone()).await;
        shutdown.cancel();
        let _ = consumer.await;
        metrics::stopped(metrics).await;
        served
    }
}
