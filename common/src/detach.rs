//! Every call a server accepts runs to its end in a task of its own, bounded by a hard
//! deadline: the caller's budget plus [`SLACK`].
//!
//! A request future can be dropped at any await: the client's `grpc-timeout` elapses
//! (tonic then answers DEADLINE_EXCEEDED and drops the handler), the client hangs up,
//! an HTTP connection closes. A handler dropped inside `pool.begin()` can leave its
//! pooled PostgreSQL connection inside a transaction nobody will end (sqlx 0.9.0,
//! launchbadge/sqlx#4393): the next borrower's statements then run in it, holding
//! their row locks until some later COMMIT. Running the handler in its own task makes
//! it immune: the caller still gets its answer (or its timeout) on time, and the
//! handler finishes the database work it started.
//!
//! That work is bounded twice. The database bounds each statement, lock wait and idle
//! transaction ([`crate::db::Timeouts`]), so a handler normally ends well within its
//! caller's budget. And whatever still runs at the budget plus [`SLACK`] (a peer that
//! stopped answering mid-statement, a handler that hangs) is dropped there: the slack
//! is longer than the database's bounds, so a drop inside a transaction stays the
//! exception it was meant to be. The in-flight slot of the face's limit
//! ([`crate::limit`]) travels into the task, so a caller who hangs up does not free
//! its slot while its work goes on.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::body::Body;
use http::{HeaderMap, Request, Response, StatusCode, header};
use tokio::sync::OwnedSemaphorePermit;
use tower::{Layer, Service};
use tracing::Instrument;

/// The budget of a call that sets no `grpc-timeout`.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(10);
/// The longest budget a caller may ask for.
pub const MAX_BUDGET: Duration = Duration::from_secs(30);
/// How long detached work may run past its caller's budget: longer than the
/// database's statement and lock bounds, so those end a handler first.
pub const SLACK: Duration = Duration::from_secs(10);

/// The `grpc-timeout` of a request (digits and a unit: H, M, S, m, u, n), if valid.
pub fn grpc_timeout(headers: &HeaderMap) -> Option<Duration> {
    parse_grpc_timeout(headers.get("grpc-timeout")?.to_str().ok()?)
}

/// `grpc-timeout` is digits and a unit: H, M, S, m (ms), u (us), n (ns).
pub fn parse_grpc_timeout(raw: &str) -> Option<Duration> {
    let (digits, unit) = raw.split_at(raw.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// The hard deadline of a request's detached work: its budget (capped) plus [`SLACK`].
pub fn hard_deadline(headers: &HeaderMap) -> Duration {
    grpc_timeout(headers)
        .unwrap_or(DEFAULT_BUDGET)
        .min(MAX_BUDGET)
        + SLACK
}

/// A slot of a face's in-flight limit, put on the request by [`crate::limit`] and
/// held by the detached task until the work ends.
#[derive(Clone)]
pub struct InFlightSlot(pub Arc<OwnedSemaphorePermit>);

/// Wraps a service so that each call runs in a spawned task (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct DetachLayer;

impl<S> Layer<S> for DetachLayer {
    type Service = Detach<S>;

    fn layer(&self, inner: S) -> Detach<S> {
        Detach { inner }
    }
}

#[derive(Debug, Clone)]
pub struct Detach<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for Detach<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let slot = request.extensions_mut().remove::<InFlightSlot>();
        let limit = hard_deadline(request.headers());
        let grpc = is_grpc(request.headers());
        let call = self.inner.call(request);
        let task = tokio::spawn(
            async move {
                let _running = Running::start(slot);
                match tokio::time::timeout(limit, call).await {
                    Ok(answer) => answer,
                    Err(_) => {
                        metrics::counter!("shop_requests_cut_off_total").increment(1);
                        tracing::warn!(?limit, "work cut off at its hard deadline");
                        Ok(cut_off(grpc))
                    }
                }
            }
            .in_current_span(),
        );
        Box::pin(async move {
            match task.await {
                Ok(answer) => answer,
                // The handler panicked: panic here, as it would have without the task.
                Err(err) => std::panic::resume_unwind(err.into_panic()),
            }
        })
    }
}

/// Counts the detached work running now (`shop_requests_in_flight`, callers who left
/// included) and keeps the in-flight slot until the work ends.
struct Running {
    _slot: Option<InFlightSlot>,
}

impl Running {
    fn start(slot: Option<InFlightSlot>) -> Self {
        metrics::gauge!("shop_requests_in_flight").increment(1.0);
        Self { _slot: slot }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        metrics::gauge!("shop_requests_in_flight").decrement(1.0);
    }
}

fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"))
}

/// The answer of work cut off at its hard deadline (rarely heard: the caller's own
/// deadline passed long before).
fn cut_off(grpc: bool) -> Response<Body> {
    let message = "the request ran past its deadline and was stopped";
    if grpc {
        return tonic::Status::deadline_exceeded(message).into_http();
    }
    let body = format!(
        r#"{{"error":{{"code":"DEADLINE_EXCEEDED","reason":"UNAVAILABLE","message":"{message}"}}}}"#
    );
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::GATEWAY_TIMEOUT;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use std::{
        convert::Infallible,
        sync::{
            Arc,
            atomic::{AtomicBool, Ordering},
        },
        time::Duration,
    };

    use tower::{ServiceExt, service_fn};

    use super::*;

    fn request(timeout: Option<&str>) -> Request<()> {
        let mut builder = Request::builder();
        if let Some(t) = timeout {
            builder = builder.header("grpc-timeout", t);
        }
        builder.body(()).unwrap()
    }

    #[tokio::test]
    async fn a_dropped_call_still_runs_to_its_end() {
        let finished = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&finished);
        let slow = service_fn(move |_: Request<()>| {
            let seen = Arc::clone(&seen);
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                seen.store(true, Ordering::SeqCst);
                Ok::<_, Infallible>(Response::new(Body::empty()))
            }
        });
        let service = DetachLayer.layer(slow);
        let gave_up =
            tokio::time::timeout(Duration::from_millis(5), service.oneshot(request(None))).await;
        assert!(gave_up.is_err(), "the caller stopped waiting");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            finished.load(Ordering::SeqCst),
            "the handler finished anyway"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn work_that_never_ends_is_cut_off_at_its_budget_plus_slack() {
        let hangs = service_fn(|_: Request<()>| async {
            std::future::pending::<()>().await;
            Ok::<_, Infallible>(Response::new(Body::empty()))
        });
        let started = tokio::time::Instant::now();
        let answer = DetachLayer
            .layer(hangs)
            .oneshot(request(Some("2S")))
            .await
            .unwrap();
        assert_eq!(started.elapsed(), Duration::from_secs(2) + SLACK);
        assert_eq!(answer.status(), StatusCode::GATEWAY_TIMEOUT);
    }

    #[test]
    fn budgets_come_from_grpc_timeout_capped() {
        assert_eq!(
            hard_deadline(request(None).headers()),
            DEFAULT_BUDGET + SLACK
        );
        assert_eq!(
            hard_deadline(request(Some("250m")).headers()),
            Duration::from_millis(250) + SLACK
        );
        assert_eq!(
            hard_deadline(request(Some("5H")).headers()),
            MAX_BUDGET + SLACK
        );
        assert_eq!(parse_grpc_timeout("x"), None);
        assert_eq!(parse_grpc_timeout(""), None);
    }
}
