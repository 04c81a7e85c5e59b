//! Shoppers and operators of the gateway (gRPC and REST), the catalog the load picks
//! from, and the three checkout operations the load repeats.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use gateway::auth::{Authenticator, Role};
use shop_common::auth::BearerToken;
use shop_proto::{
    common::{DeliveryInfo, OrderLine, OrderStatus},
    gateway::{
        CheckoutRequest, CreateProductRequest, Order, PayOrderRequest, PlaceOrderRequest,
        TopUpPointsRequest, admin_service_client::AdminServiceClient,
        shop_service_client::ShopServiceClient,
    },
};
use tonic::{Request, Status, service::interceptor::InterceptedService, transport::Channel};
use uuid::Uuid;

use crate::target::Target;

type Authed = InterceptedService<Channel, BearerToken>;

/// Points each shopper starts with: far more than any run can spend.
pub const STARTING_POINTS: i64 = 1_000_000_000;
/// Stock of each catalog product: far more than any run can sell.
const CATALOG_STOCK: i32 = 10_000_000;

/// A user (or operator) with their own connection to the gateway, as a real client
/// would hold one.
#[derive(Clone)]
pub struct Shopper {
    pub id: Uuid,
    pub shop: ShopServiceClient<Authed>,
    pub admin: AdminServiceClient<Authed>,
    rest: Arc<Rest>,
}

struct Rest {
    base: String,
    authorization: String,
    http: reqwest::Client,
}

impl Shopper {
    pub async fn connect(target: &Target, role: Role) -> anyhow::Result<Self> {
        let id = Uuid::now_v7();
        let token = Authenticator::new(&target.jwt_secret).mint(
            id,
            role,
            Duration::from_secs(24 * 3600),
        )?;
        let channel = Channel::from_shared(target.gateway_grpc.clone())?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .connect()
            .await
            .context("connect to the gateway")?;
        let bearer = BearerToken::new(Some(&token.clone().into()))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()?;
        Ok(Self {
            id,
            shop: ShopServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            admin: AdminServiceClient::with_interceptor(channel, bearer),
            rest: Arc::new(Rest {
                base: format!("http://{}", target.gateway_http),
                authorization: format!("Bearer {token}"),
                http,
            }),
        })
    }

    /// PlaceOrder then PayOrder, as a client paying on a second screen would.
    pub async fn place_and_pay(mut self, lines: Vec<OrderLine>) -> Result<(), String> {
        let placed = self
            .shop
            .place_order(keyed(PlaceOrderRequest {
                items: lines,
                delivery: Some(address()),
            }))
            .await
            .map_err(|s| failure(&s))?
            .into_inner();
        let paid = self
            .shop
            .pay_order(PayOrderRequest {
                order_id: placed.id,
                coupon_id: String::new(),
            })
            .await
            .map_err(|s| failure(&s))?
            .into_inner();
        expect_paid(&paid)
    }

    /// One Checkout call (place + pay), over gRPC.
    pub async fn checkout(mut self, lines: Vec<OrderLine>) -> Result<(), String> {
        let order = self
            .shop
            .checkout(keyed(CheckoutRequest {
                items: lines,
                delivery: Some(address()),
                coupon_id: String::new(),
            }))
            .await
            .map_err(|s| failure(&s))?
            .into_inner();
        expect_paid(&order)
    }

