//! Prometheus metrics: the process's one recorder (the `metrics` facade, rendered by
//! metrics-exporter-prometheus) and the `/metrics` endpoint every binary serves on its
//! own `METRICS_ADDR`, off the gRPC port. Code records with the `metrics` macros;
//! gauges that are cheaper to read than to track (pool sizes, outbox heads) are read
//! by scrape hooks just before each render.

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, OnceLock},
    time::Duration,
};

use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Buckets of every `*_seconds` histogram: 1 ms to 30 s, about x2.5 apart.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Longest a scrape hook may take; a slow one is skipped for that scrape.
const HOOK_PATIENCE: Duration = Duration::from_secs(1);
/// How often histogram samples are folded in when nobody scrapes (bounds memory).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Something to read just before a scrape is rendered (say, a gauge from the database).
pub type Hook = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A scrape hook from an async closure.
pub fn hook<F, Fut>(read: F) -> Hook
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move || Box::pin(read()))
}

/// The recorder of this process, installed on first use. Tests run several apps in
/// one process: they share it, as they share the tracing subscriber.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if ::metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics will be empty");
        }
        handle
    })
}

/// The bound `/metrics` listener and the hooks to run before each render.
pub struct Endpoint {
    listener: TcpListener,
    hooks: Vec<Hook>,
}

impl Endpoint {
    /// Installs the recorder (once) and binds `addr`.
    pub async fn bind(addr: SocketAddr) -> anyhow::Result<Self> {
        handle();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|err| anyhow::anyhow!("METRICS_ADDR {addr}: {err}"))?;
        Ok(Self {
            listener,
            hooks: Vec::new(),
        })
    }

    /// The address actually bound (port 0 resolved).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Runs `hook` before every render.
    #[must_use]
    pub fn on_scrape(mut self, hook: Hook) -> Self {
        self.hooks.push(hook);
        self
    }

    /// Serves `GET /metrics` until `shutdown`.
    pub async fn serve(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let upkeep = tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(UPKEEP_EVERY) => handle().run_upkeep(),
                    }
                }
            }
        });
        let router = Router::new()
            .route("/metrics", get(render))
            .with_state(Arc::new(self.hooks));
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        upkeep.abort();
        Ok(served?)
    }
}

/// Waits for a spawned [`Endpoint::serve`] to end (after shutdown) and logs a failure.
pub async fn stopped(task: tokio::task::JoinHandle<anyhow::Result<()>>) {
    match task.await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!(error = format!("{err:#}"), "the metrics endpoint failed"),
        Err(err) => tracing::warn!(error = %err, "the metrics endpoint ended abnormally"),
    }
}

async fn render(State(hooks): State<Arc<Vec<Hook>>>) -> impl IntoResponse {
    for hook in hooks.iter() {
        if tokio::time::timeout(HOOK_PATIENCE, hook()).await.is_err() {
            tracing::debug!("a metrics scrape hook timed out");
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle().render(),
    )
}
