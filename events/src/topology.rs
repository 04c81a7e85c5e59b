//! The broker's shape: the exchange every event goes to, the properties of each
//! message, and a consumer's durable queue with its bounded retries and dead-letter
//! queue. Declaring is idempotent, so publishers and consumers both declare what they
//! use and the order in which they start does not matter.

use lapin::{
    BasicProperties, Channel, ExchangeKind,
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
};

/// The durable topic exchange of every domain event (pinned in DESIGN.md).
pub const EXCHANGE: &str = "shop.events";
/// Where consumer queues send what they give up on; each consumer's dead-letter queue
/// is bound to it with the consumer queue's name as routing key.
pub const DEAD_LETTER_EXCHANGE: &str = "shop.events.dlx";
/// The body is a protobuf message of the contract; `type` names it.
pub const CONTENT_TYPE: &str = "application/x-protobuf";
/// AMQP delivery mode 2: the broker writes the message to disk.
const PERSISTENT: u8 = 2;

/// How many times a consumer queue redelivers a message its consumer gave back before
/// dead-lettering it: one delivery plus three retries, as seed 003 does.
pub const RETRIES: i64 = 3;

/// Declares the exchange (durable topic).
pub async fn declare_exchange(channel: &Channel) -> lapin::Result<()> {
    channel
        .exchange_declare(
            EXCHANGE.into(),
            ExchangeKind::Topic,
            durable_exchange(),
            FieldTable::default(),
        )
        .await
}

fn durable_exchange() -> ExchangeDeclareOptions {
    ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    }
}

/// The name of `queue`'s dead-letter queue.
pub fn dead_letter_queue(queue: &str) -> String {
    format!("{queue}.dead-letter")
}

/// Declares a consumer's durable queue bound to `binding_keys`, with its dead-letter
/// queue. The queue is a quorum queue so that the broker itself counts deliveries
/// (`x-delivery-count`) and, after [`RETRIES`] redeliveries, dead-letters the message
/// instead of handing it out again; a consumer that crashes on a message cannot loop.
pub async fn declare_consumer_queue(
    channel: &Channel,
    queue: &str,
    binding_keys: &[&str],
) -> lapin::Result<()> {
    declare_exchange(channel).await?;
    channel
        .exchange_declare(
            DEAD_LETTER_EXCHANGE.into(),
            ExchangeKind::Direct,
            durable_exchange(),
            FieldTable::default(),
        )
        .await?;
    let dead = dead_letter_queue(queue);
    channel
        .queue_declare(
            dead.as_str().into(),
            durable_queue(),
            quorum(FieldTable::default()),
        )
        .await?;
    channel
        .queue_bind(
            dead.as_str().into(),
            DEAD_LETTER_EXCHANGE.into(),
            queue.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;

    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString(DEAD_LETTER_EXCHANGE.into()),
    );
    arguments.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(queue.into()),
    );
    arguments.insert("x-delivery-limit".into(), AMQPValue::LongLongInt(RETRIES));
    channel
        .queue_declare(queue.into(), durable_queue(), quorum(arguments))
        .await?;
    for key in binding_keys {
        channel
            .queue_bind(
                queue.into(),
                EXCHANGE.into(),
                (*key).into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}

fn durable_queue() -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    }
}

fn quorum(mut arguments: FieldTable) -> FieldTable {
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    arguments
}

/// The properties of an event message: persistent, `message_id` = event id, the
/// protobuf content type, `type` = the full protobuf message name, `timestamp` = when
/// it happened (Unix seconds), `app_id` = the service that published it.
pub fn properties(
    event_id: &str,
    message_type: &str,
    occurred_at_unix: u64,
    app_id: &str,
) -> BasicProperties {
    BasicProperties::default()
        .with_message_id(event_id.into())
        .with_content_type(CONTENT_TYPE.into())
        .with_delivery_mode(PERSISTENT)
        .with_type(message_type.into())
        .with_timestamp(occurred_at_unix)
        .with_app_id(app_id.into())
}

/// How many times the broker has handed this message out before (quorum queues set
/// `x-delivery-count` on redeliveries).
pub fn delivery_count(properties: &BasicProperties) -> i64 {
    let Some(headers) = properties.headers() else {
        return 0;
    };
    match headers.inner().get("x-delivery-count") {
        Some(AMQPValue::LongLongInt(n)) => *n,
        Some(AMQPValue::LongInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortInt(n)) => i64::from(*n),
        Some(AMQPValue::LongUInt(n)) => i64::from(*n),
        _ => 0,
    }
}
