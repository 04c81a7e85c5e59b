//! Follows delivery-svc's event stream so that an automatic receipt (or a receipt
//! whose order update failed) moves the order to RECEIVED. Resumes from the offset
//! stored in the gateway database; handling is idempotent, so a redelivered event or
//! a second gateway instance does no harm.
//!
//! An event that is refused for now (its order's payment is still being finished) is
//! retried a bounded number of times with backoff, then parked with its reason
//! ([`crate::store::parked`], listed by AdminService.ListParkedEvents) and the stream
//! moves on; parked events are retried with a growing backoff until they apply. An
//! event whose outcome is unknown (order-svc unreachable) is not poison: the stream
//! waits and tries it again.
//!
//! - [`receipt`]: applying one event.

pub mod receipt;

use std::time::Duration;

use tokio::time::Instant;

use shop_common::CancellationToken;
use shop_proto::delivery::DeliveryEvent;
use sqlx::PgPool;
use tokio_stream::StreamExt;
use uuid::Uuid;

use crate::{
    clients::Clients,
    store::{
        offsets,
        parked::{self, Event},
    },
};
use receipt::{Applied, RECEIVED};

use crate::ids::OrderId;

pub const CONSUMER: &str = "delivery-events";
const RECONNECT: Duration = Duration::from_secs(1);
/// The longest a skipped event's offset waits to be stored.
const OFFSET_EVERY: Duration = Duration::from_millis(500);
/// Tries of an event refused for now before it is parked.
pub const ATTEMPTS: i32 = 5;
/// First wait between tries; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(200);
const MAX_PAUSE: Duration = Duration::from_secs(5);
/// How often parked events are looked at, and how long one is taken for a retry.
const REDRIVE_EVERY: Duration = Duration::from_secs(1);
const REDRIVE_LEASE: Duration = Duration::from_secs(30);

pub fn spawn(
    clients: Clients,
    pool: PgPool,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let follow = async {
            loop {
                if let Err(err) = follow(&clients, &pool).await {
                    tracing::debug!(
                        error = format!("{err:#}"),
                        "delivery event stream interrupted; reconnecting"
                    );
                }
                tokio::time::sleep(RECONNECT).await;
            }
        };
        let redrive = async {
            loop {
                if let Err(err) = redrive(&clients, &pool).await {
                    tracing::warn!(error = format!("{err:#}"), "cannot retry parked events");
                }
                tokio::time::sleep(REDRIVE_EVERY).await;
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = follow => {}
            () = redrive => {}
        }
    })
}

/// Follows the stream from the stored offset. The offset is stored after every event
/// it applied, and past the events it skips (every kind but RECEIVED: one per
/// checkout) at most every [`OFFSET_EVERY`] or once the stream pauses that long; a
/// restart replays what was skipped since, which skipping again makes harmless.
async fn follow(clients: &Clients, pool: &PgPool) -> anyhow::Result<()> {
    let after = offsets::get(pool, CONSUMER).await?;
    let mut stream = clients.delivery.events_after(CONSUMER, after).await?;
    let mut unsaved: Option<i64> = None;
    let mut saved_at = Instant::now();
    loop {
        let (applied, paused) = match tokio::time::timeout(OFFSET_EVERY, stream.next()).await {
            Ok(None) => break,
            Ok(Some(event)) => {
                let event = event?;
                let applies = event.kind == RECEIVED;
                if applies {
                    handle(clients, pool, &event).await?;
                }
                unsaved = Some(event.offset);
                metrics::gauge!("shop_consumer_offset", "consumer" => CONSUMER)
                    .set(event.offset as f64);
                (applies, false)
            }
            Err(_paused) => (false, true),
        };
        if (applied || paused || saved_at.elapsed() >= OFFSET_EVERY)
            && let Some(offset) = unsaved.take()
        {
            offsets::advance(pool, CONSUMER, offset).await?;
            saved_at = Instant::now();
        }
    }
    if let Some(offset) = unsaved {
        offsets::advance(pool, CONSUMER, offset).await?;
    }
    Ok(())
}

/// Applies one event in stream order: retried while its outcome is unknown, at most
/// [`ATTEMPTS`] times while it is refused for now, then parked.
async fn handle(clients: &Clients, pool: &PgPool, event: &DeliveryEvent) -> anyhow::Result<()> {
    let parsed = (
        Uuid::try_parse(&event.order_id).map(OrderId),
        Uuid::try_parse(&event.event_id),
    );
    let (Ok(order_id), Ok(event_id)) = parsed else {
        tracing::error!(
            offset = event.offset,
            "delivery event without valid ids; skipped"
        );
        return Ok(());
    };
    let mut refused = 0;
    let mut pause = FIRST_PAUSE;
    loop {
        match receipt::apply(clients, order_id).await {
            Applied::Done => {
                tracing::info!(%order_id, auto = event.auto_received, "order received");
                return Ok(());
            }
            Applied::Moot(why) => {
                tracing::warn!(%order_id, why, "receipt event with nothing to do; skipped");
                return Ok(());
            }
            Applied::NotYet(reason) => {
                refused += 1;
                if refused >= ATTEMPTS {
                    let parked = Event {
                        offset: event.offset,
                        event_id,
                        order_id: order_id.0,
                        kind: event.kind.clone(),
                    };
                    parked::park(
                        pool,
                        CONSUMER,
                        &parked,
                        &reason,
                        refused,
                        redrive_pause(refused),
                    )
                    .await?;
                    tracing::warn!(%order_id, offset = event.offset, reason, "event parked; the stream moves on");
                    return Ok(());
                }
            }
            Applied::Unknown(cause) => {
                tracing::debug!(%order_id, message = cause.message(), "receipt outcome unknown; trying again");
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// Tries the parked events that are due once each.
async fn redrive(clients: &Clients, pool: &PgPool) -> anyhow::Result<()> {
    for event in parked::claim_due(pool, CONSUMER, 20, REDRIVE_LEASE).await? {
        let offset = event.event_offset;
        match receipt::apply(clients, OrderId(event.order_id)).await {
            Applied::Done => {
                tracing::info!(order_id = %event.order_id, offset, "parked event applied");
                parked::resolve(pool, CONSUMER, offset, "").await?;
            }
            Applied::Moot(why) => parked::resolve(pool, CONSUMER, offset, &why).await?,
            Applied::NotYet(reason) => {
                let pause = redrive_pause(event.attempts + 1);
                parked::reschedule(pool, CONSUMER, offset, &reason, true, pause).await?;
            }
            Applied::Unknown(_) => {
                parked::reschedule(pool, CONSUMER, offset, &event.reason, false, MAX_PAUSE).await?;
            }
        }
    }
    Ok(())
}

/// Wait before a parked event is tried again: 5 s after it is parked, doubling with
/// each later try, at most 10 minutes.
fn redrive_pause(attempts: i32) -> Duration {
    let doublings = u32::try_from((attempts - ATTEMPTS).clamp(0, 7)).unwrap_or(0);
    (Duration::from_secs(5) * (1 << doublings)).min(Duration::from_secs(600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parked_events_back_off() {
        assert_eq!(redrive_pause(ATTEMPTS), Duration::from_secs(5));
        assert_eq!(redrive_pause(ATTEMPTS + 1), Duration::from_secs(10));
        assert_eq!(redrive_pause(ATTEMPTS + 30), Duration::from_secs(600));
    }
}
