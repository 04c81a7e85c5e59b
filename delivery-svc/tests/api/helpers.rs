//! Spawning the app and building requests.

use std::time::Duration;

use delivery_svc::{App, Config};
use shop_common::{app::Service, time};
use shop_proto::{
    common::{Delivery, DeliveryInfo},
    delivery::{
        ConfirmDeliveryRequest, HoldDeliveryRequest, delivery_service_client::DeliveryServiceClient,
    },
};
use shop_testkit::{PgServer, RedisServer, Running};
use sqlx::PgPool;
use tonic::{Code, Status, transport::Channel};
use uuid::Uuid;

pub type Client = DeliveryServiceClient<Channel>;

pub struct TestApp {
    pub client: Client,
    pub pool: PgPool,
    pub database_url: String,
    _running: Running,
}

/// The app on a fresh database and the shared Redis.
pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let database_url = PgServer::shared().fresh_database().await;
    spawn_on(database_url, RedisServer::shared().url(), tweak).await
}

pub async fn spawn_on(
    database_url: String,
    redis_url: String,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = Config::for_tests(database_url.clone(), redis_url);
    tweak(&mut config);
    let app = App::build(config).await.expect("app builds");
    let pool = app.pool().clone();
    let running = Running::spawn(app.local_addr(), |token| app.run_until_stopped(token));
    let client = DeliveryServiceClient::connect(running.url())
        .await
        .expect("client connects");
    TestApp {
        client,
        pool,
        database_url,
        _running: running,
    }
}

pub fn id() -> String {
    Uuid::now_v7().to_string()
}

pub fn info(address: &str) -> DeliveryInfo {
    DeliveryInfo {
        recipient_name: "홍길동".into(),
        address: address.into(),
        contact: "010-1234-5678".into(),
        requirement: "문 앞에 놓아주세요".into(),
    }
}

pub fn hold_request(order_id: &str, user_id: &str, ttl: Duration) -> HoldDeliveryRequest {
    HoldDeliveryRequest {
        order_id: order_id.into(),
        user_id: user_id.into(),
        info: Some(info("서울특별시 중구 을지로 100")),
        ttl: Some(time::to_duration(ttl)),
    }
}

pub fn confirm_request(order_id: &str, saga_id: &str) -> ConfirmDeliveryRequest {
    ConfirmDeliveryRequest {
        order_id: order_id.into(),
        saga_id: saga_id.into(),
        payment_id: id(),
    }
}

/// Holds for a minute and confirms: a PREPARING delivery for a new order.
pub async fn paid_delivery(client: &mut Client, user_id: &str) -> Delivery {
    let order_id = id();
    client
        .hold_delivery(hold_request(&order_id, user_id, Duration::from_secs(60)))
        .await
        .expect("hold");
    client
        .confirm_delivery(confirm_request(&order_id, &id()))
        .await
        .expect("confirm")
        .into_inner()
}

/// Asserts the code and the ErrorInfo reason.
#[track_caller]
pub fn assert_error(status: &Status, code: Code, reason: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(
        shop_common::status::reason(status).as_deref(),
        Some(reason),
        "{status:?}"
    );
}

pub async fn count(pool: &PgPool, sql: &'static str, order_id: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(Uuid::parse_str(order_id).expect("uuid"))
        .fetch_one(pool)
        .await
        .expect("count query")
}

/// Polls `check` every 50 ms until it is true or `limit` passes.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
