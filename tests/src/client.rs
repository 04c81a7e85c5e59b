//! Clients of the public faces, as a shopper or an operator would hold them.

use std::{net::SocketAddr, time::Duration};

use gateway::auth::{Authenticator, Role};
use shop_common::auth::BearerToken;
use shop_proto::{
    common::{DeliveryInfo, OrderLine, Product, Wallet},
    gateway::{
        CheckoutRequest, CreateProductRequest, Order, PayOrderRequest, PlaceOrderRequest,
        TopUpPointsRequest, admin_service_client::AdminServiceClient,
        shop_service_client::ShopServiceClient,
    },
};
use tonic::{Status, service::interceptor::InterceptedService, transport::Channel};
use uuid::Uuid;

use crate::Stack;

type Authed = InterceptedService<Channel, BearerToken>;

/// A caller of the gateway's gRPC face with a valid token.
#[derive(Clone)]
pub struct User {
    pub id: Uuid,
    pub token: String,
    pub shop: ShopServiceClient<Authed>,
    pub admin: AdminServiceClient<Authed>,
}

impl User {
    pub async fn connect(stack: &Stack, role: Role) -> Self {
        Self::at(&stack.gateway.url(), &stack.jwt_secret, role).await
    }

    /// A new caller with `role` of the gateway at `url` whose tokens use `jwt_secret`.
    pub async fn at(url: &str, jwt_secret: &str, role: Role) -> Self {
        let id = Uuid::now_v7();
        let token = Authenticator::new(jwt_secret)
            .mint(id, role, Duration::from_secs(3600))
            .expect("mint token");
        Self::with_token(url, id, token).await
    }

    /// The same caller (id and token) on a new connection to the gateway at `url`.
    pub async fn reconnect(&self, url: &str) -> Self {
        Self::with_token(url, self.id, self.token.clone()).await
    }

    async fn with_token(url: &str, id: Uuid, token: String) -> Self {
        let channel = Channel::from_shared(url.to_owned())
            .expect("url")
            .connect()
            .await
            .expect("connect to gateway");
        let bearer = BearerToken::new(Some(&token.clone().into())).expect("token is ascii");
        Self {
            id,
            token,
            shop: ShopServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            admin: AdminServiceClient::with_interceptor(channel, bearer),
        }
    }

