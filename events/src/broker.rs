//! Reaching the broker: connecting with a deadline, and how long to wait between
//! attempts while it is down.

use std::time::Duration;

use anyhow::Context;
use backon::{BackoffBuilder, ExponentialBuilder};
use lapin::{Channel, Connection, ConnectionProperties};

use crate::config::redacted;

/// The bound on connecting (TCP, AMQP handshake) and on each broker operation.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to `url`, naming the connection `name` in the broker's connection list.
/// Connection recovery is lapin's default (off): callers reconnect themselves, so
/// they also re-read their state (unconfirmed outbox rows, unacked deliveries).
pub async fn connect(url: &str, name: &str) -> anyhow::Result<Connection> {
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    tokio::time::timeout(TIMEOUT, Connection::connect(url, properties))
        .await
        .map_err(|_| anyhow::anyhow!("no answer within {TIMEOUT:?}"))
        .and_then(|connected| connected.map_err(anyhow::Error::from))
        .with_context(|| format!("cannot connect to the broker at {}", redacted(url)))
}

/// A channel on `connection`, with a deadline.
pub async fn channel(connection: &Connection) -> anyhow::Result<Channel> {
    within(connection.create_channel(), "open a channel").await
}

/// Runs a broker operation with the [`TIMEOUT`] deadline.
pub async fn within<T>(
    operation: impl Future<Output = lapin::Result<T>>,
    what: &str,
) -> anyhow::Result<T> {
    match tokio::time::timeout(TIMEOUT, operation).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(anyhow::Error::from(err).context(format!("cannot {what}"))),
        Err(_) => anyhow::bail!("cannot {what}: no answer within {TIMEOUT:?}"),
    }
}

/// Closes the connection politely (bounded); a broker that is gone needs no goodbye.
pub async fn close(connection: Connection) {
    let _ = tokio::time::timeout(TIMEOUT, connection.close(200, "bye".into())).await;
}

/// Waits between reconnection attempts: 200 ms doubling to 5 s, each plus a random
/// jitter of up to as much again, so that many instances do not knock on a returning
/// broker at once. Endless.
pub fn backoff() -> impl Iterator<Item = Duration> + Send {
    let steps = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
        .build();
    steps.chain(std::iter::repeat(Duration::from_secs(5)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_bounded() {
        let pauses: Vec<Duration> = backoff().take(30).collect();
        assert_eq!(pauses.len(), 30);
        assert!(
            pauses.iter().all(|p| *p <= Duration::from_secs(20)),
            "{pauses:?}"
        );
        assert!(pauses[0] < Duration::from_secs(1), "{pauses:?}");
        assert!(pauses[29] >= Duration::from_secs(5), "{pauses:?}");
    }
}
