//! StreamEvents: every outbox event after an offset, in order, then new ones as they
//! commit, until the client goes away or the service shuts down.

use std::time::Duration;

use shop_common::CancellationToken;
use shop_proto::delivery::DeliveryEvent;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::convert;
use crate::usecase::Deliveries;

const POLL_EVERY: Duration = Duration::from_millis(200);
const BATCH: i64 = 500;

pub type EventStream = ReceiverStream<Result<DeliveryEvent, Status>>;

pub fn follow(deliveries: Deliveries, after: i64, shutdown: CancellationToken) -> EventStream {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut offset = after;
        loop {
            let batch = tokio::select! {
                () = shutdown.cancelled() => return,
                () = tx.closed() => return,
                batch = deliveries.events_after(offset, BATCH) => batch,
            };
            let events = match batch {
                Ok(events) => events,
                Err(err) => {
                    // The client resumes from the last offset it received.
                    let _ = tx.send(Err(err.into())).await;
                    return;
                }
            };
            let full = i64::try_from(events.len()).unwrap_or(i64::MAX) >= BATCH;
            for event in events {
                offset = event.offset;
                if tx.send(Ok(convert::event(event))).await.is_err() {
                    return;
                }
            }
            if full {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tx.closed() => return,
                () = tokio::time::sleep(POLL_EVERY) => {}
            }
        }
    });
    ReceiverStream::new(rx)
}
