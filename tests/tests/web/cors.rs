//! CORS: only the origins in `CORS_ALLOWED_ORIGINS` get the headers that let a
//! browser read an answer or send a preflighted request (none by default, which the
//! refusal tests check).

use std::net::SocketAddr;

use reqwest::Method;
use shop_common::app::Service;
use shop_e2e::{Options, Services};
use shop_testkit::Running;

use crate::http::{header, send};

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
