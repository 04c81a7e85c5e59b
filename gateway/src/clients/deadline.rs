//! The time a public request has, and what each internal call made for it is given:
//! a timeout (sent as `grpc-timeout`, so the service stops when we stop waiting), the
//! request id every call carries (`x-request-id`), so the logs of all four services
//! can be joined, and the W3C trace context of the current span (`traceparent`).

use std::time::Duration;

use shop_common::detach::{self, parse_grpc_timeout};
use tokio::time::Instant;
use tonic::metadata::MetadataMap;
use uuid::Uuid;

/// Longest single internal call, whatever the budget.
pub const PER_CALL: Duration = Duration::from_secs(3);
/// Budget of a public request that sets no `grpc-timeout` (the same that bounds its
/// detached work).
pub const DEFAULT_BUDGET: Duration = detach::DEFAULT_BUDGET;
/// The metadata key of the request id.
pub const REQUEST_ID: &str = "x-request-id";

/// The point in time by which a public request must be answered.
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
    /// before it gives up), capped by `detach::MAX_BUDGET`, else the default; the
    /// caller's `x-request-id` when it is a UUID, else a new one.
    pub fn from_metadata(metadata: &MetadataMap) -> Self {
        let budget = metadata
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout)
            .map_or(DEFAULT_BUDGET, |t| {
                (t - answer_margin(t)).min(detach::MAX_BUDGET)
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

    /// The same request with `reserve` less time: what a step may spend so that
    /// `reserve` is left for what comes after it.
    pub fn less(&self, reserve: Duration) -> Self {
        Self {
            at: self.at.checked_sub(reserve).unwrap_or(self.at),
            request_id: self.request_id,
        }
    }

    /// A fresh budget for the same request (compensations must not inherit an
    /// exhausted one), at most `budget`.
    pub fn renewed(&self, budget: Duration) -> Self {
        Self {
            at: Instant::now() + budget,
            request_id: self.request_id,
        }
    }

    /// Time for the next call: what is left, at most [`PER_CALL`].
    pub(crate) fn next_call(&self) -> Call {
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

/// Time kept back from a caller's timeout for the answer to travel: a tenth, at least
/// 50 ms and at most 1 s (never more than half of it).
fn answer_margin(timeout: Duration) -> Duration {
    (timeout / 10)
        .clamp(Duration::from_millis(50), Duration::from_secs(1))
        .min(timeout / 2)
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
    }

    #[test]
    fn less_keeps_a_reserve() {
        let deadline = Deadline::after(Duration::from_secs(10));
        let step = deadline.less(Duration::from_secs(4));
        assert!(step.remaining() <= Duration::from_secs(6));
        assert!(deadline.remaining() > Duration::from_secs(9));
        assert_eq!(step.request_id(), deadline.request_id());
    }
}
