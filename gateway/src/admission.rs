//! Admission control for the checkout work (paying, placing-and-paying, cancelling a
//! paid order): at most `limit` run at once and the rest wait their turn, first come
//! first served. An overload then queues here, at the edge, rather than in the
//! connection pools of the gateway and the services, where it would time out internal
//! calls and start retries that add load exactly when there is none to spare. A
//! request that cannot get its turn within half of its remaining budget is turned away
//! with RESOURCE_EXHAUSTED / OVERLOADED (HTTP 429) before anything was done.

use std::sync::Arc;

use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Instant,
};

use crate::{clients::Deadline, error::Error};

#[derive(Clone)]
pub struct Admission {
    slots: Arc<Semaphore>,
}

/// A checkout's turn; the slot frees when it is dropped (it travels with a saga into
/// its own task, so a caller who leaves does not free it early).
pub type Turn = OwnedSemaphorePermit;

impl Admission {
    pub fn new(limit: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limit.max(1))),
        }
    }

    /// Waits for a turn, for at most half of what is left of `deadline`.
    pub async fn admit(&self, deadline: Deadline) -> Result<Turn, Error> {
        let patience = deadline.remaining() / 2;
        let started = Instant::now();
        let queue = metrics::gauge!("shop_admission_queue_depth");
        queue.increment(1.0);
        let waited = tokio::time::timeout(patience, Arc::clone(&self.slots).acquire_owned()).await;
        queue.decrement(1.0);
        metrics::histogram!("shop_admission_wait_seconds").record(started.elapsed().as_secs_f64());
        match waited {
            Ok(Ok(turn)) => Ok(turn),
            Ok(Err(_closed)) => Err(Error::ShuttingDown),
            Err(_elapsed) => {
                metrics::counter!("shop_admission_refused_total").increment(1);
                tracing::warn!(
                    waited_ms = patience.as_millis(),
                    "checkout turned away: overloaded"
                );
                Err(Error::Overloaded("too many checkouts in progress"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use shop_common::status;
    use tonic::Code;

    #[tokio::test]
    async fn waits_its_turn_then_gives_up_with_overloaded() {
        let admission = Admission::new(1);
        let first = admission
            .admit(Deadline::after(Duration::from_secs(10)))
            .await
            .unwrap();
        let refused = admission
            .admit(Deadline::after(Duration::from_millis(100)))
            .await
            .unwrap_err()
            .into_status();
        assert_eq!(refused.code(), Code::ResourceExhausted);
        assert_eq!(status::reason(&refused).as_deref(), Some("OVERLOADED"));

        let waiting = {
            let admission = admission.clone();
            tokio::spawn(async move {
                admission
                    .admit(Deadline::after(Duration::from_secs(10)))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiting.is_finished(),
            "the second caller waits while the slot is taken"
        );
        drop(first);
        assert!(waiting.await.unwrap().is_ok(), "and gets it once freed");
    }
}
