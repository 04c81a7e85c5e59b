//! Background loops (expiry sweeper, automatic receipt, saga recovery) that run until
//! shutdown and survive a failing round.

use std::{future::Future, time::Duration};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Runs `round` every `every` until `shutdown`. A round returns how many items it
/// handled; a full round (`>= batch`) runs again at once. Errors are logged and the
/// loop goes on.
pub fn spawn_periodic<F, Fut>(
    name: &'static str,
    every: Duration,
    batch: usize,
    shutdown: CancellationToken,
    mut round: F,
) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<usize>> + Send,
{
    tokio::spawn(async move {
        tracing::debug!(worker = name, "started");
        loop {
            let handled = tokio::select! {
                () = shutdown.cancelled() => break,
                result = round() => match result {
                    Ok(n) => n,
                    Err(err) => {
                        tracing::warn!(worker = name, error = format!("{err:#}"), "round failed");
                        0
                    }
                },
            };
            if handled >= batch {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(every) => {}
            }
        }
        tracing::debug!(worker = name, "stopped");
    })
}
