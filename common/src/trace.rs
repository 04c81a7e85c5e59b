//! The W3C trace context (`traceparent`, `tracestate`) across calls: taken from an
//! incoming request as the parent of its span (a new trace when absent or malformed),
//! and put on every outgoing internal call from the current span.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Puts the current span's trace context on an outgoing call. Without a trace (no
/// telemetry installed) it adds nothing.
pub fn inject(metadata: &mut MetadataMap) {
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut MetadataInjector(metadata));
}

/// Makes the trace context of an incoming request's headers the parent of `span`.
/// Without one, `span` starts a new trace.
pub fn continue_from(span: &tracing::Span, headers: &http::HeaderMap) {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    // Fails only when the span is disabled (filtered out): then there is nothing to link.
    let _ = span.set_parent(parent);
}

struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value),
        ) {
            self.0.insert(key, value);
        }
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn with_tracing(test: impl FnOnce()) {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, test);
    }

    #[test]
    fn an_incoming_traceparent_is_continued_and_passed_on() {
        with_tracing(|| {
            let mut headers = http::HeaderMap::new();
            headers.insert("traceparent", PARENT.parse().unwrap());
            let span = tracing::info_span!("server");
            continue_from(&span, &headers);
            let _entered = span.enter();

            let mut outgoing = MetadataMap::new();
            inject(&mut outgoing);
            let sent = outgoing.get("traceparent").unwrap().to_str().unwrap();
            assert!(
                sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
                "same trace: {sent}"
            );
            assert!(!sent.contains("00f067aa0ba902b7"), "a new span id: {sent}");
        });
    }

    #[test]
    fn without_a_traceparent_a_new_trace_starts() {
        with_tracing(|| {
            let mut headers = http::HeaderMap::new();
            headers.insert("traceparent", "garbage".parse().unwrap());
            let span = tracing::info_span!("server");
            continue_from(&span, &headers);
            let trace = span.context().span().span_context().trace_id();
            assert_ne!(trace, opentelemetry::trace::TraceId::INVALID);
            assert_ne!(trace.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        });
    }

    #[test]
    fn without_telemetry_nothing_is_injected() {
        let mut outgoing = MetadataMap::new();
        inject(&mut outgoing);
        assert!(outgoing.is_empty());
    }
}
