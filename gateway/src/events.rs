//! Follows delivery-svc's event stream so that an automatic receipt (or a receipt whose
//! order update failed) moves the order to RECEIVED. Resumes from the offset stored in
//! the gateway database; handling is idempotent (MarkReceived on a RECEIVED order is a
//! no-op), so a redelivered event or a second gateway instance does no harm.

use std::time::Duration;

use shop_common::CancellationToken;
use shop_proto::{
    common::OrderStatus,
    delivery::{DeliveryEvent, StreamEventsRequest},
    order::{GetOrderRequest, MarkReceivedRequest},
};
use sqlx::PgPool;
use tokio_stream::StreamExt;
use tonic::Code;

use crate::clients::{self, Clients, Deadline};

const CONSUMER: &str = "delivery-events";
const RECONNECT: Duration = Duration::from_secs(1);

pub fn spawn(
    clients: Clients,
    pool: PgPool,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                result = follow(&clients, &pool) => {
                    if let Err(err) = result {
                        tracing::debug!(error = format!("{err:#}"), "delivery event stream interrupted; reconnecting");
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(RECONNECT) => {}
            }
        }
    })
}

async fn follow(clients: &Clients, pool: &PgPool) -> anyhow::Result<()> {
    let after: i64 = sqlx::query_scalar("SELECT last_offset FROM consumer_offsets WHERE name = $1")
        .bind(CONSUMER)
        .fetch_optional(pool)
        .await?
        .unwrap_or(0);
    let mut client = clients.delivery.clone();
    let mut stream = client
        .stream_events(StreamEventsRequest {
            after_offset: after,
        })
        .await?
        .into_inner();
    while let Some(event) = stream.next().await {
        let event = event?;
        handle(clients, &event).await?;
        sqlx::query(
            "INSERT INTO consumer_offsets (name, last_offset, updated_at) VALUES ($1, $2, now()) \
             ON CONFLICT (name) DO UPDATE SET last_offset = GREATEST(consumer_offsets.last_offset, $2), updated_at = now()",
        )
        .bind(CONSUMER)
        .bind(event.offset)
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Applies one event; an error stops the stream without moving the offset, so the
/// event is handled again after reconnecting.
async fn handle(clients: &Clients, event: &DeliveryEvent) -> anyhow::Result<()> {
    if event.kind != "DELIVERY_RECEIVED" {
        return Ok(());
    }
    let deadline = Deadline::after(Duration::from_secs(5));
    let request = MarkReceivedRequest {
        order_id: event.order_id.clone(),
    };
    let result = clients::retry(
        deadline,
        3,
        "order-svc",
        call!(clients.order, mark_received, request),
    )
    .await;
    match result {
        Ok(_) => {
            tracing::info!(order_id = %event.order_id, auto = event.auto_received, "order received");
            Ok(())
        }
        Err(status) if status.code() == Code::FailedPrecondition => {
            // Not PAID yet (its pay saga is still finishing) -> try again later;
            // any other state (cancelled, failed) -> nothing to do.
            let get = GetOrderRequest {
                order_id: event.order_id.clone(),
            };
            let order =
                clients::once(deadline, "order-svc", call!(clients.order, get_order, get)).await?;
            if order.status() == OrderStatus::PaymentInProgress {
                anyhow::bail!(
                    "order {} is still being paid; will retry its receipt",
                    event.order_id
                );
            }
            tracing::warn!(order_id = %event.order_id, status = order.status().as_str_name(), "receipt event for an order that is not paid; ignored");
            Ok(())
        }
        Err(status) => Err(anyhow::anyhow!("MarkReceived failed: {}", status.message())),
    }
}
