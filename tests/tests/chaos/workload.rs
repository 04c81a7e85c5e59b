//! What the users do while the nemesis works: checkouts (keyed, retried with their key
//! after an unclear answer), place then pay (sometimes twice at once), cancelling paid
//! orders, confirming receipt, and an operator shipping, delivering and restocking.
//! Every answer a client gets about an order is written to the journal, which the
//! verdict holds against the final state.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use gateway::auth::Role;
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use shop_common::status;
use shop_e2e::User;
use shop_proto::{
    common::OrderStatus,
    gateway::{MarkDeliveredRequest, MarkShippedRequest, Order},
};
use tonic::{Code, Status};

use crate::cluster::Cluster;

/// Each request's deadline (the gateway keeps a margin of it for its answer).
const DEADLINE: Duration = Duration::from_secs(6);
/// How long a client waits at most (a frozen gateway does not answer at all).
const PATIENCE: Duration = Duration::from_secs(10);

/// What a client was told about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Told {
    /// The order is PAID.
    Paid,
    /// The payment is past its pivot and finishing (PAYMENT_IN_PROGRESS).
    Accepted,
    /// A definite business refusal of paying it (the reason).
    Refused(String),
    /// An answer that says nothing about the outcome (unavailable, timeout, ...).
    Unclear,
    /// The client asked to cancel it and was told it is CANCELLED.
    Cancelled,
    /// The client asked to cancel it and got no clear answer.
    CancelAsked,
}

/// Every answer, per order.
#[derive(Default)]
pub struct Journal {
    pub told: Mutex<HashMap<String, Vec<Told>>>,
    pub requests: std::sync::atomic::AtomicU64,
}

impl Journal {
    fn note(&self, order_id: &str, told: Told) {
        self.told
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(order_id.to_owned())
            .or_default()
            .push(told);
    }
}

/// Reasons that mean "this payment did not happen" (unlike PAYMENT_IN_PROGRESS or
/// ORDER_NOT_PAYABLE, which may mean another attempt is paying or has paid it).
const DEFINITE: [&str; 5] = [
    "OUT_OF_STOCK",
    "INSUFFICIENT_POINTS",
    "DELIVERY_HOLD_EXPIRED",
    "ORDER_EXPIRED",
    "COUPON_INVALID",
];

fn classify(answer: &Result<Order, Status>) -> Told {
    match answer {
        Ok(order) => match order.status() {
            OrderStatus::Paid | OrderStatus::Received => Told::Paid,
            OrderStatus::PaymentInProgress => Told::Accepted,
            _ => Told::Unclear,
        },
        Err(s) => match status::reason(s) {
            Some(reason) if DEFINITE.contains(&reason.as_str()) => Told::Refused(reason),
            _ => Told::Unclear,
        },
    }
}

/// A shopper with a client on each gateway.
struct Shopper {
    on: [User; 2],
    orders: Vec<String>,
    rng: StdRng,
}

impl Shopper {
    fn pick(&mut self) -> User {
        self.on[self.rng.random_range(0..2)].clone()
    }
}

/// Runs `users` shoppers and one operator until `stop` is set.
pub async fn run(
    cluster: Arc<Cluster>,
    journal: Arc<Journal>,
    seed: u64,
    users: usize,
    stop: Arc<AtomicBool>,
) {
    let admin = User::at(&cluster.gateway_url(0), &cluster.jwt_secret, Role::Admin).await;
    let mut products = Vec::new();
    for i in 0..3 {
        let product = admin
            .create_product(&format!("chaos {i}"), 100 + i * 50, 40)
            .await;
        products.push(product.id);
    }
    let products = Arc::new(products);
    let mut tasks = Vec::new();
    for n in 0..users {
        let first = User::at(&cluster.gateway_url(0), &cluster.jwt_secret, Role::User).await;
        let second = first.reconnect(&cluster.gateway_url(1)).await;
        // Some shoppers can afford a few orders only: INSUFFICIENT_POINTS happens too.
        admin
            .top_up(first.id, if n % 3 == 0 { 600 } else { 20_000 })
            .await;
        let shopper = Shopper {
            on: [first, second],
            orders: Vec::new(),
            rng: StdRng::seed_from_u64(seed.wrapping_add(n as u64 + 1)),
        };
        tasks.push(tokio::spawn(shop(
            shopper,
            Arc::clone(&products),
            Arc::clone(&journal),
            Arc::clone(&stop),
        )));
    }
    let operator = tokio::spawn(operate(
        cluster,
        admin,
        Arc::clone(&products),
        Arc::clone(&journal),
        StdRng::seed_from_u64(seed.wrapping_mul(31)),
        Arc::clone(&stop),
    ));
    for task in tasks {
        let _ = task.await;
    }
    let _ = operator.await;
}

async fn bounded<T>(call: impl Future<Output = Result<T, Status>>) -> Result<T, Status> {
    tokio::time::timeout(PATIENCE, call)
        .await
        .unwrap_or_else(|_| Err(Status::deadline_exceeded("the client gave up")))
}

