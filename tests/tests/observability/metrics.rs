//! After a checkout (and the other things an operator watches: a sold-out try, a
//! cancel with refund, an automatic receipt, an unpaid order expiring, a lost hold),
//! each binary's `/metrics` parses as Prometheus text and holds its series with
//! non-zero values.
//!
//! The four apps run in this process, so they share the one recorder of the process
//! (as they share its tracing subscriber): each endpoint is read for the series of
//! its own service.

use std::{net::SocketAddr, time::Duration};

use gateway::auth::Role;
use prometheus_parse::{Sample, Scrape, Value};
use serde_json::json;
use shop_common::app::Service;
use shop_e2e::{Rest, User};
use shop_testkit::{PgServer, RedisServer, Running};

/// The four apps, each with its `/metrics` address.
struct Apps {
    _running: Vec<Running>,
    gateway_grpc: String,
    gateway_http: SocketAddr,
    metrics: [(&'static str, SocketAddr); 4],
    redis_url: String,
}

async fn start() -> Apps {
    let pg = PgServer::shared();
    let redis_url = RedisServer::shared().url();

    let order = order_svc::App::build(order_svc::Config::for_tests(pg.fresh_database().await))
        .await
        .unwrap();
    let order_metrics = order.metrics_addr();
    let order = Running::spawn(order.local_addr(), |stop| order.run_until_stopped(stop));

    let payment =
        payment_svc::App::build(payment_svc::Config::for_tests(pg.fresh_database().await))
            .await
            .unwrap();
    let payment_metrics = payment.metrics_addr();
    let payment = Running::spawn(payment.local_addr(), |stop| payment.run_until_stopped(stop));

    let mut config = delivery_svc::Config::for_tests(pg.fresh_database().await, redis_url.clone());
    config.auto_receive_after = AUTO_RECEIVE;
    let delivery = delivery_svc::App::build(config).await.unwrap();
    let delivery_metrics = delivery.metrics_addr();
    let delivery = Running::spawn(delivery.local_addr(), |stop| {
        delivery.run_until_stopped(stop)
    });

    let mut config = gateway::Config::for_tests(
        pg.fresh_database().await,
        order.url(),
        payment.url(),
        delivery.url(),
    );
    config.payment_window = PAYMENT_WINDOW;
    let gateway = gateway::App::build(config).await.unwrap();
    let (gateway_http, gateway_metrics) = (gateway.http_addr(), gateway.metrics_addr());
    let gateway = Running::spawn(gateway.local_addr(), |stop| gateway.run_until_stopped(stop));
    Apps {
        gateway_grpc: gateway.url(),
        _running: vec![order, payment, delivery, gateway],
        gateway_http,
        metrics: [
            ("gateway", gateway_metrics),
            ("order-svc", order_metrics),
            ("payment-svc", payment_metrics),
            ("delivery-svc", delivery_metrics),
        ],
        redis_url,
    }
}

/// Short, so that the unpaid order expires and the paid one is received in the test.
const PAYMENT_WINDOW: Duration = Duration::from_secs(3);
const AUTO_RECEIVE: Duration = Duration::from_secs(4);

async fn scrape(addr: SocketAddr) -> Scrape {
    let response = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).unwrap()
}

/// The value of a counter or gauge (or the count of a histogram) with these labels.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matches =
        |s: &&Sample| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v));
    let found: Vec<&Sample> = scrape.samples.iter().filter(matches).collect();
    if found.is_empty() {
        return None;
    }
    Some(
        found
            .iter()
            .map(|s| match &s.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
                Value::Histogram(buckets) => buckets
                    .iter()
                    .find(|b| b.less_than.is_infinite())
                    .map_or(0.0, |b| b.count),
                Value::Summary(_) => 0.0,
            })
            .sum(),
    )
}

fn positive(scrape: &Scrape, who: &str, name: &str, labels: &[(&str, &str)]) -> Result<(), String> {
    match value(scrape, name, labels) {
        Some(v) if v > 0.0 => Ok(()),
        other => Err(format!("{who}: {name}{labels:?} = {other:?}")),
    }
}

/// A series expected on a binary's endpoint: (binary, name, labels).
type Expected = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
);

