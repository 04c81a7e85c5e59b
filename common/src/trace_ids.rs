//! The OpenTelemetry `trace_id` and `span_id` of the span a log line is written in,
//! kept on that span for the JSON log layer to print.

use std::sync::OnceLock;

use opentelemetry::trace::TraceContextExt;
use tracing::{Dispatch, Event, Subscriber, dispatcher::WeakDispatch};
use tracing_subscriber::{Layer, layer::Context, registry::LookupSpan};

/// The ids of a span, as the log layer prints them.
#[derive(Debug, Clone)]
pub struct TraceIds {
    pub trace_id: String,
    pub span_id: String,
}

/// Before each event, stores the [`TraceIds`] of the event's span in its extensions
/// (read at event time: a server span gets its remote parent just after it is made).
/// Goes after the OpenTelemetry layer and before the log layer.
#[derive(Default)]
pub struct TraceIdsLayer {
    dispatch: OnceLock<WeakDispatch>,
}

impl<S> Layer<S> for TraceIdsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, dispatch: &Dispatch) {
        let _ = self.dispatch.set(dispatch.downgrade());
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let Some(dispatch) = self.dispatch.get().and_then(WeakDispatch::upgrade) else {
            return;
        };
        // Not while holding the span's extensions: this reads them.
        let Some(context) = tracing_opentelemetry::get_otel_context(&span.id(), &dispatch) else {
            return;
        };
        let otel = context.span();
        let ids = otel.span_context();
        if !ids.is_valid() {
            return;
        }
        let ids = TraceIds {
            trace_id: ids.trace_id().to_string(),
            span_id: ids.span_id().to_string(),
        };
        span.extensions_mut().replace(ids);
    }
}
