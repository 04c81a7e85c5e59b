//! Building and running delivery-svc: its routes (DeliveryService, over the holds in
//! Redis) and its workers (automatic receipt, the event relay, retention) on the
//! shared [`Bound`] shape.

use std::net::SocketAddr;

use anyhow::Context;
use shop_common::{
    CancellationToken,
    app::Service,
    auth::InternalAuth,
    db,
    secret::ExposeSecret,
    serving::{Bound, Workers},
    worker,
};
use sqlx::PgPool;
use tonic::service::Routes;

use crate::{
    Config, grpc, relay, retention,
    store::{holds::Holds, redis::Redis},
    usecase::{Deliveries, receipts},
};

/// The gRPC service this app serves, as health and reflection report it.
pub const SERVICE_NAME: &str = "shop.delivery.v1.DeliveryService";

/// Deliveries received per round of the automatic-receipt worker.
const RECEIPT_BATCH: usize = 100;

pub struct App {
    bound: Bound,
    config: Config,
    deliveries: Deliveries,
}

impl App {
    /// Connects to Postgres, migrates and binds. Redis is connected lazily so the
    /// service starts (and answers UNAVAILABLE for holds) while Redis is down.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let bound = Bound::bind(config.serving(), &sqlx::migrate!("./migrations")).await?;
        let redis = Redis::connect_lazily(config.redis_url.expose_secret(), config.redis_timeout)
            .context("REDIS_URL")?;
        // WAIT gets half of the command bound, so a missing replica is a clear
        // UNAVAILABLE rather than a timeout.
        let holds =
            Holds::new(redis).with_min_replicas(config.hold_min_replicas, config.redis_timeout / 2);
        let deliveries = Deliveries::new(
            bound.pool().clone(),
            holds,
            config.auto_receive_after,
            config.hold_max_ttl,
        );
        let outbox = db::outbox_head_gauge(bound.pool().clone(), "delivery", "delivery_events");
        Ok(Self {
            bound: bound.on_scrape(outbox),
            config,
            deliveries,
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
        let receipts_pool = pool.clone();
        workers.add(
            "auto-receipt worker",
            worker::spawn_periodic(
                "auto-receipt",
                config.timer_every,
                RECEIPT_BATCH,
                shutdown.clone(),
                move || {
                    let pool = receipts_pool.clone();
                    async move { Ok(receipts::receive_due(&pool, RECEIPT_BATCH as i64).await?) }
                },
            ),
        );
        workers.add_optional(
            "event relay",
            config
                .events
                .clone()
                .map(|events| relay::spawn(pool.clone(), events, shutdown.clone())),
        );
        let keep = retention::Keep {
            personal_data: config.pii_retention,
            logs: config.log_retention,
            relay_on: config.events.is_some(),
        };
        workers.add(
            "retention job",
            retention::spawn(pool, config.retention_every, keep, shutdown.clone()),
        );
        let server = grpc::server(
            self.deliveries,
            shutdown.clone(),
            InternalAuth::new(config.internal_token.clone()),
        );
        self.bound
            .serve(Routes::new(server), &[SERVICE_NAME], workers, shutdown)
            .await
    }
}
