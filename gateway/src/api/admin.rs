//! `shop.gateway.v1.AdminService`: catalog, wallets, coupons, shipping and the saga
//! log, for callers with the admin role.

use shop_common::{status, validate::Violations};
use shop_proto::{
    common::{Coupon, ErrorReason, Product, Wallet},
    delivery,
    gateway::{
        AdjustStockRequest, CreateProductRequest, IssueCouponRequest, ListSagasRequest,
        ListSagasResponse, MarkDeliveredRequest, MarkShippedRequest, Order, RetrySagaRequest, Saga,
        SagaState, TopUpPointsRequest, admin_service_server::AdminService, issue_coupon_request,
    },
    order, payment,
};
use tonic::{Code, Request, Response, Status, metadata::MetadataMap};
use uuid::Uuid;

use super::{Gateway, compose, convert};
use crate::{
    auth::Caller,
    clients::{self, Deadline},
    idempotency,
};

const MAX_PAGE: i32 = 200;

#[tonic::async_trait]
impl AdminService for Gateway {
    async fn create_product(
        &self,
        request: Request<CreateProductRequest>,
    ) -> Result<Response<Product>, Status> {
        let caller = self.auth.admin(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let (request_key, attempts) = admin_key(&caller, request.metadata())?;
        let r = request.into_inner();
        let internal = order::CreateProductRequest {
            name: r.name,
            price: r.price,
            stock: r.stock,
            request_key,
        };
        let product = clients::retry(
            deadline,
            attempts,
            "order-svc",
            call!(self.clients.order, create_product, internal),
        )
        .await
        .map_err(|s| clients::public("order-svc", s))?;
        Ok(Response::new(product))
    }

    async fn adjust_stock(
        &self,
        request: Request<AdjustStockRequest>,
    ) -> Result<Response<Product>, Status> {
        let caller = self.auth.admin(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let (request_key, attempts) = admin_key(&caller, request.metadata())?;
        let r = request.into_inner();
        let internal = order::AdjustStockRequest {
            product_id: r.product_id,
            delta: r.delta,
            request_key,
        };
        let product = clients::retry(
            deadline,
            attempts,
            "order-svc",
            call!(self.clients.order, adjust_stock, internal),
        )
        .await
        .map_err(|s| clients::public("order-svc", s))?;
        Ok(Response::new(product))
    }

    async fn top_up_points(
        &self,
        request: Request<TopUpPointsRequest>,
    ) -> Result<Response<Wallet>, Status> {
        self.auth.admin(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let key = idempotency::key(request.metadata())?;
        let r = request.into_inner();
        let internal = payment::TopUpRequest {
            user_id: r.user_id,
            amount: r.amount,
            idempotency_key: key.clone().unwrap_or_default(),
        };
        // Retried only with a key, which makes the top-up count once.
        let attempts = if key.is_some() { 3 } else { 1 };
        let wallet = clients::retry(
            deadline,
            attempts,
            "payment-svc",
            call!(self.clients.payment, top_up, internal),
        )
        .await
        .map_err(|s| clients::public("payment-svc", s))?;
        Ok(Response::new(wallet))
    }

    async fn issue_coupon(
        &self,
        request: Request<IssueCouponRequest>,
    ) -> Result<Response<Coupon>, Status> {
        self.auth.admin(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let r = request.into_inner();
        let discount = r.discount.map(|d| match d {
            issue_coupon_request::Discount::DiscountAmount(a) => {
                payment::issue_coupon_request::Discount::DiscountAmount(a)
            }
            issue_coupon_request::Discount::DiscountPercent(p) => {
                payment::issue_coupon_request::Discount::DiscountPercent(p)
            }
        });
        let internal = payment::IssueCouponRequest {
            user_id: r.user_id,
            discount,
            min_order_amount: r.min_order_amount,
            expires_at: r.expires_at,
        };
        let coupon = clients::once(
            deadline,
            "payment-svc",
            call!(self.clients.payment, issue_coupon, internal),
        )
        .await
        .map_err(|s| clients::public("payment-svc", s))?;
        Ok(Response::new(coupon))
    }

    async fn mark_shipped(
        &self,
        request: Request<MarkShippedRequest>,
    ) -> Result<Response<Order>, Status> {
        let order_id = request.get_ref().order_id.clone();
        self.advance_delivery(request.metadata(), &order_id, Courier::Shipped)
            .await
            .map(Response::new)
    }

    async fn mark_delivered(
        &self,
        request: Request<MarkDeliveredRequest>,
    ) -> Result<Response<Order>, Status> {
        let order_id = request.get_ref().order_id.clone();
        self.advance_delivery(request.metadata(), &order_id, Courier::Delivered)
            .await
            .map(Response::new)
    }

    async fn list_sagas(
        &self,
        request: Request<ListSagasRequest>,
    ) -> Result<Response<ListSagasResponse>, Status> {
        self.auth.admin(request.metadata())?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let state = SagaState::try_from(r.state).ok();
        v.check(state.is_some(), "state", "unknown saga state");
        v.check(
            (0..=MAX_PAGE).contains(&r.page_size),
            "page_size",
            format!("must be 0..={MAX_PAGE}"),
        );
        let offset = if r.page_token.is_empty() {
            Some(0)
        } else {
            r.page_token.parse::<i64>().ok().filter(|o| *o >= 0)
        };
        v.check(
            offset.is_some(),
            "page_token",
            "is not a token from a previous page",
        );
        v.finish()?;
        let limit = if r.page_size == 0 {
            50
        } else {
            i64::from(r.page_size)
        };
        let offset = offset.unwrap_or(0);
        let records = self
            .engine
            .log()
            .list(state.and_then(convert::saga_state), limit, offset)
            .await
            .map_err(|err| status::unavailable("the saga log", &err))?;
        let next_page_token = if records.len() as i64 == limit {
            (offset + limit).to_string()
        } else {
            String::new()
        };
        Ok(Response::new(ListSagasResponse {
            sagas: records.into_iter().map(convert::saga).collect(),
            next_page_token,
        }))
    }

    async fn retry_saga(
        &self,
        request: Request<RetrySagaRequest>,
    ) -> Result<Response<Saga>, Status> {
        self.auth.admin(request.metadata())?;
        let mut v = Violations::new();
        let saga_id = v
            .uuid("saga_id", &request.get_ref().saga_id)
            .unwrap_or_default();
        v.finish()?;
        let log = self.engine.log();
        let retried = log
            .retry_stuck(saga_id)
            .await
            .map_err(|err| status::unavailable("the saga log", &err))?;
        let record = log
            .get(saga_id)
            .await
            .map_err(|err| status::unavailable("the saga log", &err))?
            .ok_or_else(|| {
                status::error(
                    Code::NotFound,
                    ErrorReason::NotFound,
                    format!("saga {saga_id} not found"),
                )
            })?;
        if !retried {
            return Err(status::error(
                Code::FailedPrecondition,
                ErrorReason::InvalidState,
                format!(
                    "only a STUCK saga can be retried; this one is {}",
                    record.saga.state.as_str()
                ),
            ));
        }
        Ok(Response::new(convert::saga(record)))
    }
}

/// The request's `idempotency-key` scoped to the admin who sent it (empty: none), and
/// how many attempts its call may take: a keyed write counts once, so it may be
/// retried; an unkeyed one is sent once, since a repeat would apply twice.
fn admin_key(caller: &Caller, metadata: &MetadataMap) -> Result<(String, u32), Status> {
    Ok(match idempotency::key(metadata)? {
        Some(key) => (format!("{}:{key}", caller.user_id), 3),
        None => (String::new(), 1),
    })
}

/// What the courier reports.
enum Courier {
    Shipped,
    Delivered,
}

impl Gateway {
    /// Moves an order's delivery on (admin only) and answers with the whole order.
    async fn advance_delivery(
        &self,
        metadata: &tonic::metadata::MetadataMap,
        raw_order_id: &str,
        news: Courier,
    ) -> Result<Order, Status> {
        let caller = self.auth.admin(metadata)?;
        let deadline = Deadline::from_metadata(metadata);
        let mut v = Violations::new();
        let order_id = v.uuid("order_id", raw_order_id).unwrap_or_default();
        v.finish()?;
        let id = order_id.to_string();
        let result = match news {
            Courier::Shipped => {
                let request = delivery::MarkShippedRequest { order_id: id };
                clients::retry(
                    deadline,
                    3,
                    "delivery-svc",
                    call!(self.clients.delivery, mark_shipped, request),
                )
                .await
            }
            Courier::Delivered => {
                let request = delivery::MarkDeliveredRequest { order_id: id };
                clients::retry(
                    deadline,
                    3,
                    "delivery-svc",
                    call!(self.clients.delivery, mark_delivered, request),
                )
                .await
            }
        };
        match result {
            Ok(_) => self.compose(&caller, order_id, deadline).await,
            Err(s) if s.code() == Code::NotFound => Err(self.no_delivery(order_id, deadline).await),
            Err(s) => Err(clients::public("delivery-svc", s)),
        }
    }

    /// Why an order has no delivery to move on: it does not exist (ORDER_NOT_FOUND), or
    /// it is not paid (FAILED_PRECONDITION naming its state).
    async fn no_delivery(&self, order_id: Uuid, deadline: Deadline) -> Status {
        match self.existing(order_id, deadline).await {
            Ok(None) => compose::not_found(order_id),
            Ok(Some(order)) => status::error(
                Code::FailedPrecondition,
                ErrorReason::InvalidState,
                format!(
                    "order {order_id} has no delivery: it is {}",
                    order.status().as_str_name()
                ),
            ),
            Err(s) => s,
        }
    }
}
