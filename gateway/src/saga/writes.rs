//! The saga's writes to its log: the marks before and past the pivot, the final state, a deferral
//! with its backoff, the start of each undo; each one statement, conditional on the
//! lease this driver holds, carrying the step records (starts and ends) gathered since
//! the last write. And the heartbeat that renews the lease while the
//! driver lives.

use std::time::Duration;

use shop_common::status;
use tonic::Status;

use super::{
    engine::{Engine, Halt},
    log::LogError,
    model::{Entry, Logged, Phase, Saga, State, Step},
};
use crate::ids::SagaId;

impl Engine {
    /// Renews the lease every third of it until the drive ends (this future is then
    /// dropped). Stops renewing once the lease is lost: the driver learns it at its
    /// next write.
    pub(super) async fn heartbeat(&self, saga_id: SagaId, epoch: i64) -> std::convert::Infallible {
        let every = self.log.lease() / 3;
        let mut held = true;
        loop {
            tokio::time::sleep(every).await;
            if held {
                match self.log.renew(saga_id, epoch).await {
                    Ok(still) => held = still,
                    Err(err) => {
                        tracing::debug!(%saga_id, error = %err, "cannot renew the saga's lease")
                    }
                }
            }
        }
    }

    /// Records the start of forward step `step`: written now when it is a mark (see
    /// [`Saga::start_is_marked`]), else kept in `unsaved` for the saga's next write, as
    /// a step's DONE is. So the happy path of a pay saga writes its intent, the two
    /// marks and its end.
    pub(super) async fn begin(&self, saga: &mut Saga, step: Step) -> Result<(), Halt> {
        saga.step = step;
        saga.phase = Phase::Started;
        if saga.start_is_marked() {
            return self.save(saga, step.as_str(), "STARTED", "").await;
        }
        saga.unsaved.push(Entry {
            label: step.as_str().to_owned(),
            phase: "STARTED",
            detail: String::new(),
        });
        Ok(())
    }

    /// Records the end of the current forward step (with what it learned, already in
    /// `saga`); written with the saga's next save, before its next call.
    pub(super) fn done(&self, saga: &mut Saga, detail: &str) {
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
    pub(super) async fn defer(&self, saga: &mut Saga, cause: Status) -> Halt {
        cause.message().clone_into(&mut saga.last_error);
        let label = saga.step.as_str();
        let backoff = retry_backoff(saga.attempts).min(self.backoff_max);
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
    pub(super) async fn save(
        &self,
        saga: &mut Saga,
        label: &str,
        phase: &'static str,
        detail: &str,
    ) -> Result<(), Halt> {
        self.write(saga, label, phase, detail, self.log.lease())
            .await
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
