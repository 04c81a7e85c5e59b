//! What a web client meets besides the bodies: JSON errors for every refusal the
//! facade makes itself (404, 405, 415, a bad query), `x-request-id` echoed, replays
//! marked `Idempotent-Replayed: true` (over gRPC too), CORS only for the configured
//! origins, every documented operation served, and the pages with their policy.

use std::net::SocketAddr;

use reqwest::{Method, header::HeaderMap};
use serde_json::{Value, json};
use shop_common::app::Service;
use shop_e2e::{Options, Services, Stack};
use shop_proto::gateway::CheckoutRequest;
use shop_testkit::Running;
use uuid::Uuid;

/// One request; the status, headers and JSON body (Null when not JSON).
pub async fn send(
    method: Method,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, HeaderMap, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[track_caller]
fn assert_json_error(status: u16, headers: &HeaderMap, body: &Value, expected: u16, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(
        header(headers, "content-type").is_some_and(|t| t.starts_with("application/json")),
        "{headers:?}"
    );
    let id = header(headers, "x-request-id").unwrap_or_default();
    assert!(
        Uuid::try_parse(id).is_ok(),
        "a request id on every answer: {headers:?}"
    );
}

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

/// A gateway in front of `services` whose CORS allows `origins`.
async fn gateway_allowing(services: &Services, origins: &[&str]) -> (Running, SocketAddr) {
    let [order, payment, delivery] = services.urls();
    let mut config = gateway::Config::for_tests(
        services.wired.databases.gateway.clone(),
        order,
        payment,
        delivery,
    );
    config.cors_allowed_origins = origins.iter().map(|o| (*o).to_owned()).collect();
    let app = gateway::App::build(config).await.unwrap();
    let http = app.http_addr();
    (
        Running::spawn(app.local_addr(), |stop| app.run_until_stopped(stop)),
        http,
    )
}

#[tokio::test]
async fn cors_lets_only_the_configured_origins_in() {
    let services = Services::start(Options::default()).await.unwrap();
    let (_gateway, http) = gateway_allowing(&services, &["https://shop.example"]).await;
    let url = format!("http://{http}/v1/checkout");
    let preflight = |origin: &'static str| {
        let url = url.clone();
        async move {
            send(
                Method::OPTIONS,
                &url,
                None,
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    (
                        "access-control-request-headers",
                        "authorization,content-type,idempotency-key",
                    ),
                ],
                None,
            )
            .await
        }
    };
    let (s, h, _) = preflight("https://shop.example").await;
    assert!((200..300).contains(&s), "{s} {h:?}");
    assert_eq!(
        header(&h, "access-control-allow-origin"),
        Some("https://shop.example")
    );
    let methods = header(&h, "access-control-allow-methods").unwrap_or_default();
    assert!(methods.contains("POST"), "{methods}");
    let allowed = header(&h, "access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for name in ["authorization", "content-type", "idempotency-key"] {
        assert!(allowed.contains(name), "{allowed}");
    }
    assert!(
        header(&h, "access-control-allow-credentials").is_none(),
        "tokens, not cookies"
    );
    let (_, h, _) = preflight("https://evil.example").await;
    assert!(header(&h, "access-control-allow-origin").is_none(), "{h:?}");

    let products = format!("http://{http}/v1/products");
    let (s, h, _) = send(
        Method::GET,
        &products,
        None,
        &[("origin", "https://shop.example")],
        None,
    )
    .await;
    assert_eq!(
        s, 401,
        "CORS lets the browser read the answer; auth still applies"
    );
    assert_eq!(
        header(&h, "access-control-allow-origin"),
        Some("https://shop.example")
    );
    let exposed = header(&h, "access-control-expose-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for name in ["x-request-id", "idempotent-replayed", "retry-after"] {
        assert!(exposed.contains(name), "{exposed}");
    }
    let (_, h, _) = send(
        Method::GET,
        &products,
        None,
        &[("origin", "https://evil.example")],
        None,
    )
    .await;
    assert!(header(&h, "access-control-allow-origin").is_none());
}

#[tokio::test]
async fn every_documented_operation_is_served_and_nothing_else_at_its_path() {
    let stack = Stack::start().await.unwrap();
    let admin = stack.admin().await;
    let base = format!("http://{}", stack.gateway_http);
    let (s, _, doc) = send(
        Method::GET,
        &format!("{base}/v1/openapi.json"),
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20, "{}", paths.len());
    let json = [("content-type", "application/json")];
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", &Uuid::new_v4().to_string())
            .replace("{user_id}", &Uuid::new_v4().to_string());
        let url = format!("{base}{concrete}");
        let methods: Vec<String> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|m| m.to_ascii_uppercase())
            .collect();
        for method in &methods {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let body = (method == Method::POST).then_some("{}");
            let (s, _, b) = send(method.clone(), &url, Some(&admin.token), &json, body).await;
            assert!(
                s != 405 && b["error"]["message"] != "no such path",
                "{method} {path} is documented but not served: {s} {b}"
            );
        }
        let (s, h, _) = send(Method::PUT, &url, Some(&admin.token), &json, Some("{}")).await;
        assert_eq!(s, 405, "PUT {path}");
        let mut allowed: Vec<&str> = header(&h, "allow")
            .unwrap()
            .split(',')
            .filter(|m| *m != "HEAD")
            .collect();
        allowed.sort_unstable();
        let mut documented: Vec<&str> = methods.iter().map(String::as_str).collect();
        documented.sort_unstable();
        assert_eq!(allowed, documented, "{path}: served methods vs documented");
    }
    stack.audit().await;
}

#[tokio::test]
async fn the_pages_and_their_assets_are_served_from_the_gateway() {
    let stack = Stack::start().await.unwrap();
    let base = format!("http://{}", stack.gateway_http);
    for (path, kind) in [
        ("/", "text/html"),
        ("/admin", "text/html"),
        ("/docs", "text/html"),
        ("/assets/storefront.js", "text/javascript"),
        ("/assets/console.js", "text/javascript"),
        ("/assets/swagger-ui/swagger-ui-bundle.js", "text/javascript"),
        ("/assets/swagger-ui/swagger-ui.css", "text/css"),
        ("/assets/swagger-ui/NOTICE", "text/plain"),
    ] {
        let response = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        assert!(
            header(&headers, "content-type").unwrap().starts_with(kind),
            "{path}"
        );
        let csp = header(&headers, "content-security-policy").unwrap();
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
        let text = response.text().await.unwrap();
        assert!(
            !text.contains("https://cdn") && !text.contains("unpkg.com"),
            "{path} loads nothing from elsewhere"
        );
    }
}
