//! The closed-loop load driver: N workers, each repeating its operation back to back
//! until the time is up or the run's operation budget is spent. Every loop is bounded
//! in time and in count, and every operation in time.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::time::Instant;

use crate::stats::Stats;

/// One attempt of a worker's operation: `Err` carries the failure reason.
pub type Attempt = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// A worker (a virtual user): produces its next attempt each time it is called.
pub type Worker = Box<dyn FnMut() -> Attempt + Send>;

/// Longest a single operation may take before it counts as a `timeout` failure.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(15);

/// How long and how much to run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub duration: Duration,
    /// Operations started, over all workers.
    pub max_ops: u64,
}

impl Limits {
    pub fn for_duration(duration: Duration) -> Self {
        Self {
            duration,
            max_ops: 2_000_000,
        }
    }
}

/// Runs every worker concurrently within `limits` and merges what they saw.
pub async fn run(workers: Vec<Worker>, limits: Limits) -> Stats {
    let started = Instant::now();
    let end = started + limits.duration;
    let budget = Arc::new(AtomicU64::new(limits.max_ops));
    let tasks: Vec<_> = workers
        .into_iter()
        .map(|mut worker| {
            let budget = budget.clone();
            tokio::spawn(async move {
                let mut stats = Stats::default();
                while Instant::now() < end && take(&budget) {
                    let began = Instant::now();
                    let outcome = match tokio::time::timeout(OPERATION_TIMEOUT, worker()).await {
                        Ok(outcome) => outcome,
                        Err(_) => Err("timeout".to_owned()),
                    };
                    stats.record(began.elapsed(), outcome);
                }
                stats
            })
        })
        .collect();
    let mut total = Stats::default();
    for task in tasks {
        match task.await {
            Ok(stats) => total.merge(stats),
            Err(err) => {
                total.record(Duration::ZERO, Err(format!("worker panicked: {err}")));
            }
        }
    }
    total.elapsed = started.elapsed();
    total
}

fn take(budget: &AtomicU64) -> bool {
    budget
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
            left.checked_sub(1)
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sleeper(ms: u64) -> Worker {
        Box::new(move || {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(())
            })
        })
    }

    #[tokio::test]
    async fn stops_at_the_operation_budget() {
        let limits = Limits {
            duration: Duration::from_secs(5),
            max_ops: 7,
        };
        let stats = run(vec![sleeper(1), sleeper(1)], limits).await;
        assert_eq!(stats.ok(), 7);
        assert!(stats.elapsed < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn stops_when_the_time_is_up() {
        let stats = run(
            vec![sleeper(5), sleeper(5)],
            Limits::for_duration(Duration::from_millis(100)),
        )
        .await;
        assert!(stats.ok() >= 4, "{}", stats.ok());
        assert!(stats.elapsed < Duration::from_millis(500));
    }
}
