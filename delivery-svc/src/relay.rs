//! The event relay of delivery-svc (when `AMQP_URL` is set): the delivery outbox as
//! `shop_events::relay` publishes it, each row as the `DeliveryEvent` of the contract.

use prost::Message;
use shop_common::CancellationToken;
use shop_events::{Outbox, Outgoing, RelayConfig, codec, relay::Relay};
use sqlx::PgPool;
use tokio::task::JoinHandle;

use crate::{grpc::convert, store::events};

/// Elects the one active relay among the instances on this database.
const RELAY_LOCK: i64 = 0x0de1_7e1a;

pub fn spawn(pool: PgPool, config: RelayConfig, shutdown: CancellationToken) -> JoinHandle<()> {
    Relay {
        service: "delivery-svc",
        lock_key: RELAY_LOCK,
        pool: pool.clone(),
        outbox: DeliveryOutbox { pool },
        config,
    }
    .spawn(shutdown)
}

struct DeliveryOutbox {
    pool: PgPool,
}

impl Outbox for DeliveryOutbox {
    async fn pending(&self, limit: i64) -> anyhow::Result<Vec<Outgoing>> {
        let rows = events::unpublished(&self.pool, limit).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let occurred_at_unix = u64::try_from(row.occurred_at.timestamp()).unwrap_or(0);
                let event = convert::event(row);
                Outgoing {
                    offset: event.offset,
                    event_id: event.event_id.clone(),
                    routing_key: codec::routing_key(&event.kind),
                    message_type: codec::DELIVERY_EVENT,
                    occurred_at_unix,
                    body: event.encode_to_vec(),
                }
            })
            .collect())
    }

    async fn mark_published(&self, offsets: &[i64]) -> anyhow::Result<()> {
        Ok(events::mark_published(&self.pool, offsets).await?)
    }
}