async fn shop(
    mut me: Shopper,
    products: Arc<Vec<String>>,
    journal: Arc<Journal>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let product = products.choose(&mut me.rng).cloned().unwrap_or_default();
        let quantity = me.rng.random_range(1..=2);
        let roll = me.rng.random_range(0..100);
        journal.requests.fetch_add(1, Ordering::Relaxed);
        match roll {
            0..40 => checkout(&mut me, &journal, &product, quantity).await,
            40..65 => place_then_pay(&mut me, &journal, &product, quantity).await,
            65..80 => cancel(&mut me, &journal).await,
            _ => confirm_receipt(&mut me).await,
        }
        tokio::time::sleep(Duration::from_millis(me.rng.random_range(20..200))).await;
    }
}

async fn checkout(me: &mut Shopper, journal: &Journal, product: &str, quantity: i32) {
    let keyed = me.rng.random_bool(0.6);
    let key = format!("chaos-{}", uuid::Uuid::new_v4());
    let items = [(product, quantity)];
    let user = me.pick();
    let mut answer = if keyed {
        bounded(user.checkout_keyed_within(&items, &key, DEADLINE)).await
    } else {
        bounded(user.checkout_within(&items, DEADLINE)).await
    };
    // A keyed client that got no clear answer retries with its key, on either gateway.
    let mut tries = 0;
    while keyed && tries < 3 && matches!(classify(&answer), Told::Unclear) && answer.is_err() {
        tries += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let user = me.pick();
        answer = bounded(user.checkout_keyed_within(&items, &key, DEADLINE)).await;
    }
    if let Ok(order) = &answer {
        me.orders.push(order.id.clone());
        journal.note(&order.id, classify(&answer));
    }
}

async fn place_then_pay(me: &mut Shopper, journal: &Journal, product: &str, quantity: i32) {
    let user = me.pick();
    let Ok(order) = bounded(user.place(&[(product, quantity)])).await else {
        return;
    };
    me.orders.push(order.id.clone());
    let twice = me.rng.random_bool(0.3);
    let (first, second) = (me.pick(), me.pick());
    let id = order.id.clone();
    if twice {
        let (a, b) = tokio::join!(
            bounded(first.pay_within(&id, DEADLINE)),
            bounded(second.pay_within(&id, DEADLINE))
        );
        journal.note(&id, classify(&a));
        journal.note(&id, classify(&b));
    } else {
        let answer = bounded(first.pay_within(&id, DEADLINE)).await;
        journal.note(&id, classify(&answer));
    }
}

async fn cancel(me: &mut Shopper, journal: &Journal) {
    let Some(id) = me.orders.choose(&mut me.rng).cloned() else {
        return;
    };
    let user = me.pick();
    let answer = bounded(user.cancel(&id, "chaos")).await;
    match &answer {
        Ok(order) if order.status() == OrderStatus::Cancelled => journal.note(&id, Told::Cancelled),
        Ok(_) => {}
        Err(s) if is_business(s) => {}
        Err(_) => journal.note(&id, Told::CancelAsked),
    }
}

async fn confirm_receipt(me: &mut Shopper) {
    let Some(id) = me.orders.choose(&mut me.rng).cloned() else {
        return;
    };
    let user = me.pick();
    let request = shop_proto::gateway::ConfirmReceiptRequest { order_id: id };
    let _ = bounded(async {
        user.shop
            .clone()
            .confirm_receipt(request)
            .await
            .map(tonic::Response::into_inner)
    })
    .await;
}

/// Ships and delivers paid orders, restocks now and then.
async fn operate(
    cluster: Arc<Cluster>,
    admin: User,
    products: Arc<Vec<String>>,
    journal: Arc<Journal>,
    mut rng: StdRng,
    stop: Arc<AtomicBool>,
) {
    let other = admin.reconnect(&cluster.gateway_url(1)).await;
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..400))).await;
        let admin = if rng.random_bool(0.5) { &admin } else { &other };
        let paid: Vec<String> = {
            let told = journal.told.lock().unwrap_or_else(|p| p.into_inner());
            told.iter()
                .filter(|(_, t)| t.contains(&Told::Paid))
                .map(|(id, _)| id.clone())
                .collect()
        };
        if rng.random_bool(0.1) {
            let product = products.choose(&mut rng).cloned().unwrap_or_default();
            let request = shop_proto::gateway::AdjustStockRequest {
                product_id: product,
                delta: 5,
            };
            let _ = bounded(async {
                admin
                    .admin
                    .clone()
                    .adjust_stock(request)
                    .await
                    .map(tonic::Response::into_inner)
            })
            .await;
            continue;
        }
        let Some(id) = paid.choose(&mut rng).cloned() else {
            continue;
        };
        let mut client = admin.admin.clone();
        let _ = if rng.random_bool(0.5) {
            bounded(async {
                client
                    .mark_shipped(MarkShippedRequest { order_id: id })
                    .await
                    .map(tonic::Response::into_inner)
            })
            .await
        } else {
            bounded(async {
                client
                    .mark_delivered(MarkDeliveredRequest { order_id: id })
                    .await
                    .map(tonic::Response::into_inner)
            })
            .await
        };
    }
}

fn is_business(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::FailedPrecondition | Code::Aborted | Code::NotFound | Code::InvalidArgument
    )
}
