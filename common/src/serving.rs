//! What every service's `App` holds and how its run ends, written once: [`Bound`] (the
//! pool, migrated; the gRPC listener; the `/metrics` endpoint) and [`Workers`] (the
//! background tasks, each awaited and logged at shutdown). A service's `app.rs` keeps
//! only what is its own: its routes and its workers.

use std::net::SocketAddr;

use sqlx::{PgPool, migrate::Migrator};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

use crate::{
    db, metrics,
    secret::{ExposeSecret, Secret},
};

/// What [`Bound::bind`] needs from a service's config.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// gRPC address (`LISTEN_ADDR`); port 0 picks a free one.
    pub listen_addr: SocketAddr,
    /// Prometheus `/metrics` address (`METRICS_ADDR`).
    pub metrics_addr: SocketAddr,
    /// The service's own database.
    pub database_url: &'a Secret,
    pub db_max_connections: u32,
    pub db_timeouts: db::Timeouts,
}

/// A service connected, migrated and bound; nothing is served until [`Bound::serve`].
pub struct Bound {
    listener: TcpListener,
    metrics: metrics::Endpoint,
    pool: PgPool,
    settings: (SocketAddr, SocketAddr),
}

impl Bound {
    /// Connects the pool (its gauges on every scrape), runs `migrator`, binds the gRPC
    /// listener and the metrics endpoint.
    pub async fn bind(settings: Settings<'_>, migrator: &Migrator) -> anyhow::Result<Self> {
        let pool = db::connect_with(
            settings.database_url.expose_secret(),
            settings.db_max_connections,
            settings.db_timeouts,
        )
        .await?;
        db::migrate(&pool, migrator).await?;
        let listener = TcpListener::bind(settings.listen_addr).await?;
        let metrics = metrics::Endpoint::bind(settings.metrics_addr)
            .await?
            .on_scrape(db::pool_gauges(pool.clone()));
        Ok(Self {
            listener,
            metrics,
            pool,
            settings: (settings.listen_addr, settings.metrics_addr),
        })
    }

    /// Adds a gauge the metrics endpoint sets on every scrape.
    pub fn on_scrape(mut self, hook: metrics::Hook) -> Self {
        self.metrics = self.metrics.on_scrape(hook);
        self
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The gRPC address actually bound (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.settings.0)
    }

    /// The `/metrics` address actually bound.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics.local_addr().unwrap_or(self.settings.1)
    }

    /// Serves `routes` (health and reflection report `services`) and `/metrics` until
    /// `shutdown`. Then cancels `shutdown` (the server may also stop on its own, with
    /// an error) so every worker stops, and waits for each before returning.
    pub async fn serve(
        self,
        routes: Routes,
        services: &[&str],
        workers: Workers,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let metrics = tokio::spawn(self.metrics.serve(shutdown.clone()));
        let served = crate::grpc::serve(self.listener, routes, services, shutdown.clone()).await;
        shutdown.cancel();
        workers.finish().await;
        metrics::stopped(metrics).await;
        served
    }
}

/// A service's background tasks, stopped by the shutdown token and awaited in
/// [`Workers::finish`], so that no round outlives the app.
#[derive(Default)]
pub struct Workers(Vec<(&'static str, JoinHandle<()>)>);

impl Workers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a task, named as its "... ended abnormally" log line names it.
    pub fn add(&mut self, name: &'static str, task: JoinHandle<()>) {
        self.0.push((name, task));
    }

    /// Adds a task that may not run (`None`: a relay with no broker).
    pub fn add_optional(&mut self, name: &'static str, task: Option<JoinHandle<()>>) {
        if let Some(task) = task {
            self.add(name, task);
        }
    }

    /// Waits for every task; one that panicked or was aborted is logged by name.
    pub async fn finish(self) {
        for (name, task) in self.0 {
            if let Err(err) = task.await {
                tracing::warn!(worker = name, error = %err, "{name} ended abnormally");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn finish_waits_for_every_worker_even_after_one_panicked() {
        let mut workers = Workers::new();
        let (tx, rx) = tokio::sync::oneshot::channel();
        workers.add("panics", tokio::spawn(async { panic!("boom") }));
        workers.add_optional("absent", None);
        workers.add(
            "slow",
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                let _ = tx.send(());
            }),
        );
        workers.finish().await;
        assert!(rx.await.is_ok(), "the slow worker ran to its end");
    }
}
