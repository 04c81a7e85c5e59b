//! An app serving on a real socket for the length of a test.

use std::{future::Future, net::SocketAddr};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Stops the app (graceful shutdown) when dropped.
pub struct Running {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    /// Spawns `run(shutdown)` for an app already bound to `addr`.
    pub fn spawn<F, Fut>(addr: SocketAddr, run: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(shutdown.clone()));
        Self {
            addr,
            shutdown,
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:port`, for tonic clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Shuts down gracefully and waits for the app to finish.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.halt().await
    }

    /// Like [`Running::stop`], keeping the handle (and its address) for a restart.
    pub async fn halt(&mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        match self.task.take() {
            Some(task) => task.await?,
            None => Ok(()),
        }
    }

    /// Ends the app at once, like a crash: its task is aborted mid-work.
    pub fn kill(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
