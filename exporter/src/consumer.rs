//! Consuming `shop.events` from the exporter's durable queue.
//!
//! Each message is recorded in one transaction and acknowledged after it commits, so
//! a crash between the two only causes a redelivery, which deduplication absorbs.
//! A message that cannot be recorded (poison, or a constraint the database refuses) is
//! given back after a short pause; the queue counts its deliveries and after
//! [`topology::RETRIES`] retries dead-letters it, while the other messages flow. A
//! database that is down is nobody's message's fault: the consumer then waits and tries
//! the same message again, without giving it back, until the database returns.

use std::time::Duration;

use futures::StreamExt;
use lapin::{
    message::Delivery,
    options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions},
    types::FieldTable,
};
use shop_common::{
    CancellationToken, db,
    secret::{ExposeSecret, Secret},
};
use shop_events::{
    broker::{self, within},
    topology,
};
use sqlx::PgPool;
use tokio::task::JoinHandle;

use crate::{
    fact,
    store::{self, Recorded},
};

/// Messages handed to the exporter before it acknowledges the first.
const PREFETCH: u16 = 32;
/// The pause before a failed message is given back, times its attempt number.
const RETRY_PAUSE: Duration = Duration::from_millis(200);
/// What the queue is bound to: every event of the contract.
const BINDINGS: &[&str] = &["order.#", "delivery.#"];

pub struct Consumer {
    pub pool: PgPool,
    pub amqp_url: Secret,
    pub queue: String,
}

enum Handled {
    Done,
    Stopping,
}

/// Declares the exporter's queue (and its dead-letter queue) once, so that events
/// published from now on are kept for it even before it consumes.
pub async fn declare_queue(amqp_url: &str, queue: &str) -> anyhow::Result<()> {
    let connection = broker::connect(amqp_url, "exporter").await?;
    let declared = async {
        let channel = broker::channel(&connection).await?;
        within(
            topology::declare_consumer_queue(&channel, queue, BINDINGS),
            "declare the exporter's queue",
        )
        .await
    }
    .await;
    broker::close(connection).await;
    declared
}

impl Consumer {
    pub fn spawn(self, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move { self.run(shutdown).await })
    }

    async fn run(self, shutdown: CancellationToken) {
        let mut pauses: Box<dyn Iterator<Item = Duration> + Send> = Box::new(broker::backoff());
        loop {
            match self.consume(&mut pauses, &shutdown).await {
                Ok(()) => break,
                Err(err) => {
                    let pause = pauses.next().unwrap_or(Duration::from_secs(1));
                    tracing::warn!(queue = %self.queue, error = format!("{err:#}"), retry_in = ?pause, "exporter cannot consume");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(pause) => {}
                    }
                }
            }
        }
        tracing::debug!("exporter consumer stopped");
    }

    /// Consumes until shutdown (`Ok`) or until the broker connection fails (`Err`).
    async fn consume(
        &self,
        pauses: &mut Box<dyn Iterator<Item = Duration> + Send>,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        let connection = broker::connect(self.amqp_url.expose_secret(), "exporter").await?;
        let result = async {
            let channel = broker::channel(&connection).await?;
            within(
                topology::declare_consumer_queue(&channel, &self.queue, BINDINGS),
                "declare the exporter's queue",
            )
            .await?;
            within(
                channel.basic_qos(PREFETCH, BasicQosOptions::default()),
                "set the prefetch",
            )
            .await?;
            let mut deliveries = within(
                channel.basic_consume(
                    self.queue.as_str().into(),
                    "exporter".into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                ),
                "consume the exporter's queue",
            )
            .await?;
            *pauses = Box::new(broker::backoff());
            tracing::info!(queue = %self.queue, "exporter consuming");
            loop {
                // Waiting for the next event has no deadline: an idle queue is normal,
                // and a dead connection ends the stream.
                let next = tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    next = deliveries.next() => next,
                };
                let Some(delivery) = next else {
                    anyhow::bail!("the broker ended the consumer");
                };
                if let Handled::Stopping = self.handle(delivery?, shutdown).await? {
                    return Ok(());
                }
            }
        }
        .await;
        broker::close(connection).await;
        result
    }

    async fn handle(
        &self,
        delivery: Delivery,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Handled> {
        let routing_key = delivery.routing_key.as_str().to_owned();
        let properties = &delivery.properties;
        let message_id = properties
            .message_id()
            .as_ref()
            .map(|m| m.as_str().to_owned());
        let parsed = fact::from_message(
            &routing_key,
            properties.content_type().as_ref().map(|c| c.as_str()),
            message_id.as_deref(),
            &delivery.data,
        );
        let outcome = match parsed {
            Ok(fact) => match self.record(&routing_key, &fact, shutdown).await {
                Some(outcome) => outcome,
                None => return Ok(Handled::Stopping),
            },
            Err(problem) => Err(problem),
        };
        match outcome {
            Ok(recorded) => {
                let outcome = match recorded {
                    Recorded::New => "recorded",
                    Recorded::Duplicate => {
                        tracing::debug!(message_id, routing_key, "duplicate event skipped");
                        "duplicate"
                    }
                };
                metrics::counter!("shop_exporter_events_total", "outcome" => outcome).increment(1);
                within(
                    delivery.ack(BasicAckOptions::default()),
                    "acknowledge an event",
                )
                .await?;
            }
            Err(problem) => self.give_back(delivery, &routing_key, message_id, &problem),
        }
        Ok(Handled::Done)
    }

    /// Records the fact, waiting out a database that is down; `None` on shutdown.
    async fn record(
        &self,
        routing_key: &str,
        fact: &fact::Fact,
        shutdown: &CancellationToken,
    ) -> Option<Result<Recorded, String>> {
        let mut pauses = broker::backoff();
        loop {
            match store::record(&self.pool, routing_key, fact).await {
                Ok(recorded) => return Some(Ok(recorded)),
                Err(err) if db::is_unavailable(&err) => {
                    let pause = pauses.next().unwrap_or(Duration::from_secs(1));
                    tracing::warn!(error = %err, retry_in = ?pause, "exporter database unavailable");
                    tokio::select! {
                        () = shutdown.cancelled() => return None,
                        () = tokio::time::sleep(pause) => {}
                    }
                }
                Err(err) => return Some(Err(format!("the database refused it: {err}"))),
            }
        }
    }

    /// Gives a failed message back to the queue after a pause that grows with its
    /// attempts, without holding up the messages behind it. The queue dead-letters it
    /// once it has been given back more than [`topology::RETRIES`] times.
    fn give_back(
        &self,
        delivery: Delivery,
        routing_key: &str,
        message_id: Option<String>,
        problem: &str,
    ) {
        let attempt = topology::delivery_count(&delivery.properties) + 1;
        let last = attempt > topology::RETRIES;
        let outcome = if last { "dead_lettered" } else { "retried" };
        metrics::counter!("shop_exporter_events_total", "outcome" => outcome).increment(1);
        if last {
            tracing::error!(
                routing_key,
                message_id,
                attempt,
                problem,
                "event cannot be exported; dead-lettering it"
            );
        } else {
            tracing::warn!(
                routing_key,
                message_id,
                attempt,
                problem,
                "event cannot be exported; it will be retried"
            );
        }
        let pause = RETRY_PAUSE * u32::try_from(attempt).unwrap_or(1);
        tokio::spawn(async move {
            tokio::time::sleep(pause).await;
            let requeue = BasicNackOptions {
                requeue: true,
                ..BasicNackOptions::default()
            };
            // If this fails the channel is gone, and the broker gives the message back.
            let _ = within(delivery.nack(requeue), "give an event back").await;
        });
    }
}
