//! The one loop that drives every saga over its step table (`model::PAY`,
//! `model::CANCEL`), writing each step to the log before it runs and its end with the
//! next write. The rule, written once:
//! - a definite refusal does what the table says for that step;
//! - an unknown outcome before the pivot compensates, that step too (its fence makes
//!   undoing what may not have happened safe), unless the step cannot be undone;
//! - past the pivot (or at a step that cannot be undone) unknown means "later": the
//!   saga is deferred to recovery with a backoff, never failed.

use std::time::Duration;

use shop_common::status;
use shop_proto::common::ErrorReason;
use tokio::time::Instant;
use tonic::{Code, Status};
use tracing::Instrument;
use uuid::Uuid;

use super::{
    cancel,
    log::{LEASE, LogError, SagaLog},
    model::{Entry, Fate, Kind, Logged, OnRefusal, Phase, Saga, State, Step, StepSpec, Undo},
    pay,
};
use crate::clients::{Clients, Deadline, Outcome, Refusal, outcome::unknown_to_public};

/// Past the pivot, time kept back for answering the caller (from what the saga saw,
/// without another call) instead of spending it on one more attempt.
pub const ANSWER_RESERVE: Duration = Duration::from_millis(500);

/// How a saga stopped short of its end.
#[derive(Debug)]
pub enum Halt {
    /// Unfinished: recovery resumes it after a backoff. The status is the cause, as
    /// the services gave it (not fit for a public caller as it is).
    Later(Status),
    /// Ended without completing (compensated, or refused before anything changed);
    /// the status is the caller's answer.
    Ended(Status),
    /// Another driver claimed the saga; this one stopped without writing.
    LeaseLost,
}

/// The span of one saga step (inside the saga's span, which has saga_id and order_id).
pub fn step_span(step: &str) -> tracing::Span {
    tracing::info_span!("saga_step", step)
}

#[derive(Clone)]
pub struct Engine {
    pub(crate) clients: Clients,
    pub(crate) log: SagaLog,
    /// How long the delivery hold is kept alive while a pay saga runs.
    pub(crate) hold_for: Duration,
    /// This gateway instance, as the owner of the leases it takes.
    pub(crate) owner: Uuid,
}

impl Engine {
    pub fn new(clients: Clients, log: SagaLog, hold_for: Duration) -> Self {
        Self {
            clients,
            log,
            hold_for,
            owner: Uuid::now_v7(),
        }
    }

    pub fn log(&self) -> &SagaLog {
        &self.log
    }

    /// Logs a new saga, leased to this instance.
    pub async fn start(&self, saga: &Saga) -> sqlx::Result<()> {
        self.log.create(saga, self.owner).await?;
        metrics::counter!("shop_saga_started_total", "kind" => saga.kind.as_str()).increment(1);
        Ok(())
    }

