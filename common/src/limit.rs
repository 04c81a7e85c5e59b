//! A face's global in-flight limit with load shedding: at most `max` requests' work
//! runs at once, and one more is refused at once (the face's overload answer) rather
//! than queued.
//!
//! Not tower's `ConcurrencyLimit`: its permit lives in the response future, which the
//! server drops when a caller hangs up, while the handler's detached task goes on
//! ([`crate::detach`]). A flood of callers who hang up at once would then start work
//! without bound. Here the slot is put on the request and taken into the detached task
//! by [`crate::detach::Detach`], so it counts the work, not the waiting.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use axum::body::Body;
use http::{Request, Response};
use tokio::sync::Semaphore;
use tower::{Layer, Service};

use crate::detach::InFlightSlot;

/// What a refused request is answered.
pub type Refusal = fn() -> Response<Body>;

/// The limit of one face (`face` labels its metrics: `grpc`, `http`).
#[derive(Clone)]
pub struct InFlightLimit {
    slots: Arc<Semaphore>,
    face: &'static str,
    refuse: Refusal,
    /// Paths never refused (health checks: an overloaded process is alive, and must
    /// not be restarted for being busy).
    exempt: &'static [&'static str],
}

impl InFlightLimit {
    pub fn new(
        max: usize,
        face: &'static str,
        refuse: Refusal,
        exempt: &'static [&'static str],
    ) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max.max(1))),
            face,
            refuse,
            exempt,
        }
    }
}

impl<S> Layer<S> for InFlightLimit {
    type Service = Limited<S>;

    fn layer(&self, inner: S) -> Limited<S> {
        Limited {
            inner,
            limit: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Limited<S> {
    inner: S,
    limit: InFlightLimit,
}

impl<S, B> Service<Request<B>> for Limited<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let path = request.uri().path();
        if self.limit.exempt.iter().any(|p| path.starts_with(p)) {
            return Box::pin(self.inner.call(request));
        }
        match Arc::clone(&self.limit.slots).try_acquire_owned() {
            Ok(permit) => {
                request
                    .extensions_mut()
                    .insert(InFlightSlot(Arc::new(permit)));
                Box::pin(self.inner.call(request))
            }
            Err(_) => {
                metrics::counter!("shop_requests_shed_total", "face" => self.limit.face)
                    .increment(1);
                let refused = (self.limit.refuse)();
                Box::pin(async move { Ok(refused) })
            }
        }
    }
}

/// The gRPC answer to a shed call: RESOURCE_EXHAUSTED / OVERLOADED.
pub fn grpc_overloaded() -> Response<Body> {
    crate::status::error(
        tonic::Code::ResourceExhausted,
        shop_proto::common::ErrorReason::Overloaded,
        "the server is at its limit of calls in progress; nothing was done, try again shortly",
    )
    .into_http()
}

#[cfg(test)]
mod tests {
    use std::{convert::Infallible, time::Duration};

    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::detach::DetachLayer;

    fn blocked() -> Response<Body> {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
        response
    }

    #[tokio::test]
    async fn a_caller_who_leaves_keeps_the_slot_until_the_work_ends() {
        let limit = InFlightLimit::new(1, "test", blocked, &["/healthz"]);
        let slow = service_fn(|_: Request<()>| async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok::<_, Infallible>(Response::new(Body::empty()))
        });
        let service = tower::ServiceBuilder::new()
            .layer(limit)
            .layer(DetachLayer)
            .service(slow);
        let request = || Request::builder().uri("/v1/x").body(()).unwrap();
        // The first caller hangs up at once; its work goes on, in its slot.
        let first = service.clone().oneshot(request());
        assert!(
            tokio::time::timeout(Duration::from_millis(20), first)
                .await
                .is_err()
        );
        let second = service.clone().oneshot(request()).await.unwrap();
        assert_eq!(second.status(), http::StatusCode::TOO_MANY_REQUESTS);
        let health = Request::builder().uri("/healthz").body(()).unwrap();
        let health =
            tokio::time::timeout(Duration::from_millis(20), service.clone().oneshot(health)).await;
        assert!(health.is_err(), "health is never refused (it waits here)");
        tokio::time::sleep(Duration::from_millis(400)).await;
        let third = service.oneshot(request()).await.unwrap();
        assert_eq!(
            third.status(),
            http::StatusCode::OK,
            "the slot is free again"
        );
    }
}
