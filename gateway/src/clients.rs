//! Typed clients of the internal services, and how every internal call is made: with a
//! deadline taken from the caller's remaining budget, bounded retries with jittered
//! backoff on UNAVAILABLE / DEADLINE_EXCEEDED, and errors cleaned for the public face.

use std::{future::Future, time::Duration};

use rand::Rng;
use shop_common::{auth::BearerToken, status};
use shop_proto::{
    common::ErrorReason, delivery::delivery_service_client::DeliveryServiceClient,
    order::order_service_client::OrderServiceClient,
    payment::payment_service_client::PaymentServiceClient,
};
use tokio::time::Instant;
use tonic::{
    Code, Status, metadata::MetadataMap, service::interceptor::InterceptedService,
    transport::Channel,
};

use uuid::Uuid;

use crate::Config;

type Intercepted = InterceptedService<Channel, BearerToken>;

/// Longest single internal call, whatever the budget.
const PER_CALL: Duration = Duration::from_secs(3);
/// Budget of a public request that sets no `grpc-timeout`.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Clients {
    pub order: OrderServiceClient<Intercepted>,
    pub payment: PaymentServiceClient<Intercepted>,
    pub delivery: DeliveryServiceClient<Intercepted>,
    /// The raw channels, for health probes.
    pub channels: Vec<(&'static str, Channel)>,
}

impl Clients {
    /// Channels connect on first use and reconnect by themselves, so the gateway starts
    /// (and reports not-ready) while a service is down.
    pub fn connect_lazy(config: &Config) -> anyhow::Result<Self> {
        let token = BearerToken::new(config.internal_token.as_deref())?;
        let order = channel(&config.order_svc_url)?;
        let payment = channel(&config.payment_svc_url)?;
        let delivery = channel(&config.delivery_svc_url)?;
        Ok(Self {
            order: OrderServiceClient::with_interceptor(order.clone(), token.clone()),
            payment: PaymentServiceClient::with_interceptor(payment.clone(), token.clone()),
            delivery: DeliveryServiceClient::with_interceptor(delivery.clone(), token),
            channels: vec![
                ("order-svc", order),
                ("payment-svc", payment),
                ("delivery-svc", delivery),
            ],
        })
    }
}

fn channel(url: &str) -> anyhow::Result<Channel> {
    Ok(Channel::from_shared(url.to_owned())?
        .connect_timeout(Duration::from_secs(1))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(20))
        .keep_alive_timeout(Duration::from_secs(5))
        .connect_lazy())
}

/// The point in time by which a public request must be answered, and the request id
/// that every internal call made for it carries (`x-request-id`), so the logs of all
/// four services can be joined.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
    request_id: Uuid,
}

impl Deadline {
    pub fn after(budget: Duration) -> Self {
        Self {
            at: Instant::now() + budget,
            request_id: Uuid::now_v7(),
        }
    }

    /// The caller's `grpc-timeout` less a margin (so the answer reaches the caller
    /// before it gives up), capped by [`DEFAULT_BUDGET`] x 3, else the default; the
    /// caller's `x-request-id` when it is a UUID, else a new one.
    pub fn from_metadata(metadata: &MetadataMap) -> Self {
        let budget = metadata
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout)
            .map_or(DEFAULT_BUDGET, |t| {
                (t - answer_margin(t)).min(DEFAULT_BUDGET * 3)
            });
        let request_id = metadata
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::try_parse(v).ok())
            .unwrap_or_else(Uuid::now_v7);
        Self {
            at: Instant::now() + budget,
            request_id,
        }
    }

    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    pub fn request_id(&self) -> Uuid {
        self.request_id
    }

    /// Time for the next call: what is left, at most [`PER_CALL`].
    fn next_call(&self) -> Call {
        Call {
            timeout: self.remaining().min(PER_CALL),
            request_id: self.request_id,
        }
    }
}

/// What one internal call is given: its timeout and the request id to pass on.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    pub timeout: Duration,
    pub request_id: Uuid,
}

/// Time kept back from a caller's timeout for the answer to travel: a tenth, at least
/// 50 ms and at most 1 s (never more than half of it).
fn answer_margin(timeout: Duration) -> Duration {
    (timeout / 10)
        .clamp(Duration::from_millis(50), Duration::from_secs(1))
        .min(timeout / 2)
}

