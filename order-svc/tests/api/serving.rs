//! What every server here offers: health reporting the service, and the internal token.

use shop_proto::order::{GetOrderRequest, order_service_client::OrderServiceClient};
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::helpers::{new_id, spawn_app, spawn_app_with};

#[tokio::test]
async fn health_reports_the_order_service_serving() {
    let app = spawn_app().await;
    let channel = tonic::transport::Endpoint::from_shared(app.running.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    let response = health
        .check(HealthCheckRequest {
            service: "shop.order.v1.OrderService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.status(), ServingStatus::Serving);
}

#[tokio::test]
async fn calls_without_the_internal_token_are_refused() {
    let app = spawn_app_with(|c| order_svc::Config {
        internal_token: Some("s3cret".into()),
        ..c
    })
    .await;
    let status = app
        .client()
        .get_order(GetOrderRequest { order_id: new_id() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    let channel = tonic::transport::Endpoint::from_shared(app.running.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let token = shop_common::auth::BearerToken::new(Some(&"s3cret".into())).unwrap();
    let mut authed = OrderServiceClient::with_interceptor(channel, token);
    let status = authed
        .get_order(GetOrderRequest { order_id: new_id() })
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::NotFound,
        "past the token check: {status:?}"
    );
}
