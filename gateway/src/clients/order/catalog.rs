//! order-svc calls made for the public API: products, orders, the stock pre-check.

use shop_proto::{
    common::{ErrorReason as R, OrderLine, Product},
    order::{
        self, AdjustStockRequest, CheckStockRequest, CreateOrderRequest, CreateProductRequest,
        GetOrderRequest, GetProductRequest, ListOrdersRequest, ListOrdersResponse,
        ListProductsRequest, ListProductsResponse,
    },
};

use super::{DEPENDENCY, OrderClient};
use crate::clients::{
    call::{self, PUBLIC_ATTEMPTS, Spec},
    deadline::Deadline,
    outcome::Outcome,
};
use crate::ids::{OrderId, ProductId, UserId};

impl OrderClient {
    pub async fn get_order(&self, order_id: OrderId, deadline: Deadline) -> Outcome<order::Order> {
        const SPEC: Spec = Spec::read("GetOrder", &[R::OrderNotFound]);
        let request = GetOrderRequest {
            order_id: order_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.get_order(r).await },
        )
        .await
    }

    pub async fn list_orders(
        &self,
        user_id: UserId,
        page_size: i32,
        page_token: String,
        deadline: Deadline,
    ) -> Outcome<ListOrdersResponse> {
        const SPEC: Spec = Spec::read("ListOrders", &[]);
        let request = ListOrdersRequest {
            user_id: user_id.to_string(),
            page_size,
            page_token,
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.list_orders(r).await },
        )
        .await
    }

    pub async fn get_product(&self, product_id: ProductId, deadline: Deadline) -> Outcome<Product> {
        const SPEC: Spec = Spec::read("GetProduct", &[R::ProductNotFound]);
        let request = GetProductRequest {
            product_id: product_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.get_product(r).await },
        )
        .await
    }

    pub async fn list_products(
        &self,
        page_size: i32,
        page_token: String,
        deadline: Deadline,
    ) -> Outcome<ListProductsResponse> {
        const SPEC: Spec = Spec::read("ListProducts", &[]);
        let request = ListProductsRequest {
            page_size,
            page_token,
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.list_products(r).await },
        )
        .await
    }

    /// An admin write: retried only when `request_key` makes it count once.
    pub async fn create_product(
        &self,
        request: CreateProductRequest,
        deadline: Deadline,
    ) -> Outcome<Product> {
        const KEYED: Spec =
            Spec::write("CreateProduct", PUBLIC_ATTEMPTS, &[R::IdempotencyKeyReused]);
        const ONCE: Spec = Spec::write("CreateProduct", call::ONCE, &[R::IdempotencyKeyReused]);
        let spec = if request.request_key.is_empty() {
            &ONCE
        } else {
            &KEYED
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            spec,
            request,
            |mut c, r| async move { c.create_product(r).await },
        )
        .await
    }

    /// An admin write: retried only when `request_key` makes it count once.
    pub async fn adjust_stock(
        &self,
        request: AdjustStockRequest,
        deadline: Deadline,
    ) -> Outcome<Product> {
        const REFUSALS: &[R] = &[
            R::ProductNotFound,
            R::IdempotencyKeyReused,
            R::OutOfStock,
            R::InvalidState,
        ];
        const KEYED: Spec = Spec::write("AdjustStock", PUBLIC_ATTEMPTS, REFUSALS);
        const ONCE: Spec = Spec::write("AdjustStock", call::ONCE, REFUSALS);
        let spec = if request.request_key.is_empty() {
            &ONCE
        } else {
            &KEYED
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            spec,
            request,
            |mut c, r| async move { c.adjust_stock(r).await },
        )
        .await
    }

    /// Advisory and read-only: is the stock there right now?
    pub async fn check_stock(&self, lines: &[OrderLine], deadline: Deadline) -> Outcome<()> {
        const SPEC: Spec = Spec {
            attempts: call::ONCE,
            ..Spec::read("CheckStock", &[R::OutOfStock, R::ProductNotFound])
        };
        let request = CheckStockRequest {
            lines: lines.to_vec(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.check_stock(r).await },
        )
        .await
        .map(|_| ())
    }

    /// Idempotent by order id (a repeat by the same user returns the order).
    pub async fn create_order(
        &self,
        request: CreateOrderRequest,
        deadline: Deadline,
    ) -> Outcome<order::Order> {
        const SPEC: Spec = Spec::write(
            "CreateOrder",
            PUBLIC_ATTEMPTS,
            &[
                R::ProductNotFound,
                R::IdempotencyKeyReused,
                R::TooManyOpenOrders,
            ],
        );
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.create_order(r).await },
        )
        .await
    }
}
