//! Every server starts on its own database, reports SERVING and lists its services
//! through reflection, as `grpcurl -plaintext ADDR list` would.

use shop_e2e::{Stack, probe};
use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test]
async fn every_server_serves_health_and_reflection() {
    let stack = Stack::start().await.expect("stack starts");
    let expected = [
        (&stack.order, "shop.order.v1.OrderService"),
        (&stack.payment, "shop.payment.v1.PaymentService"),
        (&stack.delivery, "shop.delivery.v1.DeliveryService"),
        (&stack.gateway, "shop.gateway.v1.ShopService"),
    ];
    for (server, service) in expected {
        let url = server.url();
        assert_eq!(
            probe::health(&url, "").await.unwrap(),
            ServingStatus::Serving,
            "{url}"
        );
        assert_eq!(
            probe::health(&url, service).await.unwrap(),
            ServingStatus::Serving,
            "{service}"
        );
        let listed = probe::list_services(&url).await.unwrap();
        assert!(
            listed.contains(&service.to_string()),
            "{service} not in {listed:?}"
        );
        assert!(
            listed.contains(&"grpc.health.v1.Health".to_string()),
            "{listed:?}"
        );
    }
}

#[tokio::test]
async fn gateway_http_liveness_answers() {
    let stack = Stack::start().await.expect("stack starts");
    let mut stream = tokio::net::TcpStream::connect(stack.gateway_http)
        .await
        .unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}
