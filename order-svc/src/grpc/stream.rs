//! StreamEvents: sends the outbox from an offset on, then polls for new events until
//! the client goes away or the service shuts down.

use std::time::Duration;

use shop_common::CancellationToken;
use shop_proto::order::OrderEvent;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::{grpc::convert, usecase::events};

/// How long to wait before looking again once the stream has caught up.
const POLL_EVERY: Duration = Duration::from_millis(200);
const BATCH: i64 = 500;

pub type EventStream = ReceiverStream<Result<OrderEvent, Status>>;

/// Starts following the outbox after `after`; the task ends with the stream.
pub fn follow(pool: PgPool, after: i64, shutdown: CancellationToken) -> EventStream {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move { pump(pool, after, tx, shutdown).await });
    ReceiverStream::new(rx)
}

async fn pump(
    pool: PgPool,
    mut after: i64,
    tx: mpsc::Sender<Result<OrderEvent, Status>>,
    shutdown: CancellationToken,
) {
    loop {
        let batch = tokio::select! {
            () = shutdown.cancelled() => return,
            () = tx.closed() => return,
            batch = events::read_after(&pool, after, BATCH) => batch,
        };
        let rows = match batch {
            Ok(rows) => rows,
            Err(err) => {
                // The client resumes from the last offset it saw.
                send(&tx, Err(err.into()), &shutdown).await;
                return;
            }
        };
        let caught_up = i64::try_from(rows.len()).unwrap_or(i64::MAX) < BATCH;
        for row in rows {
            after = row.offset;
            let item = convert::event(row).map_err(Status::from);
            let failed = item.is_err();
            if !send(&tx, item, &shutdown).await || failed {
                return;
            }
        }
        if caught_up {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tx.closed() => return,
                () = tokio::time::sleep(POLL_EVERY) => {}
            }
        }
    }
}

/// False when the client is gone or the service is stopping.
async fn send(
    tx: &mpsc::Sender<Result<OrderEvent, Status>>,
    item: Result<OrderEvent, Status>,
    shutdown: &CancellationToken,
) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => false,
        sent = tx.send(item) => sent.is_ok(),
    }
}
