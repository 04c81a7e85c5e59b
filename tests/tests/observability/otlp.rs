//! One REST checkout, sent with a W3C `traceparent`, reaches a real OTLP receiver as
//! one connected trace: the gateway's request span is the child of the caller's, and
//! each internal service's server span is the child of a gateway span.

use std::{collections::HashMap, time::Duration};

use serde_json::json;
use shop_e2e::Stack;

use crate::receiver::{Received, Receiver};

const INTERNAL: [&str; 3] = [
    "shop.order.v1.OrderService",
    "shop.payment.v1.PaymentService",
    "shop.delivery.v1.DeliveryService",
];
/// OTLP `SPAN_KIND_SERVER`.
const SERVER: i32 = 2;
/// Personal data the checkout carries; no span may hold it.
const RECIPIENT: &str = "Recipient Zq9";
const ADDRESS: &str = "77 Trace Street";
const CONTACT: &str = "010-7777-1234";

fn spans_of(receiver: &Receiver, trace: &str) -> Vec<Received> {
    receiver
        .spans()
        .into_iter()
        .filter(|s| s.trace_id() == trace)
        .collect()
}

fn complete(spans: &[Received]) -> bool {
    INTERNAL.iter().all(|service| {
        spans
            .iter()
            .any(|s| s.attribute("rpc.service").as_deref() == Some(*service))
    }) && spans.iter().any(|s| s.span.name == "POST /v1/checkout")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_rest_checkout_is_one_trace_through_all_four_services() {
    let receiver = Receiver::start().await;
    let env: HashMap<&str, String> = HashMap::from([
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://{}", receiver.addr),
        ),
        ("RUST_LOG", "warn".to_owned()),
    ]);
    let telemetry = shop_common::telemetry::init("shop-e2e", &env).unwrap();
    assert!(
        telemetry.is_exporting(),
        "the first telemetry of this process"
    );

    let stack = Stack::start().await.unwrap();
    let admin = stack.admin().await;
    let product = admin.create_product("Traced lamp", 700, 5).await;
    let user = stack.user().await;
    admin.top_up(user.id, 10_000).await;

    let trace = uuid::Uuid::new_v4().simple().to_string();
    let caller_span = "00f067aa0ba902b7";
    let traceparent = format!("00-{trace}-{caller_span}-01");
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "items": [{"productId": product.id, "quantity": 1}],
        "delivery": {"recipientName": RECIPIENT, "address": ADDRESS, "contact": CONTACT},
    });
    let (status, order) = stack
        .rest(&user)
        .send(
            reqwest::Method::POST,
            "/v1/checkout",
            Some(body.to_string()),
            &[
                ("content-type", "application/json"),
                ("traceparent", &traceparent),
                ("idempotency-key", &key),
            ],
        )
        .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["status"], "ORDER_STATUS_PAID", "{order}");
    let order_id = order["id"].as_str().unwrap().to_owned();

    let mut spans = Vec::new();
    for _ in 0..50 {
        telemetry.flush().await.unwrap();
        spans = spans_of(&receiver, &trace);
        if complete(&spans) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        complete(&spans),
        "spans of trace {trace}: {:#?}",
        spans
            .iter()
            .map(|s| (&s.span.name, s.attribute("rpc.service")))
            .collect::<Vec<_>>()
    );

    // In one process every app exports as the service.name given to `init` (each real
    // binary names itself: order-svc, payment-svc, delivery-svc, gateway).
    assert!(spans.iter().all(|s| s.service == "shop-e2e"));

    // The gateway continued the caller's trace.
    let root = spans
        .iter()
        .find(|s| s.span.name == "POST /v1/checkout")
        .unwrap();
    assert_eq!(root.parent_id(), caller_span);
    assert_eq!(root.span.kind, SERVER);
    assert_eq!(
        root.attribute("http.route").as_deref(),
        Some("/v1/checkout")
    );

    // One tree: every other span's parent is in the trace.
    let ids: HashMap<String, &Received> = spans.iter().map(|s| (s.span_id(), s)).collect();
    for span in spans.iter().filter(|s| s.span_id() != root.span_id()) {
        assert!(
            ids.contains_key(&span.parent_id()),
            "{} has parent {} outside the trace",
            span.span.name,
            span.parent_id()
        );
    }
    // Each internal server span is the child of a span of the gateway.
    for span in spans.iter().filter(|s| {
        s.attribute("rpc.service")
            .is_some_and(|svc| INTERNAL.contains(&svc.as_str()))
    }) {
        assert_eq!(span.span.kind, SERVER, "{}", span.span.name);
        let parent = ids[&span.parent_id()];
        let parent_service = parent.attribute("rpc.service").unwrap_or_default();
        assert!(
            !INTERNAL.contains(&parent_service.as_str()),
            "{} is a child of {} ({parent_service}), not of a gateway span",
            span.span.name,
            parent.span.name
        );
    }
    for method in [
        "shop.order.v1.OrderService/BeginPayment",
        "shop.order.v1.OrderService/ReserveStock",
        "shop.payment.v1.PaymentService/Charge",
        "shop.delivery.v1.DeliveryService/ExtendHold",
        "shop.delivery.v1.DeliveryService/ConfirmDelivery",
        "shop.order.v1.OrderService/MarkPaid",
    ] {
        let call = spans.iter().find(|s| s.span.name == method);
        let call = call.unwrap_or_else(|| panic!("no server span {method}"));
        assert_eq!(call.attribute("rpc.grpc.status_code").as_deref(), Some("0"));
    }

    // The order and saga are named on spans; personal data is not.
    assert!(
        spans
            .iter()
            .any(|s| s.attribute("order_id").as_deref() == Some(order_id.as_str())),
        "a span carries order_id {order_id}"
    );
    assert!(spans.iter().any(|s| s.attribute("saga_id").is_some()));
    for span in &spans {
        for kv in &span.span.attributes {
            let value = format!("{:?}", kv.value);
            for secret in [RECIPIENT, ADDRESS, CONTACT] {
                assert!(!value.contains(secret), "{} holds {secret}", span.span.name);
            }
        }
    }

    // Without a traceparent the gateway starts a new trace.
    let (status, _) = stack.rest(&user).get("/v1/products").await;
    assert_eq!(status, 200);
    let mut fresh = None;
    for _ in 0..50 {
        telemetry.flush().await.unwrap();
        fresh = receiver
            .spans()
            .into_iter()
            .find(|s| s.span.name == "GET /v1/products");
        if fresh.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let fresh = fresh.expect("the span of GET /v1/products");
    assert_ne!(fresh.trace_id(), trace);
    assert!(fresh.span.parent_span_id.is_empty(), "a root span");

    stack.audit().await;
}
