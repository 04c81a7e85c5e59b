//! A flood of callers who hang up at once. Every accepted call runs on after its
//! caller left (its work must not be cut mid-transaction), so without a limit each
//! abandoned request was work started: here 90 PlaceOrders, each a hold and an order.
//! With MAX_IN_FLIGHT, at most that many run per face (their slots stay taken until
//! the work ends, whoever left), the rest are refused at once with OVERLOADED, health
//! answers throughout, and once the work drains the gateway serves normally.

use std::time::Duration;

use futures::future::join_all;
use shop_e2e::{Options, Stack, client};
use shop_proto::gateway::{
    GetProductRequest, PlaceOrderRequest, shop_service_client::ShopServiceClient,
};
use shop_testkit::Fault;
use tonic::{Code, transport::Channel};

use super::token;
use crate::support::{assert_error, eventually};

const LIMIT: u32 = 8;

#[tokio::test]
async fn callers_who_hang_up_at_once_leave_bounded_work_and_a_gateway_that_answers() {
    let stack = Stack::with(Options {
        faults: true,
        gateway_config: |config| config.max_in_flight = LIMIT,
        ..Options::default()
    })
    .await
    .unwrap();
    let admin = stack.admin().await;
    let product = admin.create_product("Flood", 10, 1_000).await.id;
    // Each PlaceOrder now spends seconds in delivery-svc.
    stack
        .faults()
        .delivery
        .set(Fault::delay(Duration::from_secs(1)));

    let rest = reqwest::Client::new();
    let url = format!("http://{}/v1/orders", stack.gateway_http);
    let body = serde_json::json!({
        "items": [{"productId": product, "quantity": 1}],
        "delivery": {"recipientName": "Kim", "address": "Seoul", "contact": "010-1234-5678"},
    })
    .to_string();
    let channel = Channel::from_shared(stack.gateway.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let hang_up = Duration::from_millis(200);
    let over_rest = (0..60).map(|_| {
        let (_, token) = token(&stack);
        let request = rest
            .post(&url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.clone())
            .timeout(hang_up);
        async move {
            let _ = request.send().await;
        }
    });
    let over_grpc = (0..30).map(|_| {
        let (_, token) = token(&stack);
        let mut shop = ShopServiceClient::new(channel.clone());
        let mut request = tonic::Request::new(PlaceOrderRequest {
            items: client::lines(&[(&product, 1)]),
            delivery: Some(client::address()),
        });
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        async move {
            let _ = tokio::time::timeout(hang_up, shop.place_order(request)).await;
        }
    });
    tokio::join!(join_all(over_rest), join_all(over_grpc));

    // The abandoned work holds every slot: more is shed at once, health still answers.
    let patient = stack.user().await;
    let shed = patient
        .shop
        .clone()
        .get_product(GetProductRequest {
            id: product.clone(),
        })
        .await;
    assert_error(shed, Code::ResourceExhausted, "OVERLOADED");
    let (status, body) = stack.rest(&patient).get("/v1/products").await;
    assert_eq!(
        (status, body["error"]["reason"].as_str()),
        (429, Some("OVERLOADED"))
    );
    let health = rest
        .get(format!("http://{}/healthz", stack.gateway_http))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    // The work drains by itself; then the gateway answers normally.
    let order_db = crate::partial::pool(&stack.databases.order).await;
    let drained = eventually(Duration::from_secs(30), || async {
        patient
            .shop
            .clone()
            .get_product(GetProductRequest {
                id: product.clone(),
            })
            .await
            .is_ok()
    })
    .await;
    assert!(
        drained,
        "the gateway answers again once the abandoned work ended"
    );
    let placed: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&order_db)
        .await
        .unwrap();
    assert!(
        placed > 0 && placed <= i64::from(2 * LIMIT),
        "at most {LIMIT} per face ran: {placed} orders for 90 requests"
    );
    stack.faults().delivery.set(Fault::Pass);
    let order = patient.place(&[(&product, 1)]).await.unwrap();
    assert!(!order.id.is_empty());
    stack.audit().await;
}

/// The sessions of payment-svc's database waiting for a lock now, and what for: the
/// wallet row (a Charge debiting it) or a saga fence row (a Charge or Refund of a saga
/// whose earlier Charge is still inside its transaction).
async fn lock_waits(pool: &sqlx::PgPool) -> Vec<(i32, bool)> {
    sqlx::query_as(
        "SELECT pid, query LIKE 'UPDATE wallets%' FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_step_that_ran_out_of_time_is_not_sent_again_beside_itself() {
    let stack = Stack::start().await.unwrap();
    let (admin, buyer) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Slow charge", 100, 5).await.id;
    admin.top_up(buyer.id, 1_000).await;
    let order = buyer.place(&[(&product, 1)]).await.unwrap();
    // The wallet row is locked: Charge waits inside payment-svc past the gateway's
    // per-call limit (3 s), and keeps waiting there after the gateway stops waiting.
    let payment = crate::partial::pool(&stack.databases.payment).await;
    let mut lock = payment.begin().await.unwrap();
    sqlx::query("SELECT balance FROM wallets WHERE user_id = $1 FOR UPDATE")
        .bind(buyer.id)
        .fetch_one(&mut *lock)
        .await
        .unwrap();
    let paying = tokio::spawn({
        let (buyer, id) = (buyer.clone(), order.id.clone());
        async move { buyer.pay(&id, "").await }
    });
    // Retries (at about 3 s and 6 s) would be further Charges of the same saga: each
    // queues behind the first one's fence row, or, once that gives up, debits the
    // wallet in a session of its own. The only other call that may wait for the fence
    // is the saga's compensation, once the charge is given up as unknown.
    let (mut debiting, mut most_on_fence) = (std::collections::HashSet::new(), 0);
    let watch_until = tokio::time::Instant::now() + Duration::from_secs(7);
    while tokio::time::Instant::now() < watch_until {
        let waits = lock_waits(&payment).await;
        debiting.extend(
            waits
                .iter()
                .filter(|(_, wallet)| *wallet)
                .map(|(pid, _)| *pid),
        );
        most_on_fence = most_on_fence.max(waits.iter().filter(|(_, wallet)| !wallet).count());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    lock.rollback().await.unwrap();
    assert_eq!(
        debiting.len(),
        1,
        "one Charge reached the wallet: {debiting:?}"
    );
    assert!(
        most_on_fence <= 1,
        "no second Charge beside the first: {most_on_fence}"
    );
    let answer = tokio::time::timeout(Duration::from_secs(20), paying)
        .await
        .expect("the buyer is answered")
        .unwrap();
    assert!(
        !matches!(&answer, Err(s) if s.code() == Code::Internal),
        "{answer:?}"
    );
    stack.audit().await;
}
