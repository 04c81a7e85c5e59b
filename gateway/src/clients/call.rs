//! How every internal call is made: attempts within the caller's deadline, each with
//! its own timeout; jittered exponential backoff between them; the answer classified
//! (see [`super::outcome`]); and the client-side metrics of each call.
//!
//! An attempt that ran out of time is never retried. Every service runs each call it
//! accepted to its end in a task of its own (`shop_common::detach`), so when our
//! per-call timeout (or the service's, DEADLINE_EXCEEDED, which is the same budget)
//! fires, that attempt is known to be still running there; a retry would run beside
//! it, doubling the load exactly when the service is slow, and two attempts of one
//! step would race inside it. (The service's own timeout answers CANCELLED "Timeout
//! expired", tonic's way, usually just before ours: the same case.) The call ends
//! Unknown instead, and the saga's rule for Unknown takes over: compensate before the
//! pivot (fenced), or retry later, past it, from recovery, after a backoff. Answers
//! that say the attempt ended (UNAVAILABLE, INTERNAL, UNKNOWN) are still retried
//! within the budget.

use std::{future::Future, time::Duration};

use rand::Rng;
use shop_proto::common::ErrorReason;
use tokio::time::Instant;
use tonic::Status;

use super::{
    deadline::{Deadline, timed},
    outcome::{Outcome, Refusal, known_refusal, retryable},
};

/// Whether a call changes anything (then an ambiguous attempt taints a later refusal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Read,
    Write,
}

/// One RPC's policy: how often it may be tried, and which refusals it is known for.
#[derive(Debug)]
pub struct Spec {
    pub method: &'static str,
    pub attempts: u32,
    pub effect: Effect,
    pub refusals: &'static [ErrorReason],
}

impl Spec {
    pub const fn read(method: &'static str, refusals: &'static [ErrorReason]) -> Self {
        Self {
            method,
            attempts: PUBLIC_ATTEMPTS,
            effect: Effect::Read,
            refusals,
        }
    }

    pub const fn write(
        method: &'static str,
        attempts: u32,
        refusals: &'static [ErrorReason],
    ) -> Self {
        Self {
            method,
            attempts,
            effect: Effect::Write,
            refusals,
        }
    }
}

/// Attempts of a read, or of an idempotent write made for a public request.
pub const PUBLIC_ATTEMPTS: u32 = 3;
/// Attempts of a saga step before the pivot: few, since an unknown outcome there is
/// compensated anyway.
pub const STEP_ATTEMPTS: u32 = 4;
/// Attempts of a saga step after the pivot, while the budget lasts.
pub const FORWARD_ATTEMPTS: u32 = 20;
/// A write that is not idempotent (an unkeyed admin write) is sent once.
pub const ONCE: u32 = 1;

