//! What a web client meets besides the bodies: JSON errors for every refusal the
//! facade makes itself (404, 405, 415, a bad query), `x-request-id` echoed, and
//! replays marked `Idempotent-Replayed: true` (over gRPC too).

use reqwest::Method;
use serde_json::json;
use shop_e2e::Stack;
use shop_proto::gateway::CheckoutRequest;
use uuid::Uuid;

use crate::http::{assert_json_error, header, send};

#[tokio::test]
async fn the_facade_answers_every_refusal_in_json() {
    let stack = Stack::start().await.unwrap();
    let admin = stack.admin().await;
    let base = format!("http://{}", stack.gateway_http);
    let token = Some(admin.token.as_str());

    let (s, h, b) = send(Method::GET, &format!("{base}/v1/nowhere"), token, &[], None).await;
    assert_json_error(s, &h, &b, 404, "NOT_FOUND");
    let (s, h, b) = send(
        Method::DELETE,
        &format!("{base}/v1/orders"),
        token,
        &[],
        None,
    )
    .await;
    assert_json_error(s, &h, &b, 405, "UNIMPLEMENTED");
    let mut allow: Vec<&str> = header(&h, "allow").unwrap().split(',').collect();
    allow.sort_unstable();
    assert_eq!(allow, ["GET", "HEAD", "POST"]);
    // No CORS configured: a preflight is just a method the path does not take.
    let preflight = [
        ("origin", "https://shop.example"),
        ("access-control-request-method", "POST"),
    ];
    let (s, h, b) = send(
        Method::OPTIONS,
        &format!("{base}/v1/checkout"),
        None,
        &preflight,
        None,
    )
    .await;
    assert_json_error(s, &h, &b, 405, "UNIMPLEMENTED");
    assert!(header(&h, "access-control-allow-origin").is_none());
    let text = [("content-type", "text/plain")];
    let (s, h, b) = send(
        Method::POST,
        &format!("{base}/v1/checkout"),
        token,
        &text,
        Some("{}"),
    )
    .await;
    assert_json_error(s, &h, &b, 415, "INVALID_ARGUMENT");
    let (s, h, b) = send(
        Method::GET,
        &format!("{base}/v1/products?colour=red"),
        token,
        &[],
        None,
    )
    .await;
    assert_json_error(s, &h, &b, 400, "INVALID_ARGUMENT");
    assert!(
        b["error"]["message"].as_str().unwrap().contains("colour"),
        "{b}"
    );
    let json = [("content-type", "application/json")];
    let (s, h, b) = send(
        Method::POST,
        &format!("{base}/v1/checkout"),
        token,
        &json,
        Some("[1]"),
    )
    .await;
    assert_json_error(s, &h, &b, 400, "INVALID_ARGUMENT");
    let (s, h, b) = send(
        Method::POST,
        &format!("{base}/v1/checkout"),
        token,
        &json,
        Some(r#"{"colour":"red"}"#),
    )
    .await;
    assert_json_error(s, &h, &b, 400, "INVALID_ARGUMENT");

    // Enums in the query take their short names, as before; unknown ones are refused.
    let (s, _, b) = send(
        Method::GET,
        &format!("{base}/v1/admin/sagas?state=stuck&pageSize=5"),
        token,
        &[],
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, h, b) = send(
        Method::GET,
        &format!("{base}/v1/admin/sagas?state=SIDEWAYS"),
        token,
        &[],
        None,
    )
    .await;
    assert_json_error(s, &h, &b, 400, "INVALID_ARGUMENT");
    let (s, h, b) = send(
        Method::GET,
        &format!("{base}/v1/admin/parked-events?includeResolved=maybe"),
        token,
        &[],
        None,
    )
    .await;
    assert_json_error(s, &h, &b, 400, "INVALID_ARGUMENT");
    let (s, _, b) = send(
        Method::GET,
        &format!("{base}/v1/admin/parked-events?includeResolved=true"),
        token,
        &[],
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn request_ids_are_echoed_when_sane_and_made_otherwise() {
    let stack = Stack::start().await.unwrap();
    let user = stack.user().await;
    let url = format!("http://{}/v1/products", stack.gateway_http);
    let token = Some(user.token.as_str());
    let mine = Uuid::new_v4().to_string();
    let (s, h, _) = send(Method::GET, &url, token, &[("x-request-id", &mine)], None).await;
    assert_eq!(s, 200);
    assert_eq!(
        header(&h, "x-request-id"),
        Some(mine.as_str()),
        "a UUID is kept"
    );
    for insane in ["hello", "1; drop table", &"x".repeat(300)] {
        let (_, h, _) = send(Method::GET, &url, token, &[("x-request-id", insane)], None).await;
        let id = header(&h, "x-request-id").unwrap();
        assert!(
            Uuid::try_parse(id).is_ok() && id != insane,
            "{insane:?} -> {id}"
        );
    }
    let (_, first, _) = send(Method::GET, &url, token, &[], None).await;
    let (_, second, _) = send(Method::GET, &url, token, &[], None).await;
    assert_ne!(
        header(&first, "x-request-id"),
        header(&second, "x-request-id")
    );
    // Pages and refusals too.
    for path in ["/", "/admin", "/v1/openapi.json", "/nowhere"] {
        let (_, h, _) = send(
            Method::GET,
            &format!("http://{}{path}", stack.gateway_http),
            None,
            &[("x-request-id", &mine)],
            None,
        )
        .await;
        assert_eq!(header(&h, "x-request-id"), Some(mine.as_str()), "{path}");
    }
}

#[tokio::test]
async fn replays_are_marked_over_rest_and_grpc() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Mug", 300, 10).await;
    admin.top_up(user.id, 10_000).await;
    let url = format!("http://{}/v1/checkout", stack.gateway_http);
    let body = json!({
        "items": [{"productId": product.id, "quantity": 1}],
        "delivery": {"recipientName": "Park", "address": "3 Sejong-daero, Seoul", "contact": "010-2222-3333"},
    })
    .to_string();
    let key = Uuid::new_v4().to_string();
    let headers = [
        ("content-type", "application/json"),
        ("idempotency-key", key.as_str()),
    ];
    let token = Some(user.token.as_str());
    let (s, first_headers, first) = send(Method::POST, &url, token, &headers, Some(&body)).await;
    assert_eq!(s, 201, "{first}");
    assert_eq!(
        header(&first_headers, "idempotent-replayed"),
        None,
        "the first answer is no replay"
    );
    let (s, again_headers, again) = send(Method::POST, &url, token, &headers, Some(&body)).await;
    assert_eq!(s, 201, "{again}");
    assert_eq!(header(&again_headers, "idempotent-replayed"), Some("true"));
    assert_eq!(again["id"], first["id"]);

    let grpc = |key: &'static str| {
        let mut shop = user.shop.clone();
        let mut request = tonic::Request::new(CheckoutRequest {
            items: shop_e2e::client::lines(&[(&product.id, 1)]),
            delivery: Some(shop_e2e::client::address()),
            coupon_id: String::new(),
        });
        request
            .metadata_mut()
            .insert("idempotency-key", key.parse().unwrap());
        async move { shop.checkout(request).await.unwrap() }
    };
    let first = grpc("grpc-replay").await;
    assert!(first.metadata().get("idempotent-replayed").is_none());
    let again = grpc("grpc-replay").await;
    assert_eq!(again.metadata().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again.get_ref().id, first.get_ref().id);
    assert_eq!(
        user.stock_of(&product.id).await,
        8,
        "two purchases, whatever the replays"
    );
    stack.audit().await;
}
