//! Building and running the exporter: no routes of its own (health only, for probes)
//! and one worker (the consumer) on the shared [`Bound`] shape.

use std::net::SocketAddr;

use shop_common::{
    CancellationToken,
    app::Service,
    secret::ExposeSecret,
    serving::{Bound, Workers},
};
use sqlx::PgPool;
use tonic::service::Routes;

use crate::{
    Config,
    consumer::{self, Consumer},
};

pub struct App {
    bound: Bound,
    config: Config,
}

impl App {
    /// Connects to its database, migrates, declares its queue and binds. The broker is
    /// consumed when running, and reconnected for as long as it is away.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let bound = Bound::bind(config.serving(), &sqlx::migrate!("./migrations")).await?;
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
        let mut workers = Workers::new();
        let consumer = Consumer {
            pool: self.bound.pool().clone(),
            amqp_url: self.config.amqp_url.clone(),
            queue: self.config.queue.clone(),
        };
        workers.add("event consumer", consumer.spawn(shutdown.clone()));
        self.bound
            .serve(Routes::default(), &[], workers, shutdown)
            .await
    }
}
