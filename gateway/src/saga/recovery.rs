//! The recovery worker every gateway instance runs: it claims unfinished sagas whose
//! lease ran out (a crashed or abandoned run) and drives them to an end: forward past
//! the pivot, backward before it. After too many attempts a saga is STUCK, with its
//! reason, for an operator (AdminService.ListSagas / RetrySaga).

use std::time::Duration;

use tracing::Instrument;

use super::{
    engine::{Engine, Halt},
    model::{Kind, Outcome, Saga, State},
    pay::INTERRUPTED,
};
use crate::clients::{DEFAULT_BUDGET, Deadline};

/// Claims per round.
pub const BATCH: usize = 20;
/// Recovery attempts before a saga is declared STUCK.
pub const MAX_ATTEMPTS: i32 = 10;
/// How often an idle instance looks for abandoned sagas.
pub const EVERY: Duration = Duration::from_secs(1);

impl Engine {
    /// One recovery round: returns how many sagas it claimed.
    pub async fn recover_round(&self) -> anyhow::Result<usize> {
        let claimed = self.log.claim_expired(BATCH as i64).await?;
        let count = claimed.len();
        for mut saga in claimed {
            let (id, order_id) = (saga.id, saga.order_id);
            match self.resume(&mut saga).await {
                Ok(()) => {
                    tracing::info!(saga_id = %id, %order_id, state = saga.state.as_str(), "saga recovered")
                }
                Err(Halt::Ended(status)) => {
                    tracing::info!(saga_id = %id, %order_id, reason = status.message(), "saga ended on recovery");
                }
                Err(Halt::Later(status)) => {
                    tracing::warn!(saga_id = %id, %order_id, attempts = saga.attempts, reason = status.message(), "saga still unfinished");
                }
            }
        }
        Ok(count)
    }

    /// Drives one claimed saga as far as it goes now.
    pub async fn resume(&self, saga: &mut Saga) -> Result<(), Halt> {
        let span = tracing::info_span!("recover_saga", saga_id = %saga.id, order_id = %saga.order_id, attempt = saga.attempts);
        self.resume_inner(saga).instrument(span).await
    }

    async fn resume_inner(&self, saga: &mut Saga) -> Result<(), Halt> {
        if saga.attempts > MAX_ATTEMPTS {
            let detail = format!(
                "gave up after {} recovery attempts: {}",
                saga.attempts - 1,
                saga.last_error
            );
            self.finish(saga, State::Stuck, &detail).await?;
            return Ok(());
        }
        let deadline = Deadline::after(DEFAULT_BUDGET);
        match saga.kind {
            Kind::Cancel => self.cancel_paid(saga, deadline).await,
            Kind::Pay if saga.state == State::Running && !saga.past_pivot() => {
                // Before the pivot nobody waits for the outcome any more: undo it.
                saga.outcome = Some(Outcome::Abort);
                saga.state = State::Compensating;
                INTERRUPTED.clone_into(&mut saga.last_error);
                self.compensate_pay(saga).await
            }
            Kind::Pay => self.pay(saga, deadline).await,
        }
    }
}
