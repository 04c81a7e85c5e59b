//! Spawning the app and the small steps most tests share.

use std::fmt::Debug;

use chrono::{Duration, Utc};
use order_svc::{App, Config};
use shop_common::{app::Service, time::to_timestamp};
use shop_proto::{
    common::{OrderLine, OrderStatus, Product},
    order::{self as pb, order_service_client::OrderServiceClient},
};
use shop_testkit::{PgServer, Running};
use sqlx::PgPool;
use tonic::{Code, Response, Status, transport::Channel};
use uuid::Uuid;

pub type Client = OrderServiceClient<Channel>;

pub struct TestApp {
    pub client: Client,
    /// The service's own database, for arranging rare states and for the audit.
    pub pool: PgPool,
    pub running: Running,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|config| config).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(Config) -> Config) -> TestApp {
    let url = PgServer::shared().fresh_database().await;
    let app = App::build(tweak(Config::for_tests(url)))
        .await
        .expect("the app builds");
    let pool = app.pool().clone();
    let running = Running::spawn(app.local_addr(), move |token| app.run_until_stopped(token));
    let client = OrderServiceClient::connect(running.url())
        .await
        .expect("the client connects");
    TestApp {
        client,
        pool,
        running,
    }
}

/// The code and `ErrorInfo.reason` of a failed call.
pub fn assert_error<T: Debug>(
    result: Result<Response<T>, Status>,
    code: Code,
    reason: &str,
) -> Status {
    let status = result.expect_err("the call should fail");
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(
        shop_common::status::reason(&status).as_deref(),
        Some(reason),
        "{status:?}"
    );
    status
}

/// The fields named by a VALIDATION_FAILED status.
pub fn violated_fields(status: &Status) -> Vec<String> {
    shop_common::status::violations(status)
        .into_iter()
        .map(|(field, _)| field)
        .collect()
}

pub fn status_of(order: &pb::Order) -> OrderStatus {
    OrderStatus::try_from(order.status).expect("a known status")
}

pub fn line(product_id: &str, quantity: i32) -> OrderLine {
    OrderLine {
        product_id: product_id.to_owned(),
        quantity,
        ..Default::default()
    }
}

pub fn new_id() -> String {
    Uuid::new_v4().to_string()
}

/// A CreateOrderRequest for a new order id, expiring in five minutes.
pub fn order_request(user_id: &str, lines: Vec<OrderLine>) -> pb::CreateOrderRequest {
    pb::CreateOrderRequest {
        order_id: new_id(),
        user_id: user_id.to_owned(),
        lines,
        expires_at: Some(to_timestamp(Utc::now() + Duration::minutes(5))),
    }
}

impl TestApp {
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    pub async fn product(&self, name: &str, price: i64, stock: i32) -> Product {
        self.client()
            .create_product(pb::CreateProductRequest {
                name: name.to_owned(),
                price,
                stock,
                ..Default::default()
            })
            .await
            .expect("product created")
            .into_inner()
    }

    pub async fn stock(&self, product_id: &str) -> i32 {
        self.client()
            .get_product(pb::GetProductRequest {
                product_id: product_id.to_owned(),
            })
            .await
            .expect("product found")
            .into_inner()
            .stock
    }

    pub async fn order(&self, lines: Vec<OrderLine>) -> pb::Order {
        self.client()
            .create_order(order_request(&new_id(), lines))
            .await
            .expect("order created")
            .into_inner()
    }

    pub async fn get_order(&self, order_id: &str) -> pb::Order {
        self.client()
            .get_order(pb::GetOrderRequest {
                order_id: order_id.to_owned(),
            })
            .await
            .expect("order found")
            .into_inner()
    }

    pub async fn begin(
        &self,
        order_id: &str,
        saga_id: &str,
    ) -> Result<Response<pb::Order>, Status> {
        self.client()
            .begin_payment(pb::BeginPaymentRequest {
                order_id: order_id.to_owned(),
                saga_id: saga_id.to_owned(),
            })
            .await
    }

    pub async fn abort(
        &self,
        order_id: &str,
        saga_id: &str,
        reason: &str,
    ) -> Result<Response<pb::Order>, Status> {
        self.client()
            .abort_payment(pb::AbortPaymentRequest {
                order_id: order_id.to_owned(),
                saga_id: saga_id.to_owned(),
                reason: reason.to_owned(),
            })
            .await
    }

    pub async fn reserve(
        &self,
        order_id: &str,
        saga_id: &str,
    ) -> Result<Response<pb::ReserveStockResponse>, Status> {
        self.client()
            .reserve_stock(pb::ReserveStockRequest {
                order_id: order_id.to_owned(),
                saga_id: saga_id.to_owned(),
            })
            .await
    }

    pub async fn release(
        &self,
        order_id: &str,
        saga_id: &str,
    ) -> Result<Response<pb::ReleaseStockResponse>, Status> {
        self.client()
            .release_stock(pb::ReleaseStockRequest {
                order_id: order_id.to_owned(),
                saga_id: saga_id.to_owned(),
            })
            .await
    }

    pub async fn mark_paid(
        &self,
        order_id: &str,
        saga_id: &str,
        payment_id: &str,
    ) -> Result<Response<pb::Order>, Status> {
        self.client()
            .mark_paid(pb::MarkPaidRequest {
                order_id: order_id.to_owned(),
                saga_id: saga_id.to_owned(),
                payment_id: payment_id.to_owned(),
                discount_amount: 0,
                paid_amount: 0,
            })
            .await
    }

    pub async fn cancel(
        &self,
        order_id: &str,
        reason: &str,
    ) -> Result<Response<pb::Order>, Status> {
        self.client()
            .cancel_order(pb::CancelOrderRequest {
                order_id: order_id.to_owned(),
                reason: reason.to_owned(),
            })
            .await
    }

    /// Runs the whole pay saga up to PAID; returns the saga id.
    pub async fn pay(&self, order: &pb::Order) -> String {
        let saga = new_id();
        self.begin(&order.id, &saga).await.expect("begin");
        self.reserve(&order.id, &saga).await.expect("reserve");
        self.client()
            .mark_paid(pb::MarkPaidRequest {
                order_id: order.id.clone(),
                saga_id: saga.clone(),
                payment_id: new_id(),
                discount_amount: 0,
                paid_amount: order.total_amount,
            })
            .await
            .expect("mark paid");
        saga
    }

    /// Invariant 1, from SQL: per product, initial + adjustments = stock + reserved.
    pub async fn assert_stock_conserved(&self) {
        let rows: Vec<(Uuid, i32, i64, i64)> =
            sqlx::query_as("SELECT product_id, stock, added, reserved FROM stock_audit")
                .fetch_all(&self.pool)
                .await
                .expect("audit query");
        assert!(!rows.is_empty(), "the audit saw no products");
        for (product, stock, added, reserved) in rows {
            assert!(stock >= 0, "product {product} has negative stock {stock}");
            assert_eq!(
                added,
                i64::from(stock) + reserved,
                "product {product}: added {added} != stock {stock} + reserved {reserved}"
            );
        }
    }

    /// How many outbox events of `kind` exist for the order.
    pub async fn events_of(&self, order_id: &str, kind: &str) -> i64 {
        let id = Uuid::parse_str(order_id).expect("uuid");
        sqlx::query_scalar("SELECT count(*) FROM order_events WHERE order_id = $1 AND kind = $2")
            .bind(id)
            .bind(kind)
            .fetch_one(&self.pool)
            .await
            .expect("count events")
    }
}
