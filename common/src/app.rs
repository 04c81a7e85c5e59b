//! The shape every binary shares: parse the config, build the app (migrations, bound
//! listener), serve until SIGINT/SIGTERM, drain, exit. `main.rs` is a single call.

use std::{future::Future, net::SocketAddr, process::ExitCode};

use tokio_util::sync::CancellationToken;

use crate::config::{ConfigError, EnvSource, ProcessEnv};

/// The allocator of every binary that links this crate (the services, the benchmark,
/// the tests): mimalloc instead of glibc's malloc, whose allocations, frees and
/// consolidation took about a fifth of the services' own CPU under load (BENCHMARKS.md,
/// "Current results").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A built service: bound to its address(es) and ready to serve.
pub trait Service: Sized + Send + 'static {
    /// The gRPC address actually bound (port 0 resolved).
    fn local_addr(&self) -> SocketAddr;
    /// Serves until `shutdown` is cancelled, then drains within the grace period.
    fn run_until_stopped(
        self,
        shutdown: CancellationToken,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Runs a binary: telemetry, config from the environment, build, serve until a signal,
/// then send the last spans. A configuration error is one line on stderr naming the
/// variable, and exit code 2.
pub async fn main<C, A, Fut>(
    name: &'static str,
    load: impl FnOnce(&dyn EnvSource) -> Result<C, ConfigError>,
    build: impl FnOnce(C) -> Fut,
) -> ExitCode
where
    A: Service,
    Fut: Future<Output = anyhow::Result<A>>,
{
    let telemetry = match crate::telemetry::init(name, &ProcessEnv) {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("{name}: configuration error: {err:#}");
            return ExitCode::from(2);
        }
    };
    let code = run(name, load, build).await;
    telemetry.shutdown().await;
    code
}

async fn run<C, A, Fut>(
    name: &'static str,
    load: impl FnOnce(&dyn EnvSource) -> Result<C, ConfigError>,
    build: impl FnOnce(C) -> Fut,
) -> ExitCode
where
    A: Service,
    Fut: Future<Output = anyhow::Result<A>>,
{
    let config = match load(&ProcessEnv) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{name}: {err}");
            return ExitCode::from(2);
        }
    };
    let app = match build(config).await {
        Ok(app) => app,
        Err(err) => {
            eprintln!("{name}: cannot start: {err:#}");
            return ExitCode::from(1);
        }
    };
    tracing::info!(service = name, addr = %app.local_addr(), "serving gRPC");
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        crate::shutdown::signal().await;
        trigger.cancel();
    });
    match app.run_until_stopped(shutdown).await {
        Ok(()) => {
            tracing::info!(service = name, "stopped");
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!(service = name, error = format!("{err:#}"), "failed");
            ExitCode::from(1)
        }
    }
}
