//! Every event of 200 checkouts reaches the exporter exactly once, although the active
//! order-svc relay is SIGKILLed twice and the broker is killed and restarted mid-run.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use shop_proto::common::OrderStatus;

use crate::{
    process::OrderSvcProcess,
    stack::{OrderRelay, Stack, checkouts, own_broker},
};

const CHECKOUTS: usize = 200;

async fn when_done(done: &AtomicUsize, count: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while done.load(Ordering::SeqCst) < count {
        assert!(tokio::time::Instant::now() < deadline, "checkouts stalled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// SIGKILLs the relay that holds the lock and starts a new standby in its place;
/// returns the pids of the killed relay and of the one that takes over.
async fn kill_the_active_relay(stack: &Stack, relays: &mut Vec<OrderSvcProcess>) -> (u32, u32) {
    let active = stack.the_active_order_relay().await;
    let at = relays
        .iter()
        .position(|r| r.pid() == active)
        .expect("the active relay is one of ours");
    relays[at].kill();
    relays.remove(at);
    relays.push(
        OrderSvcProcess::spawn(&stack.databases.order, &stack.amqp_url)
            .await
            .expect("a new order-svc starts"),
    );
    let next = stack.the_active_order_relay().await;
    assert_ne!(next, active, "the killed relay cannot hold the lock");
    (active, next)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_reaches_the_exporter_once_despite_relay_kills_and_a_broker_restart() {
    let broker = own_broker().await;
    let stack = Stack::start(&broker.url(), OrderRelay::Elsewhere).await;
    let mut relays = Vec::new();
    for _ in 0..2 {
        relays.push(
            OrderSvcProcess::spawn(&stack.databases.order, &stack.amqp_url)
                .await
                .expect("order-svc relay starts"),
        );
    }
    stack.the_active_order_relay().await;
    let (product, users) = stack.shoppers(8).await;

    let done = Arc::new(AtomicUsize::new(0));
    let driver = {
        let (users, product, done) = (users.clone(), product.clone(), Arc::clone(&done));
        tokio::spawn(async move { checkouts(&users, &product, CHECKOUTS, done).await })
    };

    when_done(&done, 40).await;
    let (killed, next) = kill_the_active_relay(&stack, &mut relays).await;
    eprintln!(
        "relay {killed} SIGKILLed after {} checkouts; {next} took over",
        done.load(Ordering::SeqCst)
    );

    when_done(&done, 80).await;
    stack.kill_broker(&broker).await;
    eprintln!(
        "broker killed after {} checkouts",
        done.load(Ordering::SeqCst)
    );
    let restarted = Arc::clone(&broker);
    let restart = tokio::task::spawn_blocking(move || restarted.start_again());

    when_done(&done, 120).await;
    let (killed, next) = kill_the_active_relay(&stack, &mut relays).await;
    eprintln!(
        "relay {killed} SIGKILLed after {} checkouts; {next} took over",
        done.load(Ordering::SeqCst)
    );
    restart
        .await
        .expect("join")
        .expect("the broker starts again");
    eprintln!(
        "broker back after {} checkouts",
        done.load(Ordering::SeqCst)
    );

    let orders = driver.await.expect("checkouts finish");
    assert_eq!(orders.len(), CHECKOUTS);
    assert!(
        orders.iter().all(|o| o.status() == OrderStatus::Paid),
        "every checkout is paid"
    );

    let waited = stack.wait_until_exported(Duration::from_secs(90)).await;
    let events = stack.outbox().await.len();
    assert_eq!(
        events,
        3 * CHECKOUTS,
        "placed, paid and delivery created per checkout"
    );
    let duplicates = stack.assert_exported_once(&orders).await;
    eprintln!(
        "{events} events exported exactly once ({duplicates} redeliveries absorbed by dedup), \
         the last {waited:?} after the last checkout"
    );
    assert_eq!(
        stack.active_order_relays().await.len(),
        1,
        "still one active relay"
    );
    stack.audit().await;
}
