//! The recovery worker every gateway instance runs: it claims unfinished sagas whose
//! lease (or backoff) ran out, one at a time, each claim taking the next epoch of the
//! saga's lease, and drives them to an end: forward past the pivot, backward before
//! it. Past the pivot there is no limit by count (the saga backs off and keeps going;
//! its age shows in ListSagas and the metrics); an undo before the pivot that keeps
//! failing ends STUCK with its reason, for an operator (ListSagas / RetrySaga).

use std::time::Duration;

use futures::future::join_all;
use tracing::Instrument;

use super::{
    engine::{Engine, Halt, turn_back},
    model::{Fate, Kind, Saga, State},
};
use crate::clients::{DEFAULT_BUDGET, Deadline};

/// Sagas one round may take, at most.
pub const BATCH: usize = 32;
/// Sagas driven at once by one instance (each claimed on its own, just before it runs).
pub const DRIVERS: usize = 4;
/// Recovery attempts of an undo before the pivot before the saga is declared STUCK.
pub const MAX_UNDO_ATTEMPTS: i32 = 10;
/// How often an idle instance looks for abandoned sagas.
pub const EVERY: Duration = Duration::from_secs(1);
/// The reason given for a payment undone because nobody was left to finish it before
/// the pivot.
pub const INTERRUPTED: &str = "payment was interrupted; nothing was charged, please try again";

impl Engine {
    /// One recovery round: returns how many sagas it claimed.
    pub async fn recover_round(&self) -> anyhow::Result<usize> {
        let drained = join_all((0..DRIVERS).map(|_| self.drain(BATCH / DRIVERS))).await;
        let mut claimed = 0;
        for result in drained {
            claimed += result?;
        }
        Ok(claimed)
    }

    /// Claims and drives sagas one after another, at most `limit` of them.
    async fn drain(&self, limit: usize) -> anyhow::Result<usize> {
        let mut claimed = 0;
        while claimed < limit {
            let Some(mut saga) = self.log.claim_next(self.owner).await? else {
                break;
            };
            claimed += 1;
            metrics::counter!("shop_saga_recovery_claims_total").increment(1);
            let (id, order_id) = (saga.id, saga.order_id);
            match self.resume(&mut saga).await {
                Ok(()) => {
                    tracing::info!(saga_id = %id, %order_id, state = saga.state.as_str(), "saga recovered");
                }
                Err(Halt::Ended(status)) => {
                    tracing::info!(saga_id = %id, %order_id, reason = status.message(), "saga ended on recovery");
                }
                Err(Halt::Later(status)) => {
                    tracing::warn!(saga_id = %id, %order_id, attempts = saga.attempts, reason = status.message(), "saga still unfinished");
                }
                Err(Halt::LeaseLost) => {
                    tracing::warn!(saga_id = %id, %order_id, "saga taken over by another driver");
                }
            }
        }
        Ok(claimed)
    }

    /// Drives one claimed saga as far as it goes now.
    pub async fn resume(&self, saga: &mut Saga) -> Result<(), Halt> {
        let span = tracing::info_span!("recover_saga", saga_id = %saga.id, order_id = %saga.order_id, attempt = saga.attempts);
        async {
            if !saga.past_pivot() && saga.attempts > MAX_UNDO_ATTEMPTS {
                let detail = format!(
                    "gave up after {} recovery attempts before the pivot: {}",
                    saga.attempts - 1,
                    saga.last_error
                );
                return self.finish(saga, State::Stuck, &detail).await;
            }
            if saga.kind == Kind::Pay && saga.state == State::Running && !saga.past_pivot() {
                // Before the pivot nobody waits for the outcome any more: undo it. The
                // log marks no step before the pivot's, so every one before it may have
                // run; each undo is fenced, so undoing one that did not is harmless.
                saga.step = saga.step.max(saga.kind.last_before_pivot());
                turn_back(saga, Fate::Abort, tonic::Status::aborted(INTERRUPTED));
            }
            self.drive(saga, Deadline::after(DEFAULT_BUDGET)).await
        }
        .instrument(span)
        .await
    }
}
