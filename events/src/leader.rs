//! One active relay per service across instances: the relay that holds a Postgres
//! session-level advisory lock on its own connection publishes; the others wait.
//!
//! The lock lives as long as the connection: a relay that crashes (or is SIGKILLed)
//! loses its connection and Postgres releases the lock at once, so a standby takes
//! over within its next look. The connection's `application_name` names the service
//! and the process id, so `pg_locks` joined with `pg_stat_activity` shows which
//! instance is publishing.

use std::time::Duration;

use anyhow::Context;
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

/// Bound on each statement on the lock connection.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The held lock; dropping it closes the connection, which releases the lock.
pub struct Leadership {
    connection: PgConnection,
}

/// The `application_name` of the lock connection of `service` in this process.
pub fn application_name(service: &str) -> String {
    format!("{service} relay pid {}", std::process::id())
}

impl Leadership {
    /// Takes the lock `key` if no one holds it; `None` when another instance does.
    pub async fn try_acquire(
        pool: &PgPool,
        key: i64,
        service: &str,
    ) -> anyhow::Result<Option<Self>> {
        let options = (*pool.connect_options())
            .clone()
            .application_name(&application_name(service));
        let mut connection = bounded(options.connect(), "connect for the relay lock").await?;
        let acquired: bool = bounded(
            sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(key)
                .fetch_one(&mut connection),
            "take the relay lock",
        )
        .await?;
        if acquired {
            Ok(Some(Self { connection }))
        } else {
            let _ = tokio::time::timeout(TIMEOUT, connection.close()).await;
            Ok(None)
        }
    }

    /// Fails when the lock connection is gone (the lock with it): the caller must stop
    /// publishing, as another instance may have taken over.
    pub async fn confirm(&mut self) -> anyhow::Result<()> {
        bounded(self.connection.ping(), "check the relay lock").await
    }

    /// Gives the lock back (bounded); on failure the closing connection releases it.
    pub async fn release(self) {
        let _ = tokio::time::timeout(TIMEOUT, self.connection.close()).await;
    }
}

async fn bounded<T>(
    operation: impl Future<Output = Result<T, sqlx::Error>>,
    what: &'static str,
) -> anyhow::Result<T> {
    tokio::time::timeout(TIMEOUT, operation)
        .await
        .map_err(|_| anyhow::anyhow!("no answer within {TIMEOUT:?}"))
        .and_then(|done| done.map_err(anyhow::Error::from))
        .with_context(|| format!("cannot {what}"))
}
