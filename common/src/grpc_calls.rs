//! The span and the metrics of every call a gRPC server accepts: a server span that
//! continues the caller's W3C trace, `shop_grpc_server_requests_total{method,code}`
//! and `shop_grpc_server_request_duration_seconds{method}`, both taken when the answer
//! ends (its `grpc-status`, in the headers of an error or the trailers of a success).

use std::{
    collections::HashSet,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::Instant,
};

use http_body::{Body, Frame};
use tonic::Code;
use tower::{Layer, Service};
use tracing::Instrument;

/// Methods outside the served contract (a probe with a made-up path) share this label,
/// so callers cannot grow the label set.
const UNKNOWN_METHOD: &str = "unknown";

/// Adds the per-call span and metrics; `methods` are the `/package.Service/Method`
/// paths served (the others are labelled "unknown").
#[derive(Clone)]
pub struct CallsLayer {
    methods: Arc<HashSet<String>>,
}

impl CallsLayer {
    pub fn new(methods: HashSet<String>) -> Self {
        Self {
            methods: Arc::new(methods),
        }
    }
}

impl<S> Layer<S> for CallsLayer {
    type Service = Calls<S>;

    fn layer(&self, inner: S) -> Calls<S> {
        Calls {
            inner,
            methods: Arc::clone(&self.methods),
        }
    }
}

#[derive(Clone)]
pub struct Calls<S> {
    inner: S,
    methods: Arc<HashSet<String>>,
}

impl<S, B, R> Service<http::Request<B>> for Calls<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    R: Body,
{
    type Response = http::Response<Metered<R>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        let method: Arc<str> = if self.methods.contains(path) {
            Arc::from(path.trim_start_matches('/'))
        } else {
            Arc::from(UNKNOWN_METHOD)
        };
        let (service, name) = method.split_once('/').unwrap_or((&method, ""));
        let request_id = request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let span = tracing::info_span!(
            "grpc",
            otel.name = %method,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            rpc.system = "grpc",
            rpc.service = service,
            rpc.method = name,
            rpc.grpc.status_code = tracing::field::Empty,
            request_id,
        );
        crate::trace::continue_from(&span, request.headers());
        // Inside the span, so what the call spawns (see `detach`) runs in it too.
        let call = span.in_scope(|| self.inner.call(request));
        let mut pending = Pending(Some(Ended {
            method,
            started: Instant::now(),
            span: span.clone(),
        }));
        Box::pin(
            async move {
                let response = call.await?;
                let code = response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map(Code::from_i32);
                let ended = pending.0.take();
                Ok(response.map(|body| Metered { body, ended, code }))
            }
            .instrument(span),
        )
    }
}

/// The call until its answer starts: dropped before that (the caller's deadline passed
/// or it hung up, and tonic dropped the call), it is recorded as CANCELLED.
struct Pending(Option<Ended>);

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(ended) = self.0.take() {
            ended.record(Code::Cancelled);
        }
    }
}

/// What is recorded once the answer is over.
struct Ended {
    method: Arc<str>,
    started: Instant,
    /// Kept open until then: the call's span covers the whole answer.
    span: tracing::Span,
}

impl Ended {
    fn record(self, code: Code) {
        let name = code_name(code);
        self.span.record("rpc.grpc.status_code", code as i32);
        if is_server_fault(code) {
            self.span.record("otel.status_code", "ERROR");
        }
        let method = self.method.to_string();
        metrics::counter!("shop_grpc_server_requests_total", "method" => method.clone(), "code" => name)
            .increment(1);
        metrics::histogram!("shop_grpc_server_request_duration_seconds", "method" => method)
            .record(self.started.elapsed().as_secs_f64());
    }
}

/// A response body that records the call when its last frame has gone (or the caller
/// hung up first: CANCELLED).
pub struct Metered<B> {
    body: B,
    ended: Option<Ended>,
    code: Option<Code>,
}

impl<B> Metered<B> {
    fn finish(&mut self, code: Code) {
        if let Some(ended) = self.ended.take() {
            ended.record(code);
        }
    }
}

impl<B: Body + Unpin> Body for Metered<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let frame = ready!(Pin::new(&mut this.body).poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let code = trailers
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<i32>().ok())
                        .map_or(Code::Unknown, Code::from_i32);
                    this.finish(code);
                }
            }
            Some(Err(_)) => this.finish(Code::Internal),
            None => {
                let code = this.code.unwrap_or(Code::Ok);
                this.finish(code);
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl<B> Drop for Metered<B> {
    fn drop(&mut self) {
        let code = self.code.unwrap_or(Code::Cancelled);
        self.finish(code);
    }
}

/// Codes that mean the server (or what it depends on) failed, not the caller.
fn is_server_fault(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::Internal
            | Code::Unavailable
            | Code::DeadlineExceeded
            | Code::DataLoss
            | Code::Unimplemented
    )
}

/// The canonical name of a code, as the gRPC spec and grpcurl spell it.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
