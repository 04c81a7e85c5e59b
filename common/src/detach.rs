//! Every call a server accepts runs to its end in a task of its own.
//!
//! A request future can be dropped at any await: the client's `grpc-timeout` elapses
//! (tonic then answers DEADLINE_EXCEEDED and drops the handler), the client hangs up,
//! an HTTP connection closes. A handler dropped inside `pool.begin()` can leave its
//! pooled PostgreSQL connection inside a transaction nobody will end (sqlx 0.9.0,
//! launchbadge/sqlx#4393): the next borrower's statements then run in it, holding
//! their row locks until some later COMMIT. Running the handler in its own task makes
//! it immune: the caller still gets its answer (or its timeout) on time, and the
//! handler finishes the database work it started. Every handler here is idempotent
//! and bounded by the pool's acquire timeout and its statements, so the work that
//! outlives an impatient caller is bounded too.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use tower::{Layer, Service};
use tracing::Instrument;

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

impl<S, R> Service<R> for Detach<S>
where
    S: Service<R>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let call = self.inner.call(request).in_current_span();
        let task = tokio::spawn(call);
        Box::pin(async move {
            match task.await {
                Ok(answer) => answer,
                // The handler panicked: panic here, as it would have without the task.
                Err(err) => std::panic::resume_unwind(err.into_panic()),
            }
        })
    }
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

    #[tokio::test]
    async fn a_dropped_call_still_runs_to_its_end() {
        let finished = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&finished);
        let slow = service_fn(move |(): ()| {
            let seen = Arc::clone(&seen);
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                seen.store(true, Ordering::SeqCst);
                Ok::<_, Infallible>("done")
            }
        });
        let service = DetachLayer.layer(slow);
        let gave_up = tokio::time::timeout(Duration::from_millis(5), service.oneshot(())).await;
        assert!(gave_up.is_err(), "the caller stopped waiting");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            finished.load(Ordering::SeqCst),
            "the handler finished anyway"
        );
    }

    #[tokio::test]
    async fn answers_pass_through() {
        let echo = service_fn(|n: u32| async move { Ok::<_, Infallible>(n + 1) });
        let answer = DetachLayer.layer(echo).oneshot(41).await;
        assert_eq!(answer.ok(), Some(42));
    }
}