    /// One `POST /v1/checkout` over the REST facade.
    pub async fn checkout_rest(self, lines: Vec<OrderLine>) -> Result<(), String> {
        let items: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| serde_json::json!({"productId": l.product_id, "quantity": l.quantity}))
            .collect();
        let body = serde_json::json!({
            "items": items,
            "delivery": {
                "recipientName": "Kim Minji",
                "address": "12 Teheran-ro, Gangnam-gu, Seoul",
                "contact": "010-1234-5678",
            },
        });
        let response = self
            .rest
            .http
            .post(format!("{}/v1/checkout", self.rest.base))
            .header("authorization", &self.rest.authorization)
            .header("idempotency-key", Uuid::new_v4().to_string())
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|err| format!("http: {}", err.without_url()))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|err| format!("http body: {}", err.without_url()))?;
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        if (200..300).contains(&status) {
            return match json["status"].as_str() {
                Some("ORDER_STATUS_PAID") => Ok(()),
                other => Err(format!("answered {}", other.unwrap_or("no status"))),
            };
        }
        let error = &json["error"];
        Err(format!(
            "{}/{}",
            error["code"].as_str().unwrap_or(&status.to_string()),
            error["reason"].as_str().unwrap_or("-")
        ))
    }

    /// As admin: a product.
    pub async fn create_product(
        &self,
        name: &str,
        price: i64,
        stock: i32,
    ) -> anyhow::Result<String> {
        let request = CreateProductRequest {
            name: name.to_owned(),
            price,
            stock,
        };
        let product = self
            .admin
            .clone()
            .create_product(request)
            .await?
            .into_inner();
        Ok(product.id)
    }

    /// As admin: points for `user`.
    pub async fn top_up(&self, user: Uuid, amount: i64) -> anyhow::Result<()> {
        let request = TopUpPointsRequest {
            user_id: user.to_string(),
            amount,
        };
        self.admin.clone().top_up_points(request).await?;
        Ok(())
    }
}

/// `n` shoppers, connected and topped up (a few at a time).
pub async fn shoppers(target: &Target, admin: &Shopper, n: usize) -> anyhow::Result<Vec<Shopper>> {
    futures::stream::iter(0..n)
        .map(|_| async {
            let shopper = Shopper::connect(target, Role::User).await?;
            admin.top_up(shopper.id, STARTING_POINTS).await?;
            anyhow::Ok(shopper)
        })
        .buffer_unordered(16)
        .try_collect()
        .await
}

/// The products the load buys, each with ample stock.
#[derive(Clone)]
pub struct Catalog {
    pub products: Arc<Vec<String>>,
}

impl Catalog {
    pub async fn create(admin: &Shopper, n: usize) -> anyhow::Result<Self> {
        let products: Vec<String> = futures::stream::iter(0..n)
            .map(|i| async move {
                let price = 100 + (i as i64 % 50) * 10;
                admin
                    .create_product(&format!("bench product {i}"), price, CATALOG_STOCK)
                    .await
            })
            .buffer_unordered(16)
            .try_collect()
            .await?;
        anyhow::ensure!(
            !products.is_empty(),
            "the catalog needs at least one product"
        );
        Ok(Self {
            products: Arc::new(products),
        })
    }

    /// One or two random products, one of each.
    pub fn basket(&self) -> Vec<OrderLine> {
        let n = self.products.len();
        let first = rand::random_range(0..n);
        let mut ids = vec![first];
        if n > 1 && rand::random_bool(0.5) {
            ids.push((first + rand::random_range(1..n)) % n);
        }
        ids.into_iter()
            .map(|i| line(&self.products[i], 1))
            .collect()
    }
}

pub fn line(product_id: &str, quantity: i32) -> OrderLine {
    OrderLine {
        product_id: product_id.to_owned(),
        quantity,
        ..Default::default()
    }
}

fn address() -> DeliveryInfo {
    DeliveryInfo {
        recipient_name: "Kim Minji".into(),
        address: "12 Teheran-ro, Gangnam-gu, Seoul".into(),
        contact: "010-1234-5678".into(),
        requirement: String::new(),
    }
}

/// A request with a fresh idempotency key, as a well-behaved client sends it.
fn keyed<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    if let Ok(key) = Uuid::new_v4().to_string().parse() {
        request.metadata_mut().insert("idempotency-key", key);
    }
    request
}

fn expect_paid(order: &Order) -> Result<(), String> {
    match order.status() {
        OrderStatus::Paid => Ok(()),
        other => Err(format!("answered {}", other.as_str_name())),
    }
}

/// `CODE/REASON` of a refused call, as the error table groups it.
pub fn failure(status: &Status) -> String {
    let reason = shop_common::status::reason(status).unwrap_or_else(|| "-".into());
    format!("{}/{reason}", code_name(status.code()))
}

fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}