    pub async fn place(&self, items: &[(&str, i32)]) -> Result<Order, Status> {
        let request = PlaceOrderRequest {
            items: lines(items),
            delivery: Some(address()),
        };
        self.shop
            .clone()
            .place_order(request)
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn place_with_key(&self, items: &[(&str, i32)], key: &str) -> Result<Order, Status> {
        let mut request = tonic::Request::new(PlaceOrderRequest {
            items: lines(items),
            delivery: Some(address()),
        });
        request
            .metadata_mut()
            .insert("idempotency-key", key.parse().expect("ascii key"));
        self.shop
            .clone()
            .place_order(request)
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn pay(&self, order_id: &str, coupon_id: &str) -> Result<Order, Status> {
        let request = PayOrderRequest {
            order_id: order_id.to_owned(),
            coupon_id: coupon_id.to_owned(),
        };
        self.shop
            .clone()
            .pay_order(request)
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn checkout(&self, items: &[(&str, i32)], coupon_id: &str) -> Result<Order, Status> {
        let request = CheckoutRequest {
            items: lines(items),
            delivery: Some(address()),
            coupon_id: coupon_id.to_owned(),
        };
        self.shop
            .clone()
            .checkout(request)
            .await
            .map(tonic::Response::into_inner)
    }

    /// Checkout with a `grpc-timeout` of `timeout`.
    pub async fn checkout_within(
        &self,
        items: &[(&str, i32)],
        timeout: Duration,
    ) -> Result<Order, Status> {
        let mut request = tonic::Request::new(CheckoutRequest {
            items: lines(items),
            delivery: Some(address()),
            coupon_id: String::new(),
        });
        request.set_timeout(timeout);
        self.shop
            .clone()
            .checkout(request)
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn checkout_with_key(
        &self,
        items: &[(&str, i32)],
        key: &str,
    ) -> Result<Order, Status> {
        let mut request = tonic::Request::new(CheckoutRequest {
            items: lines(items),
            delivery: Some(address()),
            coupon_id: String::new(),
        });
        request
            .metadata_mut()
            .insert("idempotency-key", key.parse().expect("ascii key"));
        self.shop
            .clone()
            .checkout(request)
            .await
            .map(tonic::Response::into_inner)
    }

    /// PayOrder with a `grpc-timeout` of `timeout`.
    pub async fn pay_within(&self, order_id: &str, timeout: Duration) -> Result<Order, Status> {
        let mut request = tonic::Request::new(PayOrderRequest {
            order_id: order_id.to_owned(),
            coupon_id: String::new(),
        });
        request.set_timeout(timeout);
        self.shop
            .clone()
            .pay_order(request)
            .await
            .map(tonic::Response::into_inner)
    }

    /// Checkout with an idempotency key and a `grpc-timeout` of `timeout`.
    pub async fn checkout_keyed_within(
        &self,
        items: &[(&str, i32)],
        key: &str,
        timeout: Duration,
    ) -> Result<Order, Status> {
        let mut request = tonic::Request::new(CheckoutRequest {
            items: lines(items),
            delivery: Some(address()),
            coupon_id: String::new(),
        });
        request.set_timeout(timeout);
        request
            .metadata_mut()
            .insert("idempotency-key", key.parse().expect("ascii key"));
        self.shop
            .clone()
            .checkout(request)
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn cancel(&self, order_id: &str, reason: &str) -> Result<Order, Status> {
        let request = shop_proto::gateway::CancelOrderRequest {
            order_id: order_id.to_owned(),
            reason: reason.to_owned(),
        };
        self.shop
            .clone()
            .cancel_order(request)
            .await
            .map(tonic::Response::into_inner)
    }

    /// Every order of this user (one page, newest first).
    pub async fn orders(&self) -> Vec<Order> {
        self.shop
            .clone()
            .list_orders(shop_proto::gateway::ListOrdersRequest {
                page_size: 100,
                ..Default::default()
            })
            .await
            .expect("list orders")
            .into_inner()
            .orders
    }

    pub async fn order(&self, order_id: &str) -> Result<Order, Status> {
        let request = shop_proto::gateway::GetOrderRequest {
            order_id: order_id.to_owned(),
        };
        self.shop
            .clone()
            .get_order(request)
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn wallet(&self) -> Wallet {
        self.shop
            .clone()
            .get_wallet(shop_proto::gateway::GetWalletRequest {})
            .await
            .expect("get wallet")
            .into_inner()
    }

    /// As admin: a product.
    pub async fn create_product(&self, name: &str, price: i64, stock: i32) -> Product {
        let request = CreateProductRequest {
            name: name.to_owned(),
            price,
            stock,
        };
        self.admin
            .clone()
            .create_product(request)
            .await
            .expect("create product")
            .into_inner()
    }

    /// As admin: points for `user`.
    pub async fn top_up(&self, user: Uuid, amount: i64) -> Wallet {
        let request = TopUpPointsRequest {
            user_id: user.to_string(),
            amount,
        };
        self.admin
            .clone()
            .top_up_points(request)
            .await
            .expect("top up")
            .into_inner()
    }

    pub async fn stock_of(&self, product_id: &str) -> i32 {
        let request = shop_proto::gateway::GetProductRequest {
            id: product_id.to_owned(),
        };
        self.shop
            .clone()
            .get_product(request)
            .await
            .expect("get product")
            .into_inner()
            .stock
    }
}

pub fn lines(items: &[(&str, i32)]) -> Vec<OrderLine> {
    items
        .iter()
        .map(|(product_id, quantity)| OrderLine {
            product_id: (*product_id).to_owned(),
            quantity: *quantity,
            ..Default::default()
        })
        .collect()
}

pub fn address() -> DeliveryInfo {
    DeliveryInfo {
        recipient_name: "Kim Minji".into(),
        address: "12 Teheran-ro, Gangnam-gu, Seoul".into(),
        contact: "010-1234-5678".into(),
        requirement: "leave at the door".into(),
    }
}

/// The REST facade with a bearer token.
pub struct Rest {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Rest {
    pub fn new(addr: SocketAddr, token: &str) -> Self {
        Self {
            base: format!("http://{addr}"),
            token: token.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    pub fn without_token(addr: SocketAddr) -> Self {
        Self::new(addr, "")
    }

    /// Any request; returns the status and the JSON body (Null when not JSON).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if !self.token.is_empty() {
            request = request.header("authorization", format!("Bearer {}", self.token));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.expect("http request");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("http body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        )
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send(
            reqwest::Method::POST,
            path,
            Some(body.to_string()),
            &[("content-type", "application/json")],
        )
        .await
    }
}
