//! The outbox relay: publishes every outbox row to `shop.events`, in offset order,
//! with publisher confirms, and marks in the outbox what the broker confirmed.
//!
//! Delivery is at least once: a row is marked only after its confirm, so whatever was
//! in flight when the relay, its process or the broker died is sent again by the next
//! active relay. While the broker is down the relay backs off (200 ms doubling to
//! 5 s, with jitter) and the service goes on serving: publishing is never on a request's path.
//! Only the instance holding the service's [`Leadership`] publishes.

use std::time::Duration;

use lapin::{Channel, options::BasicPublishOptions, options::ConfirmSelectOptions};
use shop_common::{CancellationToken, secret::ExposeSecret};
use sqlx::PgPool;
use tokio::task::JoinHandle;

use crate::{
    RelayConfig,
    broker::{self, within},
    leader::Leadership,
    topology::{self, EXCHANGE},
};

/// Rows published per round; a full round is followed by the next at once.
const BATCH: i64 = 256;
/// How often a standby looks whether the active relay is gone.
const STANDBY_POLL: Duration = Duration::from_secs(1);
/// How long the broker gets to confirm a round.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

/// One outbox row, ready to publish.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The row's position in its outbox (the order of publishing).
    pub offset: i64,
    /// Becomes the message's `message_id`.
    pub event_id: String,
    /// `<aggregate>.<event>`, see [`crate::codec::routing_key`].
    pub routing_key: String,
    /// The full protobuf message name of the body.
    pub message_type: &'static str,
    pub occurred_at_unix: u64,
    /// The encoded protobuf event.
    pub body: Vec<u8>,
}

/// What a service's outbox offers its relay.
pub trait Outbox: Send + Sync + 'static {
    /// Up to `limit` rows not yet confirmed, in offset order.
    fn pending(&self, limit: i64) -> impl Future<Output = anyhow::Result<Vec<Outgoing>>> + Send;
    /// Records that the broker confirmed the rows at these offsets.
    fn mark_published(&self, offsets: &[i64]) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// A service's relay.
pub struct Relay<O> {
    /// `order-svc`, `delivery-svc`: the connection names and the `app_id` property.
    pub service: &'static str,
    /// The advisory lock key that elects the active relay of this service.
    pub lock_key: i64,
    /// The service's pool: the lock connection uses its settings.
    pub pool: PgPool,
    pub outbox: O,
    pub config: RelayConfig,
}

enum Ended {
    /// Another instance is the active relay.
    Standby,
    Stopping,
}

type Pauses = Box<dyn Iterator<Item = Duration> + Send>;

