//! The one loop that drives every saga over its step table (`model::PAY`,
//! `model::CANCEL`), writing each step to the log before it runs and its end with the
//! next write. The rule, written once:
//! - a definite refusal does what the table says for that step;
//! - an unknown outcome before the pivot compensates, that step too (its fence makes
//!   undoing what may not have happened safe), unless the step cannot be undone;
//! - past the pivot (or at a step that cannot be undone) unknown means "later": the
//!   saga is deferred to recovery with a backoff, never failed.

use std::time::Duration;

use tokio::time::Instant;
use tonic::Status;
use tracing::Instrument;
use uuid::Uuid;

use super::{
    log::SagaLog,
    model::{Entry, Fate, Phase, Saga, State, Step},
    steps::{self, Deps},
    tables::{OnRefusal, StepSpec, Undo},
};
use crate::{
    clients::{Clients, Deadline, Outcome, Refusal},
    error::Error,
};

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

#[derive(Clone)]
pub struct Engine {
    pub(crate) clients: Clients,
    pub(crate) log: SagaLog,
    /// How long the delivery hold is kept alive while a pay saga runs.
    pub(crate) hold_for: Duration,
    /// The longest wait before recovery takes a deferred saga again.
    pub(crate) backoff_max: Duration,
    /// This gateway instance, as the owner of the leases it takes.
    pub(crate) owner: Uuid,
}

impl Engine {
    pub fn new(clients: Clients, log: SagaLog, hold_for: Duration, backoff_max: Duration) -> Self {
        Self {
            clients,
            log,
            hold_for,
            backoff_max,
            owner: Uuid::now_v7(),
        }
    }

    pub fn log(&self) -> &SagaLog {
        &self.log
    }

    fn deps(&self) -> Deps<'_> {
        Deps {
            clients: &self.clients,
            hold_for: self.hold_for,
        }
    }

    /// Hands the sagas this instance drives to the others (at shutdown, once the
    /// in-flight requests were given their grace period).
    pub async fn hand_over(&self) {
        match self.log.hand_over(self.owner).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sagas = n, "handed unfinished sagas to the other instances"),
            Err(err) => {
                tracing::warn!(error = %err, "cannot hand sagas over; they wait for their lease to run out");
            }
        }
    }

    /// Logs a new saga, leased to this instance.
    pub async fn start(&self, saga: &Saga) -> sqlx::Result<()> {
        self.log.create(saga, self.owner).await?;
        metrics::counter!("shop_saga_started_total", "kind" => saga.kind.as_str()).increment(1);
        Ok(())
    }

    /// Drives the saga from wherever it is to its end, as far as `deadline` allows,
    /// renewing its lease while it runs: the lease is a sign of life, so a driver that
    /// is slow keeps it and one that is frozen or gone loses it.
    pub async fn drive(&self, saga: &mut Saga, deadline: Deadline) -> Result<(), Halt> {
        let span = tracing::info_span!("saga", kind = saga.kind.as_str(), saga_id = %saga.id, order_id = %saga.order_id, request_id = %deadline.request_id());
        let heartbeat = self.heartbeat(saga.id, saga.epoch);
        let run = async {
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
        };
        tokio::select! {
            ended = run.instrument(span) => ended,
            never = heartbeat => match never {},
        }
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
        let outcome = steps::forward(self.deps(), saga, spec.step, step_deadline, retrying).await;
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
                    let service = spec.step.service();
                    turn_back(
                        saga,
                        Fate::Abort,
                        Error::Dependency { service, cause }.into(),
                    );
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
            let label = steps::undo_label(step, fate);
            self.save(saga, label, "STARTED", "").await?;
            let outcome = steps::undo(self.deps(), saga, step, fate, deadline).await;
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
        let answer =
            (saga.seen.answer.take()).unwrap_or_else(|| Error::InvalidState(detail).into());
        Err(Halt::Ended(answer))
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
        Fate::Expire => Error::HoldExpired.into(),
        Fate::Fail => {
            tracing::warn!(
                message = refusal.status.message(),
                "delivery could not be created after the charge"
            );
            Error::HoldLost.into()
        }
    }
}
