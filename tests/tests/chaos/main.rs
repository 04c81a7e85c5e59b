//! The chaos test: concurrent users doing Checkout, PlaceOrder + PayOrder (sometimes
//! twice at once), keyed retries, CancelOrder of paid orders, ConfirmReceipt and an
//! operator's shipping and restocking, against the four real binaries with two
//! gateways on one saga log, while a nemesis injects faults (see `nemesis`). When the
//! nemesis stops and the faults heal, the verdict must be clean (see `verdict`).
//!
//! `CHAOS_SEED=1,2,3` runs those seeds (else two new ones, printed: a failure names the
//! seed that reproduces its schedule of faults and actions), `CHAOS_SECONDS` how long
//! each nemesis runs (default 25), `CHAOS_USERS` how many shoppers (default 8).
//! `scripts/chaos.sh --minutes N` runs seed after seed for longer.
//!
//! - `cluster`: the binaries, the proxies, and how they are crashed and frozen.
//! - `workload`: the users, and the journal of what each was told.
//! - `nemesis`: the faults.
//! - `verdict`: what must hold afterwards.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod cluster;
mod nemesis;
mod verdict;
mod workload;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use cluster::Cluster;
use workload::Journal;

fn seeds() -> Vec<u64> {
    match std::env::var("CHAOS_SEED") {
        Ok(list) => list
            .split(',')
            .map(|s| {
                s.trim()
                    .parse()
                    .expect("CHAOS_SEED: comma-separated integers")
            })
            .collect(),
        Err(_) => (0..2).map(|_| rand::random::<u32>().into()).collect(),
    }
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}: an integer")))
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_saga_ends_and_every_promise_holds_under_a_nemesis() {
    let seconds = setting("CHAOS_SECONDS", 25);
    let users = usize::try_from(setting("CHAOS_USERS", 8)).unwrap();
    for seed in seeds() {
        eprintln!(
            "chaos seed {seed}: {seconds} s of faults, {users} users (CHAOS_SEED={seed} reproduces it)"
        );
        run(seed, Duration::from_secs(seconds), users).await;
    }
}

async fn run(seed: u64, for_: Duration, users: usize) {
    let cluster = Arc::new(Cluster::start().await.unwrap());
    let journal = Arc::new(Journal::default());
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(workload::run(
        Arc::clone(&cluster),
        Arc::clone(&journal),
        seed,
        users,
        Arc::clone(&stop),
    ));
    // Let the users get going before the first fault.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let injected = nemesis::run(Arc::clone(&cluster), seed, for_)
        .await
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    cluster.heal();

    let found = verdict::violations(&cluster, &journal).await;
    let orders = journal.told.lock().unwrap().len();
    let requests = journal.requests.load(Ordering::Relaxed);
    eprintln!(
        "chaos seed {seed}: {requests} user actions, {orders} orders with answers; injected {injected:?}"
    );
    if !found.is_empty() {
        panic!(
            "chaos seed {seed}: {} violation(s):\n  {}\n{}",
            found.len(),
            found.join("\n  "),
            cluster.logs().await
        );
    }
    eprintln!("chaos seed {seed}: clean");
}
