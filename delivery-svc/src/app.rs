//! Building and running delivery-svc: pool, migrations, Redis, listener, gRPC routes,
//! and the automatic-receipt worker.

use std::net::SocketAddr;

use anyhow::Context;
use shop_common::{
    CancellationToken, app::Service, auth::InternalAuth, db, metrics, secret::ExposeSecret, worker,
};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::{
    Config,
    deliveries::Deliveries,
    grpc, relay, retention,
    store::{holds::Holds, receipts, redis::Redis},
};

/// Deliveries received per round of the automatic-receipt worker.
const RECEIPT_BATCH: usize = 100;

pub struct App {
    listener: TcpListener,
    metrics: metrics::Endpoint,
    pool: PgPool,
    deliveries: Deliveries,
    config: Config,
}

impl App {
    /// Connects to Postgres, migrates and binds. Redis is connected lazily so the
    /// service starts (and answers UNAVAILABLE for holds) while Redis is down.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = db::connect_with(
            config.database_url.expose_secret(),
            config.db_max_connections,
            config.db_timeouts,
        )
        .await?;
        db::migrate(&pool, &sqlx::migrate!("./migrations")).await?;
        let redis = Redis::connect_lazily(config.redis_url.expose_secret(), config.redis_timeout)
            .context("REDIS_URL")?;
        // WAIT gets half of the command bound, so a missing replica is a clear
        // UNAVAILABLE rather than a timeout.
        let holds =
            Holds::new(redis).with_min_replicas(config.hold_min_replicas, config.redis_timeout / 2);
        let deliveries = Deliveries::new(
            pool.clone(),
            holds,
            config.auto_receive_after,
            config.hold_max_ttl,
        );
        let listener = TcpListener::bind(config.listen_addr).await?;
        let metrics = metrics::Endpoint::bind(config.metrics_addr)
            .await?
            .on_scrape(db::pool_gauges(pool.clone()))
            .on_scrape(db::outbox_head_gauge(
                pool.clone(),
                "delivery",
                "delivery_events",
            ));
        Ok(Self {
            listener,
            metrics,
            pool,
            deliveries,
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
        let pool = self.pool.clone();
        let receipts = worker::spawn_periodic(
            "auto-receipt",
            self.config.timer_every,
            RECEIPT_BATCH,
            shutdown.clone(),
            move || {
                let pool = pool.clone();
                async move { Ok(receipts::receive_due(&pool, RECEIPT_BATCH as i64).await?) }
            },
        );
        let relay = self
            .config
            .events
            .clone()
            .map(|events| relay::spawn(self.pool.clone(), events, shutdown.clone()));
        let keep = retention::Keep {
            personal_data: self.config.pii_retention,
            logs: self.config.log_retention,
            relay_on: self.config.events.is_some(),
        };
        let retention = retention::spawn(
            self.pool.clone(),
            self.config.retention_every,
            keep,
            shutdown.clone(),
        );
        let server = grpc::server(
            self.deliveries,
            shutdown.clone(),
            InternalAuth::new(self.config.internal_token.clone()),
        );
        let served = shop_common::grpc::serve(
            self.listener,
            Routes::new(server),
            &[grpc::SERVICE_NAME],
            shutdown.clone(),
        )
        .await;
        // The server may stop on its own (an error): stop the worker too.
        shutdown.cancel();
        let _ = receipts.await;
        if let Some(relay) = relay {
            let _ = relay.await;
        }
        let _ = retention.await;
        metrics::stopped(metrics).await;
        served
    }
}
