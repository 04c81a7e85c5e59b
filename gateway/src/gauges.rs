//! The backlog operators alert on, sampled from the gateway database every few
//! seconds into gauges: open and STUCK sagas, the age of the oldest open one, and
//! the parked events of each consumer. (Counters and histograms are recorded where
//! things happen; these are states, so they are read.)

use std::time::Duration;

use sqlx::PgPool;

use crate::{events, saga::SagaLog, store::parked};

/// How often the gauges are refreshed.
pub const EVERY: Duration = Duration::from_secs(5);

/// Takes one sample.
pub async fn sample(log: &SagaLog, pool: &PgPool) -> anyhow::Result<()> {
    let backlog = log.backlog().await?;
    metrics::gauge!("shop_sagas_open").set(backlog.open as f64);
    metrics::gauge!("shop_sagas_stuck").set(backlog.stuck as f64);
    metrics::gauge!("shop_saga_oldest_open_age_seconds").set(backlog.oldest_open_age_seconds);
    let waiting = parked::waiting(pool).await?;
    let known = waiting
        .iter()
        .any(|(consumer, _)| consumer == events::CONSUMER);
    if !known {
        metrics::gauge!("shop_parked_events", "consumer" => events::CONSUMER).set(0.0);
    }
    for (consumer, count) in &waiting {
        metrics::gauge!("shop_parked_events", "consumer" => consumer.clone()).set(*count as f64);
    }
    Ok(())
}
