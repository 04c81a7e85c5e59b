//! The span and the metrics of every REST request: a server span that continues the
//! caller's W3C `traceparent` (a new trace when absent), and
//! `shop_http_requests_total{route,status}` with
//! `shop_http_request_duration_seconds{route}`, labelled by the route template
//! (`/v1/orders/{id}`), never by the path a caller sent.

use std::time::{Duration, Instant};

use axum::{
    body::Body,
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};
use tower_http::{
    classify::{ServerErrorsAsFailures, SharedClassifier},
    trace::TraceLayer,
};

/// What requests matching no route are labelled.
const UNMATCHED: &str = "unmatched";

/// The route template of a request, once routing has matched it.
fn route(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |path| path.as_str().to_owned())
}

/// Counts and times each request by route and status (a middleware for `Router::layer`).
pub async fn record(request: Request, next: Next) -> Response {
    let route = route(&request);
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("shop_http_requests_total", "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("shop_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

type MakeSpan = fn(&Request) -> tracing::Span;
type OnResponse = fn(&Response, Duration, &tracing::Span);

/// A span per request (`GET /v1/orders/{id}`), child of the caller's trace.
pub fn spans() -> TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    MakeSpan,
    tower_http::trace::DefaultOnRequest,
    OnResponse,
> {
    TraceLayer::new_for_http()
        .make_span_with(request_span as MakeSpan)
        .on_response(record_status as OnResponse)
}

fn request_span(request: &Request<Body>) -> tracing::Span {
    let route = route(request);
    let method = request.method().as_str();
    let span = tracing::info_span!(
        "http",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
    );
    shop_common::trace::continue_from(&span, request.headers());
    span
}

fn record_status(response: &Response, latency: Duration, span: &tracing::Span) {
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    tracing::debug!(status = status.as_u16(), latency = ?latency, "answered");
}