/// Makes the call `send(client, request)` as `spec` says, within `deadline`.
pub async fn run<C, Req, Resp, F, Fut>(
    dependency: &'static str,
    client: &C,
    deadline: Deadline,
    spec: &Spec,
    request: Req,
    send: F,
) -> Outcome<Resp>
where
    C: Clone,
    Req: Clone,
    F: Fn(C, tonic::Request<Req>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, Status>>,
{
    let started = Instant::now();
    let outcome = attempts(dependency, client, deadline, spec, request, send).await;
    let label = match &outcome {
        Outcome::Done(_) => "done",
        Outcome::Refused(_) => "refused",
        Outcome::Unknown(_) => "unknown",
    };
    metrics::counter!("shop_client_calls_total", "dependency" => dependency, "method" => spec.method, "outcome" => label)
        .increment(1);
    metrics::histogram!("shop_client_call_duration_seconds", "dependency" => dependency, "method" => spec.method)
        .record(started.elapsed().as_secs_f64());
    outcome
}

async fn attempts<C, Req, Resp, F, Fut>(
    dependency: &'static str,
    client: &C,
    deadline: Deadline,
    spec: &Spec,
    request: Req,
    send: F,
) -> Outcome<Resp>
where
    C: Clone,
    Req: Clone,
    F: Fn(C, tonic::Request<Req>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, Status>>,
{
    // A write attempt that failed in a retryable way may have taken effect.
    let mut ambiguous = false;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let call = deadline.next_call();
        if call.timeout.is_zero() {
            return Outcome::Unknown(Status::deadline_exceeded(format!(
                "no time left to call {dependency} {}",
                spec.method
            )));
        }
        let answer = tokio::time::timeout(
            call.timeout,
            send(client.clone(), timed(request.clone(), call)),
        )
        .await;
        let status = match answer {
            Ok(Ok(response)) => return Outcome::Done(response.into_inner()),
            Ok(Err(status)) => status,
            Err(_) => Status::deadline_exceeded(format!(
                "{dependency} {} did not answer in {:?}",
                spec.method, call.timeout
            )),
        };
        if ran_out_of_time(status.code()) {
            // Still running in the service (see the module docs): not retried.
            metrics::counter!("shop_client_timeouts_total", "dependency" => dependency, "method" => spec.method)
                .increment(1);
            return Outcome::Unknown(status);
        }
        if let Some(reason) = known_refusal(&status, spec.refusals) {
            return if ambiguous && spec.effect == Effect::Write {
                Outcome::Unknown(status)
            } else {
                Outcome::Refused(Refusal { reason, status })
            };
        }
        if !retryable(status.code()) {
            return Outcome::Unknown(status);
        }
        ambiguous = true;
        if attempt >= spec.attempts {
            return Outcome::Unknown(status);
        }
        let pause = backoff(attempt);
        if pause >= deadline.remaining() {
            return Outcome::Unknown(status);
        }
        tracing::debug!(dependency, method = spec.method, attempt, code = ?status.code(), "retrying");
        metrics::counter!("shop_client_retries_total", "dependency" => dependency, "method" => spec.method)
            .increment(1);
        tokio::time::sleep(pause).await;
    }
}

/// An attempt cut short by a timeout, ours or the service's: its handler runs on.
fn ran_out_of_time(code: tonic::Code) -> bool {
    matches!(code, tonic::Code::DeadlineExceeded | tonic::Code::Cancelled)
}

/// Full-jitter exponential backoff: up to 50 ms doubling to 1 s.
fn backoff(attempt: u32) -> Duration {
    let cap = Duration::from_millis(50u64.saturating_mul(1 << attempt.min(5)))
        .min(Duration::from_secs(1));
    rand::rng().random_range(Duration::ZERO..=cap)
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    };

    use shop_common::status;
    use tonic::Code;

    use super::*;

    const CHARGE: Spec = Spec::write("Charge", 5, &[ErrorReason::InsufficientPoints]);

    async fn with_answers(spec: &Spec, answers: Vec<Result<(), Status>>) -> (Outcome<()>, u32) {
        let calls = Arc::new(AtomicU32::new(0));
        let answers = Arc::new(answers);
        let outcome = run(
            "test",
            &(),
            Deadline::after(Duration::from_secs(5)),
            spec,
            (),
            |(), _request| {
                let n = calls.fetch_add(1, Ordering::SeqCst) as usize;
                let answer = answers.get(n).cloned().unwrap_or(Ok(()));
                async move { answer.map(tonic::Response::new) }
            },
        )
        .await;
        (outcome, calls.load(Ordering::SeqCst))
    }

    fn insufficient() -> Status {
        status::error(
            Code::FailedPrecondition,
            ErrorReason::InsufficientPoints,
            "no",
        )
    }

    #[tokio::test]
    async fn a_clean_refusal_is_refused_and_not_retried() {
        let (outcome, calls) = with_answers(&CHARGE, vec![Err(insufficient())]).await;
        assert!(matches!(outcome, Outcome::Refused(r) if r.is(ErrorReason::InsufficientPoints)));
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn a_refusal_after_an_ambiguous_attempt_of_a_write_is_unknown() {
        let answers = vec![Err(Status::unavailable("reset")), Err(insufficient())];
        let (outcome, calls) = with_answers(&CHARGE, answers).await;
        assert!(matches!(outcome, Outcome::Unknown(_)), "{outcome:?}");
        assert_eq!(calls, 2);
    }

    #[tokio::test]
    async fn an_attempt_that_ran_out_of_time_is_not_retried() {
        let answers = vec![Err(Status::deadline_exceeded("slow")), Ok(())];
        let (outcome, calls) = with_answers(&CHARGE, answers).await;
        assert!(
            matches!(outcome, Outcome::Unknown(ref s) if s.code() == Code::DeadlineExceeded),
            "{outcome:?}"
        );
        assert_eq!(calls, 1, "the first attempt still runs in the service");
    }

    #[tokio::test]
    async fn internal_is_unknown_and_retried_up_to_the_limit() {
        let answers = vec![Err(Status::internal("boom")); 9];
        let (outcome, calls) = with_answers(&CHARGE, answers).await;
        assert!(matches!(outcome, Outcome::Unknown(s) if s.code() == Code::Internal));
        assert_eq!(calls, 5);
    }

    #[tokio::test]
    async fn an_unlisted_refusal_is_unknown_at_once() {
        let odd = status::error(Code::FailedPrecondition, ErrorReason::OrderExpired, "odd");
        let (outcome, calls) = with_answers(&CHARGE, vec![Err(odd)]).await;
        assert!(matches!(outcome, Outcome::Unknown(_)));
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn a_read_refusal_after_a_retry_is_still_a_refusal() {
        const GET: Spec = Spec::read("GetOrder", &[ErrorReason::OrderNotFound]);
        let missing = status::error(Code::NotFound, ErrorReason::OrderNotFound, "none");
        let answers = vec![Err(Status::unavailable("down")), Err(missing)];
        let (outcome, _) = with_answers(&GET, answers).await;
        assert!(matches!(outcome, Outcome::Refused(_)));
    }

    #[tokio::test]
    async fn success_after_retries_is_done() {
        let answers = vec![Err(Status::unavailable("down")), Ok(())];
        let (outcome, calls) = with_answers(&CHARGE, answers).await;
        assert!(matches!(outcome, Outcome::Done(())));
        assert_eq!(calls, 2);
    }
}
