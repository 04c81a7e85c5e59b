//! Looking at the events without any management plugin: a temporary queue bound to
//! `shop.events` that turns each message into a line of proto3 JSON, and a look at a
//! consumer's dead-letter queue.

use futures::StreamExt;
use lapin::{
    Connection, Consumer,
    message::BasicGetMessage,
    options::{BasicConsumeOptions, BasicGetOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
};
use serde_json::{Value, json};

use crate::{
    broker::{self, within},
    codec::Event,
    topology,
};

/// A temporary queue (exclusive, deleted when the tail disconnects) bound to
/// `shop.events`, consumed without acknowledgements.
pub struct Tail {
    connection: Connection,
    consumer: Consumer,
}

impl Tail {
    /// Binds the queue with `binding_key` (`#` for everything, `order.*`,
    /// `delivery.received`...). Events published from now on are seen.
    pub async fn bind(url: &str, binding_key: &str) -> anyhow::Result<Self> {
        let connection = broker::connect(url, "shopctl events tail").await?;
        let channel = broker::channel(&connection).await?;
        within(topology::declare_exchange(&channel), "declare the exchange").await?;
        let temporary = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..QueueDeclareOptions::default()
        };
        let queue = within(
            channel.queue_declare("".into(), temporary, FieldTable::default()),
            "declare a temporary queue",
        )
        .await?;
        within(
            channel.queue_bind(
                queue.name().clone(),
                topology::EXCHANGE.into(),
                binding_key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            ),
            "bind the temporary queue",
        )
        .await?;
        let no_ack = BasicConsumeOptions {
            no_ack: true,
            ..BasicConsumeOptions::default()
        };
        let consumer = within(
            channel.basic_consume(
                queue.name().clone(),
                "shopctl-tail".into(),
                no_ack,
                FieldTable::default(),
            ),
            "consume the temporary queue",
        )
        .await?;
        Ok(Self {
            connection,
            consumer,
        })
    }

    /// The next event as `{"routingKey", "messageId", "event"}` (or `"error"` instead of
    /// `"event"` for a body that is not a contract event); `None` once the broker ends
    /// the consumer. Waits as long as no event comes: that is what a tail is for (a
    /// dead broker connection is noticed by AMQP heartbeats and ends the wait).
    pub async fn next(&mut self) -> anyhow::Result<Option<Value>> {
        let Some(delivery) = self.consumer.next().await else {
            return Ok(None);
        };
        let delivery = delivery?;
        let content_type = delivery
            .properties
            .content_type()
            .as_ref()
            .map(|c| c.as_str());
        let message_id = delivery
            .properties
            .message_id()
            .as_ref()
            .map(|m| m.as_str());
        let routing_key = delivery.routing_key.as_str();
        let line = match Event::decode(routing_key, content_type, &delivery.data) {
            Ok(event) => json!({
                "routingKey": routing_key,
                "messageId": message_id,
                "event": event.to_json(),
            }),
            Err(err) => json!({
                "routingKey": routing_key,
                "messageId": message_id,
                "error": err.to_string(),
            }),
        };
        Ok(Some(line))
    }

    pub async fn close(self) {
        broker::close(self.connection).await;
    }
}

/// What waits in a consumer's dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetters {
    pub queue: String,
    pub count: u32,
    /// The first messages, left in the queue.
    pub sample: Vec<DeadLetter>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub routing_key: String,
    pub message_id: Option<String>,
    /// Why the broker dead-lettered it (`delivery_limit` after the retries, `rejected`).
    pub reason: Option<String>,
}

impl DeadLetter {
    pub fn to_json(&self) -> Value {
        json!({
            "routingKey": self.routing_key,
            "messageId": self.message_id,
            "reason": self.reason,
        })
    }
}

/// Counts the dead letters of `consumer_queue` and looks at up to `peek` of them
/// without taking them (they are handed back when the channel closes).
pub async fn dead_letters(
    url: &str,
    consumer_queue: &str,
    peek: usize,
) -> anyhow::Result<DeadLetters> {
    let connection = broker::connect(url, "shopctl events dead-letters").await?;
    let result = async {
        let channel = broker::channel(&connection).await?;
        let queue = topology::dead_letter_queue(consumer_queue);
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let declared = within(
            channel.queue_declare(queue.as_str().into(), passive, FieldTable::default()),
            "find the dead-letter queue",
        )
        .await?;
        let mut sample = Vec::new();
        while sample.len() < peek {
            let got = within(
                channel.basic_get(queue.as_str().into(), BasicGetOptions::default()),
                "look at a dead letter",
            )
            .await?;
            let Some(message) = got else { break };
            sample.push(describe(&message));
        }
        let _ = within(channel.close(200, "looked".into()), "close the channel").await;
        Ok(DeadLetters {
            queue,
            count: declared.message_count(),
            sample,
        })
    }
    .await;
    broker::close(connection).await;
    result
}

fn describe(message: &BasicGetMessage) -> DeadLetter {
    let properties = &message.delivery.properties;
    let reason = properties
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get("x-first-death-reason"))
        .and_then(|v| match v {
            AMQPValue::LongString(s) => Some(s.to_string()),
            AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
            _ => None,
        });
    DeadLetter {
        routing_key: message.delivery.routing_key.as_str().to_owned(),
        message_id: properties
            .message_id()
            .as_ref()
            .map(|m| m.as_str().to_owned()),
        reason,
    }
}