/// `grpc-timeout` is digits and a unit: H, M, S, m (ms), u (us), n (ns).
fn parse_grpc_timeout(raw: &str) -> Option<Duration> {
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

/// The metadata key of the request id.
pub const REQUEST_ID: &str = "x-request-id";

/// A request carrying its deadline as `grpc-timeout` and the request id.
pub fn timed<T>(message: T, call: Call) -> tonic::Request<T> {
    let mut request = tonic::IntoRequest::into_request(message);
    request.set_timeout(call.timeout);
    if let Ok(value) = call.request_id.to_string().parse() {
        request.metadata_mut().insert(REQUEST_ID, value);
    }
    shop_common::trace::inject(request.metadata_mut());
    request
}

/// The closure [`once`] and [`retry`] take: one call of `$method` on a clone of
/// `$client` (tonic clients are cheap handles) with a clone of `$message`.
macro_rules! call {
    ($client:expr, $method:ident, $message:expr) => {
        |call| {
            let mut client = $client.clone();
            let request = $crate::clients::timed($message.clone(), call);
            async move { client.$method(request).await }
        }
    };
}

/// Whether an outcome is unknown: the call may or may not have taken effect.
pub fn is_ambiguous(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown
    )
}

/// Makes one internal call within the deadline. `call` gets the timeout to put on the
/// request (it travels as `grpc-timeout`, so the service stops when we stop waiting)
/// and the request id.
pub async fn once<T, F, Fut>(deadline: Deadline, what: &'static str, call: F) -> Result<T, Status>
where
    F: FnOnce(Call) -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, Status>>,
{
    let next = deadline.next_call();
    let timeout = next.timeout;
    if timeout.is_zero() {
        return Err(Status::deadline_exceeded(format!(
            "no time left to call {what}"
        )));
    }
    match tokio::time::timeout(timeout, call(next)).await {
        Ok(Ok(response)) => Ok(response.into_inner()),
        Ok(Err(status)) => Err(status),
        Err(_) => Err(Status::deadline_exceeded(format!(
            "{what} did not answer in {timeout:?}"
        ))),
    }
}

/// Like [`once`], retried on ambiguous failures with full-jitter exponential backoff
/// (50 ms doubling to 1 s) while the budget lasts, at most `attempts` times. Only for
/// idempotent calls: every internal RPC the saga makes is.
pub async fn retry<T, F, Fut>(
    deadline: Deadline,
    attempts: u32,
    what: &'static str,
    mut call: F,
) -> Result<T, Status>
where
    F: FnMut(Call) -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, Status>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match once(deadline, what, &mut call).await {
            Err(status) if is_ambiguous(&status) && attempt < attempts => {
                let cap = Duration::from_millis(50u64.saturating_mul(1 << attempt.min(5)))
                    .min(Duration::from_secs(1));
                let pause = rand::rng().random_range(Duration::ZERO..=cap);
                if pause >= deadline.remaining() {
                    return Err(status);
                }
                tracing::debug!(call = what, attempt, code = ?status.code(), "retrying");
                tokio::time::sleep(pause).await;
            }
            other => return other,
        }
    }
}

/// What a public client may see of an internal failure: business errors pass through
/// with their reason; transport and internal failures are logged and made generic.
pub fn public(what: &str, status: Status) -> Status {
    match status.code() {
        Code::InvalidArgument
        | Code::FailedPrecondition
        | Code::NotFound
        | Code::Aborted
        | Code::AlreadyExists
        | Code::OutOfRange
        | Code::ResourceExhausted => status,
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            tracing::warn!(dependency = what, code = ?status.code(), message = status.message(), "dependency failed");
            let code = if status.code() == Code::DeadlineExceeded {
                Code::DeadlineExceeded
            } else {
                Code::Unavailable
            };
            status::error(
                code,
                ErrorReason::Unavailable,
                format!("{what} is unavailable, try again"),
            )
        }
        _ => {
            tracing::error!(dependency = what, code = ?status.code(), message = status.message(), "dependency error");
            status::error(Code::Internal, ErrorReason::Internal, "internal error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_keeps_a_margin_for_the_answer() {
        assert_eq!(
            answer_margin(Duration::from_secs(5)),
            Duration::from_millis(500)
        );
        assert_eq!(
            answer_margin(Duration::from_secs(60)),
            Duration::from_secs(1)
        );
        assert_eq!(
            answer_margin(Duration::from_millis(200)),
            Duration::from_millis(50)
        );
        assert_eq!(
            answer_margin(Duration::from_millis(60)),
            Duration::from_millis(30)
        );
    }

    #[test]
    fn grpc_timeout_units() {
        assert_eq!(parse_grpc_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("x"), None);
        assert_eq!(parse_grpc_timeout(""), None);
    }

    #[tokio::test]
    async fn retry_stops_at_the_attempt_limit() {
        let mut calls = 0;
        let result: Result<(), Status> =
            retry(Deadline::after(Duration::from_secs(5)), 3, "test", |_| {
                calls += 1;
                async { Err(Status::unavailable("down")) }
            })
            .await;
        assert_eq!(result.unwrap_err().code(), Code::Unavailable);
        assert_eq!(calls, 3);
    }

    #[tokio::test]
    async fn business_errors_are_not_retried() {
        let mut calls = 0;
        let result: Result<(), Status> =
            retry(Deadline::after(Duration::from_secs(5)), 5, "test", |_| {
                calls += 1;
                async { Err(Status::failed_precondition("no")) }
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls, 1);
    }
}
