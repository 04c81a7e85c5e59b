//! Running saga steps against the internal services, writing each to the log before
//! and after it runs.

use std::time::Duration;

use tonic::Status;
use tracing::Instrument;

use super::{
    log::SagaLog,
    model::{Entry, Phase, Saga, State, Step},
};
use crate::clients::{self, Clients, Deadline};

/// Attempts of one idempotent call before the step counts as failed or ambiguous.
pub const STEP_ATTEMPTS: u32 = 4;
/// Budget given to compensations, which must not inherit an exhausted request budget.
pub const COMPENSATION_BUDGET: Duration = Duration::from_secs(5);

/// How a saga stopped short of its end.
#[derive(Debug)]
pub enum Halt {
    /// Could not finish now (a service unreachable, the budget spent): the saga stays
    /// unfinished and recovery resumes it once its lease runs out.
    Later(Status),
    /// Ended without completing (compensated, or refused before anything changed);
    /// the status says why, for the caller.
    Ended(Status),
}

impl Halt {
    pub fn into_status(self) -> Status {
        match self {
            Halt::Later(status) | Halt::Ended(status) => status,
        }
    }
}

/// The span of one saga step (inside the saga's span, which has saga_id and order_id).
pub fn step_span(step: &str) -> tracing::Span {
    tracing::info_span!("saga_step", step)
}

#[derive(Clone)]
pub struct Engine {
    pub(crate) clients: Clients,
    pub(crate) log: SagaLog,
    /// How long the delivery hold is kept alive at the start of a pay saga.
    pub(crate) hold_for: Duration,
}

impl Engine {
    pub fn new(clients: Clients, log: SagaLog, hold_for: Duration) -> Self {
        Self {
            clients,
            log,
            hold_for,
        }
    }

    pub fn log(&self) -> &SagaLog {
        &self.log
    }

    /// Whether the forward step `step` still has to run: it is ahead of the saga, or it
    /// was started and not seen to finish (it runs again; every call is idempotent).
    pub(crate) fn pending(saga: &Saga, step: Step) -> bool {
        step > saga.step || (step == saga.step && saga.phase == Phase::Started)
    }

    /// Logs the start of forward step `step`.
    pub(crate) async fn begin(&self, saga: &mut Saga, step: Step) -> Result<(), Halt> {
        saga.step = step;
        saga.phase = Phase::Started;
        self.save(saga, step.as_str(), "STARTED", "").await
    }

    /// Records the end of the current forward step (with what it learned, already in
    /// `saga`); written with the saga's next save, before its next call.
    pub(crate) async fn done(&self, saga: &mut Saga, detail: &str) -> Result<(), Halt> {
        saga.phase = Phase::Done;
        let entry = Entry {
            label: saga.step.as_str().to_owned(),
            phase: "DONE",
            detail: detail.to_owned(),
        };
        saga.unsaved.push(entry);
        Ok(())
    }

    /// Runs one compensation call (idempotent), logged before and after.
    pub(crate) async fn undo<T, F, Fut>(
        &self,
        saga: &mut Saga,
        label: &'static str,
        call: F,
    ) -> Result<T, Halt>
    where
        F: FnMut(clients::Call) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<T>, Status>>,
    {
        self.save(saga, label, "STARTED", "").await?;
        let deadline = Deadline::after(COMPENSATION_BUDGET);
        match clients::retry(deadline, STEP_ATTEMPTS, label, call)
            .instrument(step_span(label))
            .await
        {
            Ok(value) => {
                saga.unsaved.push(Entry {
                    label: label.to_owned(),
                    phase: "DONE",
                    detail: String::new(),
                });
                Ok(value)
            }
            Err(status) => {
                self.save(saga, label, "FAILED", status.message()).await?;
                Err(Halt::Later(clients::public(label, status)))
            }
        }
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
        self.save(saga, state.as_str(), "DONE", detail).await
    }

    /// Hands the saga to recovery now rather than when its lease runs out.
    pub(crate) async fn defer(&self, saga: &mut Saga, cause: Status) -> Halt {
        saga.last_error = cause.message().to_owned();
        if let Err(halt) = self
            .save(saga, saga.step.as_str(), "DEFERRED", cause.message())
            .await
        {
            return halt;
        }
        if let Err(err) = self.log.release_lease(saga.id).await {
            tracing::warn!(saga_id = %saga.id, error = %err, "cannot release saga lease; recovery waits for it");
        }
        Halt::Later(cause)
    }

    /// Writes the saga, its unsaved records and `(label, phase, detail)` in one commit.
    async fn save(
        &self,
        saga: &mut Saga,
        label: &str,
        phase: &'static str,
        detail: &str,
    ) -> Result<(), Halt> {
        let mut entries = std::mem::take(&mut saga.unsaved);
        entries.push(Entry {
            label: label.to_owned(),
            phase,
            detail: detail.to_owned(),
        });
        self.log.record(saga, &entries).await.map_err(|err| {
            // Without the log we may not go on: the step would not be recoverable.
            Halt::Later(shop_common::status::unavailable("the saga log", &err))
        })
    }
}
