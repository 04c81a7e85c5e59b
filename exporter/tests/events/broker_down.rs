//! With the broker down the checkout path is unaffected; the outbox keeps what could
//! not be published, and it drains once the broker returns.

use std::{
    sync::{Arc, atomic::AtomicUsize},
    time::Duration,
};

use shop_proto::common::OrderStatus;
use tokio::time::Instant;

use crate::stack::{OrderRelay, Stack, checkouts, own_broker};

const DURING_OUTAGE: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_the_broker_down_checkouts_work_and_the_backlog_drains() {
    let broker = own_broker().await;
    let stack = Stack::start(&broker.url(), OrderRelay::InProcess).await;
    let (product, users) = stack.shoppers(8).await;
    let before = checkouts(&users, &product, 8, Arc::new(AtomicUsize::new(0))).await;
    stack.wait_until_exported(Duration::from_secs(30)).await;

    stack.kill_broker(&broker).await;

    let started = Instant::now();
    let during = checkouts(
        &users,
        &product,
        DURING_OUTAGE,
        Arc::new(AtomicUsize::new(0)),
    )
    .await;
    let took = started.elapsed();
    assert!(
        during.iter().all(|o| o.status() == OrderStatus::Paid),
        "checkouts unaffected"
    );
    let backlog = stack.unpublished().await;
    assert_eq!(
        backlog,
        i64::try_from(3 * DURING_OUTAGE).unwrap_or(i64::MAX),
        "every event of the outage waits in the outbox"
    );

    let restarted = Arc::clone(&broker);
    tokio::task::spawn_blocking(move || restarted.start_again())
        .await
        .expect("join")
        .expect("the broker starts again");
    let drained = stack.wait_until_exported(Duration::from_secs(90)).await;
    eprintln!(
        "broker down: {DURING_OUTAGE} checkouts in {took:?}, all paid; backlog of {backlog} \
         events drained into the exporter {drained:?} after the broker was back"
    );
    let orders: Vec<_> = before.into_iter().chain(during).collect();
    stack.assert_exported_once(&orders).await;
    stack.audit().await;
}