    /// Drives the saga from wherever it is to its end, as far as `deadline` allows.
    pub async fn drive(&self, saga: &mut Saga, deadline: Deadline) -> Result<(), Halt> {
        let span = tracing::info_span!("saga", kind = saga.kind.as_str(), saga_id = %saga.id, order_id = %saga.order_id, request_id = %deadline.request_id());
        async {
            loop {
                match saga.state {
                    State::Running => match next_step(saga) {
                        Some(spec) => self.forward(saga, spec, deadline).await?,
                        None => return self.finish(saga, State::Completed, "").await,
                    },
                    State::Compensating => return self.compensate(saga, deadline).await,
                    State::Completed | State::Compensated | State::Stuck => return Ok(()),
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Runs one forward step and applies the rule to its outcome.
    async fn forward(
        &self,
        saga: &mut Saga,
        spec: &StepSpec,
        deadline: Deadline,
    ) -> Result<(), Halt> {
        if saga.past_pivot() && deadline.remaining() <= ANSWER_RESERVE {
            let cause =
                Status::deadline_exceeded("the request's time is up; recovery finishes the saga");
            return Err(self.defer(saga, cause).await);
        }
        // Started before and not seen to finish: this is a retry of it.
        let retrying = saga.step == spec.step && saga.phase == Phase::Started;
        self.begin(saga, spec.step).await?;
        let step_deadline = if saga.past_pivot() {
            deadline.less(ANSWER_RESERVE)
        } else {
            deadline
        };
        let started = Instant::now();
        let outcome = match saga.kind {
            Kind::Pay => pay::forward(self, saga, spec.step, step_deadline, retrying).await,
            Kind::Cancel => cancel::forward(self, saga, spec.step, step_deadline).await,
        };
        metrics::histogram!("shop_saga_step_duration_seconds", "kind" => saga.kind.as_str(), "step" => spec.step.as_str())
            .record(started.elapsed().as_secs_f64());
        match outcome {
            Outcome::Done(detail) => {
                self.done(saga, &detail);
                Ok(())
            }
            Outcome::Refused(refusal) => self.refused(saga, spec, refusal).await,
            Outcome::Unknown(cause) => {
                if !saga.past_pivot() && spec.undo != Undo::Impossible {
                    let answer = unknown_to_public(spec.step.service(), &cause);
                    turn_back(saga, Fate::Abort, answer);
                    Ok(())
                } else {
                    Err(self.defer(saga, cause).await)
                }
            }
        }
    }

    async fn refused(
        &self,
        saga: &mut Saga,
        spec: &StepSpec,
        refusal: Refusal,
    ) -> Result<(), Halt> {
        match spec.refused {
            OnRefusal::End => {
                let answer = refusal.status;
                self.finish(saga, State::Compensated, answer.message())
                    .await?;
                Err(Halt::Ended(answer))
            }
            OnRefusal::Compensate(fate) => {
                turn_back(saga, fate, answer_for(fate, refusal));
                Ok(())
            }
            OnRefusal::Stuck => {
                let detail = format!(
                    "{} refused {} past the pivot: {}",
                    spec.step.service(),
                    spec.step.as_str(),
                    refusal.status.message()
                );
                self.finish(saga, State::Stuck, &detail).await?;
                Err(Halt::Later(Status::internal(detail)))
            }
        }
    }

    /// Undoes, in reverse, every step that may have run and has a compensation, then
    /// ends COMPENSATED with the caller's answer. Every undo is idempotent and fenced by
    /// the saga id, so running one again after a crash does no harm.
    async fn compensate(&self, saga: &mut Saga, deadline: Deadline) -> Result<(), Halt> {
        let fate = saga.fate.unwrap_or(Fate::Abort);
        let undos: Vec<Step> = saga
            .kind
            .steps()
            .iter()
            .rev()
            .filter(|s| s.undo == Undo::By && saga.reached(s.step))
            .map(|s| s.step)
            .collect();
        for step in undos {
            let label = pay::undo_label(step, fate);
            self.save(saga, label, "STARTED", "").await?;
            let outcome = pay::undo(self, saga, step, fate, deadline)
                .instrument(step_span(label))
                .await;
            match outcome {
                Outcome::Done(()) => saga.unsaved.push(Entry {
                    label: label.to_owned(),
                    phase: "DONE",
                    detail: String::new(),
                }),
                Outcome::Refused(refusal) => {
                    let detail = format!("{label} was refused: {}", refusal.status.message());
                    self.finish(saga, State::Stuck, &detail).await?;
                    return Err(Halt::Later(Status::internal(detail)));
                }
                Outcome::Unknown(cause) => {
                    self.save(saga, label, "FAILED", cause.message()).await?;
                    return Err(self.defer(saga, cause).await);
                }
            }
        }
        let detail = saga.last_error.clone();
        self.finish(saga, State::Compensated, &detail).await?;
        let answer = saga.seen.answer.take().unwrap_or_else(|| {
            status::error(Code::FailedPrecondition, ErrorReason::InvalidState, detail)
        });
        Err(Halt::Ended(answer))
    }

    /// Logs the start of forward step `step`.
    async fn begin(&self, saga: &mut Saga, step: Step) -> Result<(), Halt> {
        saga.step = step;
        saga.phase = Phase::Started;
        self.save(saga, step.as_str(), "STARTED", "").await
    }

    /// Records the end of the current forward step (with what it learned, already in
    /// `saga`); written with the saga's next save, before its next call.
    fn done(&self, saga: &mut Saga, detail: &str) {
        saga.phase = Phase::Done;
        saga.unsaved.push(Entry {
            label: saga.step.as_str().to_owned(),
            phase: "DONE",
            detail: detail.to_owned(),
        });
    }

    /// Moves the saga to a final state.
    pub(crate) async fn finish(
        &self,
        saga: &mut Saga,
        state: State,
        detail: &str,
    ) -> Result<(), Halt> {
        saga.state = state;
        if state != State::Completed && !detail.is_empty() {
            detail.clone_into(&mut saga.last_error);
        }
        self.save(saga, state.as_str(), "DONE", detail).await?;
        metrics::counter!("shop_saga_ended_total", "kind" => saga.kind.as_str(), "state" => state.as_str())
            .increment(1);
        Ok(())
    }

    /// Leaves the saga to recovery, which takes it again after a backoff that grows
    /// with its attempts (so an outage is not met with a retry storm).
    async fn defer(&self, saga: &mut Saga, cause: Status) -> Halt {
        cause.message().clone_into(&mut saga.last_error);
        let label = saga.step.as_str();
        let backoff = retry_backoff(saga.attempts);
        match self
            .write(saga, label, "DEFERRED", cause.message(), backoff)
            .await
        {
            Ok(()) => Halt::Later(cause),
            Err(halt) => halt,
        }
    }

    /// Writes the saga, its unsaved records and `(label, phase, detail)` in one
    /// commit, renewing the lease.
    async fn save(
        &self,
        saga: &mut Saga,
        label: &str,
        phase: &'static str,
        detail: &str,
    ) -> Result<(), Halt> {
        self.write(saga, label, phase, detail, LEASE).await
    }

    async fn write(
        &self,
        saga: &mut Saga,
        label: &str,
        phase: &'static str,
        detail: &str,
        lease: Duration,
    ) -> Result<(), Halt> {
        let mut entries = std::mem::take(&mut saga.unsaved);
        entries.push(Entry {
            label: label.to_owned(),
            phase,
            detail: detail.to_owned(),
        });
        match self.log.record(saga, &entries, lease).await {
            Ok(()) => {
                saga.logged = Logged {
                    state: saga.state,
                    step: saga.step,
                    phase: saga.phase,
                };
                Ok(())
            }
            Err(LogError::LeaseLost) => {
                tracing::warn!(saga_id = %saga.id, epoch = saga.epoch, "lease lost: another driver owns the saga; stopping");
                metrics::counter!("shop_saga_lease_lost_total").increment(1);
                Err(Halt::LeaseLost)
            }
            // Without the log we may not go on: the step would not be recoverable.
            Err(LogError::Database(err)) => {
                Err(Halt::Later(status::unavailable("the saga log", &err)))
            }
        }
    }
}

/// The first step of the table that still has to run.
fn next_step(saga: &Saga) -> Option<&'static StepSpec> {
    saga.kind
        .steps()
        .iter()
        .find(|spec| saga.pending(spec.step))
}

/// From here the saga goes backward, leaving the order as `fate` says; `answer` is
/// what its caller is told once it is undone.
pub(crate) fn turn_back(saga: &mut Saga, fate: Fate, answer: Status) {
    saga.fate = Some(fate);
    saga.state = State::Compensating;
    answer.message().clone_into(&mut saga.last_error);
    saga.seen.answer = Some(answer);
}

/// What the caller of a saga refused at one of its steps is told.
fn answer_for(fate: Fate, refusal: Refusal) -> Status {
    match fate {
        Fate::Abort => refusal.status,
        Fate::Expire => status::error(
            Code::FailedPrecondition,
            ErrorReason::DeliveryHoldExpired,
            "the delivery details of this order expired before payment; nothing was charged, place the order again",
        ),
        Fate::Fail => {
            tracing::warn!(
                message = refusal.status.message(),
                "delivery could not be created after the charge"
            );
            status::error(
                Code::FailedPrecondition,
                ErrorReason::DeliveryHoldExpired,
                "the delivery details of this order were lost after payment; the points were refunded and the order failed",
            )
        }
    }
}

/// Wait before recovery takes a deferred saga again: 1 s doubling per attempt, at
/// most a minute, with a little jitter so deferred sagas do not move in lockstep.
fn retry_backoff(attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.clamp(0, 6)).unwrap_or(0);
    let base = Duration::from_secs(1 << exponent).min(Duration::from_secs(60));
    let jitter = rand::random_range(0.0..0.2);
    base.mul_f64(1.0 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(retry_backoff(0) >= Duration::from_secs(1));
        assert!(retry_backoff(0) < Duration::from_millis(1300));
        assert!(retry_backoff(3) >= Duration::from_secs(8));
        assert!(retry_backoff(50) <= Duration::from_secs(73));
        assert!(retry_backoff(50) >= Duration::from_secs(60));
    }
}
