//! Logs and traces: `tracing` to stderr, filtered by `RUST_LOG` (default `info`;
//! `LOG_FORMAT=json` for one JSON object per line, with the `trace_id` and `span_id`
//! of the span it was written in), and every span also an OpenTelemetry span.
//!
//! The OpenTelemetry layer is always there, so the W3C trace context travels between
//! the services and log lines carry trace ids with or without a collector. Spans are
//! exported over OTLP/gRPC only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; the other
//! standard variables (`OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_HEADERS`,
//! `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_TRACES_SAMPLER`, ...) mean what they mean
//! everywhere.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{
    Resource, runtime,
    trace::{SdkTracerProvider, span_processor_with_async_runtime::BatchSpanProcessor},
};
use tracing_subscriber::{
    EnvFilter, Layer, filter::Targets, fmt, layer::SubscriberExt, util::SubscriberInitExt,
};

use crate::config::{self, EnvSource};

/// The log filter when `RUST_LOG` is unset.
const DEFAULT_LOG: &str = "info,sqlx=warn,h2=warn,tower=warn,hyper=warn";
/// How long the last spans get to reach the collector when the process stops.
const FLUSH_PATIENCE: Duration = Duration::from_secs(5);

/// The installed telemetry; [`Telemetry::shutdown`] sends the spans still buffered.
#[must_use = "keep it until the end and call shutdown, or the last spans are lost"]
pub struct Telemetry {
    provider: SdkTracerProvider,
    exporting: bool,
}

/// Installs the global subscriber once for the process; a second call (tests start
/// several apps in one process) keeps the first and returns a handle that exports
/// nothing. `service` is the default `service.name` of exported spans. Call it inside
/// the tokio runtime: the exporter's batches are sent from a task on it.
pub fn init(service: &str, env: &dyn EnvSource) -> anyhow::Result<Telemetry> {
    let endpoint = config::optional(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
    let name = config::optional(env, "OTEL_SERVICE_NAME").unwrap_or_else(|| service.to_owned());
    let mut provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(name).build());
    if let Some(endpoint) = &endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .map_err(|err| anyhow::anyhow!("OTEL_EXPORTER_OTLP_ENDPOINT {endpoint:?}: {err}"))?;
        provider = provider
            .with_span_processor(BatchSpanProcessor::builder(exporter, runtime::Tokio).build());
    }
    let provider = provider.build();
    let otel = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("shop"))
        .with_filter(span_filter());

    let log_filter = config::optional(env, "RUST_LOG")
        .and_then(|filter| EnvFilter::try_new(filter).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_LOG));
    let json = env
        .get("LOG_FORMAT")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("json"));
    let logs = if json {
        json_subscriber::layer()
            .with_current_span(true)
            .with_span_list(true)
            .with_opentelemetry_ids(true)
            .with_writer(std::io::stderr)
            .with_filter(log_filter)
            .boxed()
    } else {
        fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(log_filter)
            .boxed()
    };
    let installed = tracing_subscriber::registry()
        .with(otel)
        .with(logs)
        .try_init()
        .is_ok();
    if installed && endpoint.is_some() {
        tracing::info!(endpoint = endpoint.as_deref(), "exporting traces over OTLP");
    }
    Ok(Telemetry {
        provider,
        exporting: installed && endpoint.is_some(),
    })
}

/// The spans that become OpenTelemetry spans, whatever `RUST_LOG` says: ours at info
/// and above, the libraries' only when they warn.
fn span_filter() -> Targets {
    Targets::new()
        .with_default(tracing::Level::INFO)
        .with_target("sqlx", tracing::Level::WARN)
        .with_target("h2", tracing::Level::WARN)
        .with_target("hyper", tracing::Level::WARN)
        .with_target("tower", tracing::Level::WARN)
        .with_target("tonic", tracing::Level::WARN)
}

impl Telemetry {
    /// Whether spans leave the process (an endpoint is set and this call installed it).
    pub fn is_exporting(&self) -> bool {
        self.exporting
    }

    /// Sends the buffered spans now (bounded), for tests that read the collector.
    pub async fn flush(&self) -> anyhow::Result<()> {
        let provider = self.provider.clone();
        let flushed = tokio::time::timeout(
            FLUSH_PATIENCE,
            tokio::task::spawn_blocking(move || provider.force_flush()),
        )
        .await
        .map_err(|_| anyhow::anyhow!("spans not flushed within {FLUSH_PATIENCE:?}"))??;
        flushed.map_err(|err| anyhow::anyhow!("flushing spans: {err}"))
    }

    /// Flushes and stops the exporter (bounded); later spans are dropped.
    pub async fn shutdown(self) {
        if !self.exporting {
            return;
        }
        let provider = self.provider;
        let stopped = tokio::time::timeout(
            FLUSH_PATIENCE,
            tokio::task::spawn_blocking(move || provider.shutdown()),
        )
        .await;
        if !matches!(stopped, Ok(Ok(Ok(())))) {
            eprintln!("telemetry: the last spans may not have reached the collector");
        }
    }
}
