//! Logs and traces: `tracing` to stderr, filtered by `RUST_LOG` (default `info`;
//! `LOG_FORMAT=json` for one JSON object per line, with the `trace_id` and `span_id`
//! of the span it was written in), and every span also an OpenTelemetry span.
//!
//! The OpenTelemetry layer is always there, so the W3C trace context travels between
//! the services and log lines carry trace ids with or without a collector. Spans are
//! exported over OTLP/gRPC only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; the other standard variables
//! (`OTEL_SERVICE_NAME`, `OTEL_SDK_DISABLED`, `OTEL_EXPORTER_OTLP_HEADERS`,
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
    EnvFilter, Layer,
    filter::{FilterFn, LevelFilter, filter_fn},
    fmt,
    layer::SubscriberExt,
    util::SubscriberInitExt,
};

use crate::{
    config::{self, EnvSource},
    trace_ids::{TraceIds, TraceIdsLayer},
};

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
    let endpoint = export_endpoint(env);
    let name = config::optional(env, "OTEL_SERVICE_NAME").unwrap_or_else(|| service.to_owned());
    let mut provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(name).build());
    if let Some(endpoint) = &endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .map_err(|err| anyhow::anyhow!("OTLP endpoint {endpoint:?}: {err}"))?;
        provider = provider
            .with_span_processor(BatchSpanProcessor::builder(exporter, runtime::Tokio).build());
    }
    let provider = provider.build();
    let json = env
        .get("LOG_FORMAT")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("json"));
    let log_filter = config::optional(env, "RUST_LOG")
        .and_then(|filter| EnvFilter::try_new(filter).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_LOG));
    let filter = span_filter(&log_filter);
    let otel = span_layer(&provider);
    let logs = log_layer(json, log_filter, std::io::stderr);
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(otel)
        .with(TraceIdsLayer::default())
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

/// Where spans go: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else
/// `OTEL_EXPORTER_OTLP_ENDPOINT`; nowhere when neither is set, or when
/// `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` say so.
fn export_endpoint(env: &dyn EnvSource) -> Option<String> {
    let said = |name, value: &str| {
        config::optional(env, name).is_some_and(|v| v.eq_ignore_ascii_case(value))
    };
    if said("OTEL_SDK_DISABLED", "true") || said("OTEL_TRACES_EXPORTER", "none") {
        return None;
    }
    config::optional(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .or_else(|| config::optional(env, "OTEL_EXPORTER_OTLP_ENDPOINT"))
}

/// Every span that [`span_filter`] lets through also an OpenTelemetry span of
/// `provider` (it gets no filter of its own: a per-layer filter on it makes other
/// layers lose events, tokio-rs/tracing-opentelemetry#257).
fn span_layer<S>(provider: &SdkTracerProvider) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer("shop"))
}

/// Log lines to `writer`: text, or JSON objects with the current span, the span list
/// and the `trace_id` / `span_id` of the span they were written in (see
/// [`TraceIdsLayer`], which must run before it).
fn log_layer<S, W>(json: bool, filter: EnvFilter, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    if json {
        let mut layer = json_subscriber::layer()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(writer);
        let ids = layer.inner_layer_mut();
        ids.add_from_extension_ref::<TraceIds, _, _>("trace_id", |ids| Some(&ids.trace_id));
        ids.add_from_extension_ref::<TraceIds, _, _>("span_id", |ids| Some(&ids.span_id));
        layer.with_filter(filter).boxed()
    } else {
        fmt::layer().with_writer(writer).with_filter(filter).boxed()
    }
}

/// The filter in front of every layer: spans whatever `RUST_LOG` says (ours at info
/// and above, the noisy libraries' none), so traces do not depend on the log level;
/// events up to the most verbose level the log filter wants (it picks among them).
fn span_filter(
    log_filter: &EnvFilter,
) -> FilterFn<impl Fn(&tracing::Metadata<'_>) -> bool + use<>> {
    let events = log_filter
        .max_level_hint()
        .map_or(LevelFilter::INFO, |hint| hint.max(LevelFilter::INFO));
    filter_fn(move |metadata| {
        if metadata.is_span() {
            *metadata.level() <= tracing::Level::INFO
                && !NOISY
                    .iter()
                    .any(|noisy| metadata.target().starts_with(noisy))
        } else {
            *metadata.level() <= events
        }
    })
}

/// Libraries whose spans are not worth a trace.
const NOISY: &[&str] = &["h2", "hyper", "tower", "tonic", "sqlx", "reqwest"];

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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    use super::*;

    /// Log output collected in memory.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn export_follows_the_standard_variables() {
        let env =
            |pairs: &[(&'static str, &str)]| -> std::collections::HashMap<&'static str, String> {
                pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
            };
        assert_eq!(export_endpoint(&env(&[])), None);
        let both = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4317"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:4317"),
        ]);
        assert_eq!(export_endpoint(&both).as_deref(), Some("http://b:4317"));
        let general = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4317")]);
        assert_eq!(export_endpoint(&general).as_deref(), Some("http://a:4317"));
        let disabled = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4317"),
            ("OTEL_SDK_DISABLED", "TRUE"),
        ]);
        assert_eq!(export_endpoint(&disabled), None);
        let none = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4317"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ]);
        assert_eq!(export_endpoint(&none), None);
    }

    #[test]
    fn json_lines_inside_a_span_carry_its_trace_and_span_ids() {
        let provider = SdkTracerProvider::builder().build();
        let lines = Lines::default();
        let writer = lines.clone();
        let filter = EnvFilter::new("info");
        let subscriber = tracing_subscriber::registry()
            .with(span_filter(&filter))
            .with(span_layer(&provider))
            .with(TraceIdsLayer::default())
            .with(log_layer(true, filter, move || writer.clone()));
        let (trace_id, span_id) = tracing::subscriber::with_default(subscriber, || {
            let route = "/v1/x";
            let span = tracing::info_span!("work", order_id = "o-1", otel.name = %format_args!("GET {route}"), otel.kind = "server", http.route = %route, http.response.status_code = tracing::field::Empty);
            let context = span.context();
            let ids = context.span().span_context().clone();
            span.in_scope(|| tracing::info!("inside"));
            tracing::info!("outside");
            (ids.trace_id().to_string(), ids.span_id().to_string())
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["trace_id"], trace_id.as_str(), "{text}");
        assert_eq!(lines[0]["span_id"], span_id.as_str(), "{text}");
        assert_eq!(lines[0]["span"]["order_id"], "o-1", "{text}");
        assert!(
            lines[1].get("trace_id").is_none(),
            "no span, no ids: {text}"
        );
    }
}