impl<O: Outbox> Relay<O> {
    /// Runs the relay until `shutdown`.
    pub fn spawn(self, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move { self.run(shutdown).await })
    }

    async fn run(self, shutdown: CancellationToken) {
        let service = self.service;
        let mut pauses: Pauses = Box::new(broker::backoff());
        loop {
            let pause = match self.lead(&mut pauses, &shutdown).await {
                Ok(Ended::Stopping) => break,
                Ok(Ended::Standby) => STANDBY_POLL,
                Err(err) => {
                    let pause = pauses.next().unwrap_or(STANDBY_POLL);
                    tracing::warn!(service, error = format!("{err:#}"), retry_in = ?pause, "event relay cannot take the lead");
                    pause
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        tracing::debug!(service, "event relay stopped");
    }

    /// Takes the lock if it is free and publishes for as long as this instance holds
    /// it, reconnecting to the broker with backoff (the lock is kept meanwhile: the
    /// standbys could not publish either). Ends on shutdown or when the lock is lost.
    async fn lead(
        &self,
        pauses: &mut Pauses,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Ended> {
        if shutdown.is_cancelled() {
            return Ok(Ended::Stopping);
        }
        let Some(mut leadership) =
            Leadership::try_acquire(&self.pool, self.lock_key, self.service).await?
        else {
            return Ok(Ended::Standby);
        };
        let service = self.service;
        tracing::info!(service, "this instance is the active event relay");
        let ended = loop {
            if let Err(err) = leadership.confirm().await {
                break Err(err.context("lost the relay lock"));
            }
            let Err(err) = self
                .connect_and_publish(&mut leadership, pauses, shutdown)
                .await
            else {
                break Ok(Ended::Stopping);
            };
            let pause = pauses.next().unwrap_or(STANDBY_POLL);
            tracing::warn!(service, error = format!("{err:#}"), retry_in = ?pause, "event relay cannot publish");
            tokio::select! {
                () = shutdown.cancelled() => break Ok(Ended::Stopping),
                () = tokio::time::sleep(pause) => {}
            }
        };
        leadership.release().await;
        ended
    }

    /// One broker connection: publishes until shutdown (`Ok`) or a failure.
    async fn connect_and_publish(
        &self,
        leadership: &mut Leadership,
        pauses: &mut Pauses,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        let connection = broker::connect(
            self.config.amqp_url.expose_secret(),
            &format!("{} relay", self.service),
        )
        .await?;
        let result = self
            .publish_while_leading(&connection, leadership, pauses, shutdown)
            .await;
        broker::close(connection).await;
        result
    }

    async fn publish_while_leading(
        &self,
        connection: &lapin::Connection,
        leadership: &mut Leadership,
        pauses: &mut Pauses,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        let channel = broker::channel(connection).await?;
        within(
            channel.confirm_select(ConfirmSelectOptions::default()),
            "enable publisher confirms",
        )
        .await?;
        within(topology::declare_exchange(&channel), "declare the exchange").await?;
        *pauses = Box::new(broker::backoff());
        tracing::info!(
            service = self.service,
            "event relay connected to the broker"
        );
        loop {
            if shutdown.is_cancelled() {
                return Ok(());
            }
            leadership.confirm().await?;
            let batch = self.outbox.pending(BATCH).await?;
            let full = i64::try_from(batch.len()).unwrap_or(i64::MAX) >= BATCH;
            if !batch.is_empty() {
                self.publish(&channel, batch).await?;
            }
            if !full {
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    () = tokio::time::sleep(self.config.poll_every) => {}
                }
            }
        }
    }

    /// Publishes `batch` in order, waits for the confirms, marks the confirmed rows.
    /// Fails (after marking what was confirmed) if any row was not confirmed.
    async fn publish(&self, channel: &Channel, batch: Vec<Outgoing>) -> anyhow::Result<()> {
        let mut failure = None;
        let mut in_flight = Vec::with_capacity(batch.len());
        for event in &batch {
            let properties = topology::properties(
                &event.event_id,
                event.message_type,
                event.occurred_at_unix,
                self.service,
            );
            let sent = within(
                channel.basic_publish(
                    EXCHANGE.into(),
                    event.routing_key.as_str().into(),
                    BasicPublishOptions::default(),
                    &event.body,
                    properties,
                ),
                "publish an event",
            )
            .await;
            match sent {
                Ok(confirm) => in_flight.push((event.offset, confirm)),
                Err(err) => {
                    failure = Some(err);
                    break;
                }
            }
        }
        let deadline = tokio::time::Instant::now() + CONFIRM_TIMEOUT;
        let mut confirmed = Vec::with_capacity(in_flight.len());
        let mut refused = 0;
        for (offset, confirm) in in_flight {
            match tokio::time::timeout_at(deadline, confirm).await {
                Ok(Ok(confirmation)) if confirmation.is_ack() => confirmed.push(offset),
                Ok(Ok(_)) => refused += 1,
                Ok(Err(err)) => {
                    failure.get_or_insert_with(|| anyhow::Error::from(err).context("no confirm"));
                }
                Err(_) => {
                    failure.get_or_insert_with(|| {
                        anyhow::anyhow!("no confirm within {CONFIRM_TIMEOUT:?}")
                    });
                    break;
                }
            }
        }
        if !confirmed.is_empty() {
            self.outbox.mark_published(&confirmed).await?;
            metrics::counter!("shop_events_published_total", "service" => self.service)
                .increment(confirmed.len() as u64);
            tracing::debug!(
                service = self.service,
                published = confirmed.len(),
                "events published"
            );
        }
        if failure.is_some() || refused > 0 {
            metrics::counter!("shop_events_publish_failures_total", "service" => self.service)
                .increment(1);
        }
        if let Some(err) = failure {
            return Err(err.context("publishing stopped; unconfirmed events will be sent again"));
        }
        if refused > 0 {
            anyhow::bail!("the broker refused {refused} events; they will be sent again");
        }
        Ok(())
    }
}