/// Every series an operator needs after these flows, per binary.
fn missing(scrapes: &[(&'static str, Scrape)]) -> Vec<String> {
    let grpc = |m: &'static str| vec![("method", m), ("code", "OK")];
    let expected: Vec<Expected> = vec![
        (
            "gateway",
            "shop_http_requests_total",
            vec![("route", "/v1/checkout"), ("status", "201")],
        ),
        (
            "gateway",
            "shop_http_requests_total",
            vec![("route", "/v1/checkout"), ("status", "400")],
        ),
        (
            "gateway",
            "shop_http_requests_total",
            vec![("route", "unmatched"), ("status", "404")],
        ),
        (
            "gateway",
            "shop_http_request_duration_seconds",
            vec![("route", "/v1/checkout")],
        ),
        (
            "gateway",
            "shop_grpc_server_requests_total",
            grpc("shop.gateway.v1.AdminService/CreateProduct"),
        ),
        ("gateway", "shop_db_pool_max_connections", vec![]),
        (
            "order-svc",
            "shop_grpc_server_requests_total",
            grpc("shop.order.v1.OrderService/ReserveStock"),
        ),
        (
            "order-svc",
            "shop_grpc_server_request_duration_seconds",
            vec![("method", "shop.order.v1.OrderService/ReserveStock")],
        ),
        (
            "order-svc",
            "shop_stock_reservations_total",
            vec![("outcome", "reserved")],
        ),
        (
            "order-svc",
            "shop_stock_checks_total",
            vec![("outcome", "out_of_stock")],
        ),
        ("order-svc", "shop_stock_releases_total", vec![]),
        ("order-svc", "shop_orders_expired_total", vec![]),
        (
            "order-svc",
            "shop_outbox_head_offset",
            vec![("stream", "order")],
        ),
        (
            "order-svc",
            "shop_db_pool_connections",
            vec![("state", "idle")],
        ),
        (
            "payment-svc",
            "shop_grpc_server_requests_total",
            grpc("shop.payment.v1.PaymentService/Charge"),
        ),
        (
            "payment-svc",
            "shop_payment_charges_total",
            vec![("outcome", "charged")],
        ),
        ("payment-svc", "shop_payment_charged_points_total", vec![]),
        ("payment-svc", "shop_payment_refunds_total", vec![]),
        ("payment-svc", "shop_payment_refunded_points_total", vec![]),
        (
            "delivery-svc",
            "shop_grpc_server_requests_total",
            grpc("shop.delivery.v1.DeliveryService/ConfirmDelivery"),
        ),
        (
            "delivery-svc",
            "shop_holds_total",
            vec![("event", "created")],
        ),
        (
            "delivery-svc",
            "shop_holds_total",
            vec![("event", "extended")],
        ),
        (
            "delivery-svc",
            "shop_holds_total",
            vec![("event", "confirmed")],
        ),
        (
            "delivery-svc",
            "shop_holds_total",
            vec![("event", "expired")],
        ),
        ("delivery-svc", "shop_auto_receipts_total", vec![]),
        (
            "delivery-svc",
            "shop_outbox_head_offset",
            vec![("stream", "delivery")],
        ),
        ("gateway", "shop_saga_started_total", vec![("kind", "PAY")]),
        (
            "gateway",
            "shop_saga_ended_total",
            vec![("kind", "PAY"), ("state", "COMPLETED")],
        ),
        (
            "gateway",
            "shop_saga_ended_total",
            vec![("kind", "PAY"), ("state", "COMPENSATED")],
        ),
        (
            "gateway",
            "shop_saga_ended_total",
            vec![("kind", "CANCEL"), ("state", "COMPLETED")],
        ),
        (
            "gateway",
            "shop_saga_step_duration_seconds",
            vec![("kind", "PAY"), ("step", "CHARGE")],
        ),
        (
            "gateway",
            "shop_client_calls_total",
            vec![
                ("dependency", "payment-svc"),
                ("method", "Charge"),
                ("outcome", "done"),
            ],
        ),
        (
            "gateway",
            "shop_client_calls_total",
            vec![
                ("dependency", "delivery-svc"),
                ("method", "ExtendHold"),
                ("outcome", "refused"),
            ],
        ),
        (
            "gateway",
            "shop_client_call_duration_seconds",
            vec![("dependency", "order-svc"), ("method", "BeginPayment")],
        ),
        ("gateway", "shop_idempotency_replays_total", vec![]),
        (
            "gateway",
            "shop_idempotency_conflicts_total",
            vec![("reason", "reused")],
        ),
        ("gateway", "shop_admission_wait_seconds", vec![]),
        (
            "gateway",
            "shop_consumer_offset",
            vec![("consumer", "delivery-events")],
        ),
    ];
    expected
        .iter()
        .filter_map(|(who, name, labels)| {
            let (_, scrape) = scrapes.iter().find(|(w, _)| w == who).unwrap();
            positive(scrape, who, name, labels).err()
        })
        .chain(GAUGES.iter().filter_map(|(who, name, labels)| {
            let (_, scrape) = scrapes.iter().find(|(w, _)| w == who).unwrap();
            value(scrape, name, labels)
                .is_none()
                .then(|| format!("{who}: {name}{labels:?} is not served"))
        }))
        .collect()
}

/// A gauge expected on a binary's endpoint: (binary, name, labels).
type Gauge = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Gauges that are served whatever their value (0 is the healthy one).
const GAUGES: &[Gauge] = &[
    ("gateway", "shop_sagas_open", &[]),
    ("gateway", "shop_sagas_stuck", &[]),
    ("gateway", "shop_saga_oldest_open_age_seconds", &[]),
    (
        "gateway",
        "shop_parked_events",
        &[("consumer", "delivery-events")],
    ),
    ("gateway", "shop_admission_queue_depth", &[]),
];

fn checkout_body(product: &str, quantity: i32) -> serde_json::Value {
    json!({
        "items": [{"productId": product, "quantity": quantity}],
        "delivery": {"recipientName": "Kim", "address": "1 Main St", "contact": "010-0000-0000"},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_binary_serves_its_series_after_a_checkout() {
    let apps = start().await;
    let secret = gateway::config::TEST_JWT_SECRET.to_owned();
    let admin = User::at(&apps.gateway_grpc, &secret, Role::Admin).await;
    let user = User::at(&apps.gateway_grpc, &secret, Role::User).await;
    let product = admin.create_product("Metered mug", 300, 3).await;
    admin.top_up(user.id, 10_000).await;
    let rest = Rest::new(apps.gateway_http, &user.token);

    // A checkout that is received automatically, one that is cancelled (refund,
    // restock), one refused as sold out.
    let (status, received) = rest
        .post("/v1/checkout", checkout_body(&product.id, 1))
        .await;
    assert_eq!(status, 201, "{received}");
    let (status, cancelled) = rest
        .post("/v1/checkout", checkout_body(&product.id, 1))
        .await;
    assert_eq!(status, 201, "{cancelled}");
    let cancel = format!("/v1/orders/{}/cancel", cancelled["id"].as_str().unwrap());
    let (status, body) = rest
        .post(&cancel, json!({"reason": "changed my mind"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ORDER_STATUS_CANCELLED", "{body}");
    let (status, body) = rest
        .post("/v1/checkout", checkout_body(&product.id, 50))
        .await;
    assert_eq!(
        (status, body["error"]["reason"].as_str()),
        (400, Some("OUT_OF_STOCK")),
        "{body}"
    );
    let (status, _) = rest.get("/v1/no/such/path").await;
    assert_eq!(status, 404);

    // A keyed checkout replayed, and its key reused with another body.
    let key = [
        ("idempotency-key", "metrics-replay"),
        ("content-type", "application/json"),
    ];
    let body = checkout_body(&product.id, 1).to_string();
    for _ in 0..2 {
        let (status, order) = rest
            .send(
                reqwest::Method::POST,
                "/v1/checkout",
                Some(body.clone()),
                &key,
            )
            .await;
        assert_eq!(status, 201, "{order}");
    }
    let other = checkout_body(&product.id, 2).to_string();
    let (status, refused) = rest
        .send(reqwest::Method::POST, "/v1/checkout", Some(other), &key)
        .await;
    assert_eq!(status, 400, "{refused}");

    // An order left unpaid expires; one whose hold vanished cannot be paid.
    let (status, unpaid) = rest.post("/v1/orders", checkout_body(&product.id, 1)).await;
    assert_eq!(status, 201, "{unpaid}");
    let (status, lost) = rest.post("/v1/orders", checkout_body(&product.id, 1)).await;
    assert_eq!(status, 201, "{lost}");
    let lost_id = lost["id"].as_str().unwrap();
    let mut redis = redis::Client::open(apps.redis_url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let deleted: i64 = redis::cmd("DEL")
        .arg(format!("delivery:hold:{lost_id}"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(deleted, 1, "the hold of the unpaid order was in Redis");
    let (status, body) = rest
        .post(&format!("/v1/orders/{lost_id}/pay"), json!({}))
        .await;
    assert_eq!(
        body["error"]["reason"], "DELIVERY_HOLD_EXPIRED",
        "{status} {body}"
    );

    // Expiry and the automatic receipt happen within seconds here; poll, bounded.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut scrapes = Vec::new();
        for (who, addr) in apps.metrics {
            scrapes.push((who, scrape(addr).await));
        }
        let missing = missing(&scrapes);
        if missing.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "series missing or zero: {missing:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
