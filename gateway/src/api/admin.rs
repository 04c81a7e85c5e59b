//! `shop.gateway.v1.AdminService`: catalog, wallets, coupons, shipping and the saga
//! log, for callers with the admin role. Every write is recorded in the audit trail
//! (`crate::audit`) and takes an `idempotency-key` scoped to the admin who sends it.

use shop_common::validate::Violations;
use shop_proto::{
    common::{Coupon, ErrorReason, Product, Wallet},
    gateway::{
        AdjustStockRequest, CreateProductRequest, GetSagaRequest, IssueCouponRequest,
        ListAuditEventsRequest, ListAuditEventsResponse, ListParkedEventsRequest,
        ListParkedEventsResponse, ListSagasRequest, ListSagasResponse, MarkDeliveredRequest,
        MarkShippedRequest, Order, RetrySagaRequest, Saga, SagaDetail, TopUpPointsRequest,
        admin_service_server::AdminService, issue_coupon_request,
    },
    order, payment,
};
use tonic::{Request, Response, Status, metadata::MetadataMap};

use super::{Gateway, shop::one_id};
use crate::ids::OrderId;
use crate::{
    audit::Action,
    auth::Caller,
    clients::{Deadline, Outcome},
    error::{Error, Result},
    idempotency,
};

#[tonic::async_trait]
impl AdminService for Gateway {
    async fn create_product(
        &self,
        request: Request<CreateProductRequest>,
    ) -> Result<Response<Product>, Status> {
        let caller = self.auth().admin(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let request_key = admin_key(&caller, request.metadata())?;
        let mut v = Violations::new();
        v.plain_text("name", &request.get_ref().name);
        v.finish()?;
        let r = request.into_inner();
        let action = Action::new(
            "CreateProduct",
            "catalog",
            format!("price={} stock={}", r.price, r.stock),
        );
        let internal = order::CreateProductRequest {
            name: r.name,
            price: r.price,
            stock: r.stock,
            request_key,
        };
        let created = async {
            self.parts()
                .clients
                .order
                .create_product(internal, deadline)
                .await
                .public("order-svc")
        };
        let product = self
            .parts()
            .audit
            .record(&caller, deadline, action, created)
            .await?;
        Ok(Response::new(product))
    }

    async fn adjust_stock(
        &self,
        request: Request<AdjustStockRequest>,
    ) -> Result<Response<Product>, Status> {
        let caller = self.auth().admin(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let request_key = admin_key(&caller, request.metadata())?;
        let r = request.into_inner();
        let action = Action::new(
            "AdjustStock",
            format!("product:{}", r.product_id),
            format!("delta={}", r.delta),
        );
        let internal = order::AdjustStockRequest {
            product_id: r.product_id,
            delta: r.delta,
            request_key,
        };
        let adjusted = async {
            self.parts()
                .clients
                .order
                .adjust_stock(internal, deadline)
                .await
                .public("order-svc")
        };
        let product = self
            .parts()
            .audit
            .record(&caller, deadline, action, adjusted)
            .await?;
        Ok(Response::new(product))
    }

    async fn top_up_points(
        &self,
        request: Request<TopUpPointsRequest>,
    ) -> Result<Response<Wallet>, Status> {
        let caller = self.auth().admin(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        // Scoped to the admin (and, in payment-svc, to the wallet): two admins who
        // happen to use one key each get their top-up.
        let idempotency_key = admin_key(&caller, request.metadata())?;
        let r = request.into_inner();
        let action = Action::new(
            "TopUpPoints",
            format!("wallet:{}", r.user_id),
            format!("amount={}", r.amount),
        );
        // Retried only with a key, which makes the top-up count once.
        let internal = payment::TopUpRequest {
            user_id: r.user_id,
            amount: r.amount,
            idempotency_key,
        };
        let topped_up = async {
            self.parts()
                .clients
                .payment
                .top_up(internal, deadline)
                .await
                .public("payment-svc")
        };
        let wallet = self
            .parts()
            .audit
            .record(&caller, deadline, action, topped_up)
            .await?;
        Ok(Response::new(wallet))
    }

    async fn issue_coupon(
        &self,
        request: Request<IssueCouponRequest>,
    ) -> Result<Response<Coupon>, Status> {
        let caller = self.auth().admin(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let request_key = admin_key(&caller, request.metadata())?;
        let r = request.into_inner();
        let discount = r.discount.map(|d| match d {
            issue_coupon_request::Discount::DiscountAmount(a) => {
                payment::issue_coupon_request::Discount::DiscountAmount(a)
            }
            issue_coupon_request::Discount::DiscountPercent(p) => {
                payment::issue_coupon_request::Discount::DiscountPercent(p)
            }
        });
        let action = Action::new(
            "IssueCoupon",
            format!("wallet:{}", r.user_id),
            format!(
                "discount={discount:?} min_order_amount={}",
                r.min_order_amount
            ),
        );
        let internal = payment::IssueCouponRequest {
            user_id: r.user_id,
            discount,
            min_order_amount: r.min_order_amount,
            expires_at: r.expires_at,
            request_key,
        };
        let issued = async {
            self.parts()
                .clients
                .payment
                .issue_coupon(internal, deadline)
                .await
                .public("payment-svc")
        };
        let coupon = self
            .parts()
            .audit
            .record(&caller, deadline, action, issued)
            .await?;
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
            .map_err(Status::from)
    }

    async fn mark_delivered(
        &self,
        request: Request<MarkDeliveredRequest>,
    ) -> Result<Response<Order>, Status> {
        let order_id = request.get_ref().order_id.clone();
        self.advance_delivery(request.metadata(), &order_id, Courier::Delivered)
            .await
            .map(Response::new)
            .map_err(Status::from)
    }

    async fn list_sagas(
        &self,
        request: Request<ListSagasRequest>,
    ) -> Result<Response<ListSagasResponse>, Status> {
        self.auth().admin(request.metadata())?;
        self.saga_page(request.into_inner())
            .await
            .map(Response::new)
            .map_err(Status::from)
    }

    async fn retry_saga(
        &self,
        request: Request<RetrySagaRequest>,
    ) -> Result<Response<Saga>, Status> {
        let caller = self.auth().admin(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let r = request.into_inner();
        let action = Action::new("RetrySaga", format!("saga:{}", r.saga_id), "");
        self.parts()
            .audit
            .record(&caller, deadline, action, self.retry_stuck(r))
            .await
            .map(Response::new)
            .map_err(Status::from)
    }

    async fn get_saga(
        &self,
        request: Request<GetSagaRequest>,
    ) -> Result<Response<SagaDetail>, Status> {
        self.auth().admin(request.metadata())?;
        self.saga_detail(request.into_inner())
            .await
            .map(Response::new)
            .map_err(Status::from)
    }

    async fn list_parked_events(
        &self,
        request: Request<ListParkedEventsRequest>,
    ) -> Result<Response<ListParkedEventsResponse>, Status> {
        self.auth().admin(request.metadata())?;
        self.parked_page(request.into_inner())
            .await
            .map(Response::new)
            .map_err(Status::from)
    }

    async fn list_audit_events(
        &self,
        request: Request<ListAuditEventsRequest>,
    ) -> Result<Response<ListAuditEventsResponse>, Status> {
        self.auth().admin(request.metadata())?;
        self.audit_page(request.into_inner())
            .await
            .map(Response::new)
            .map_err(Status::from)
    }
}

/// The request's `idempotency-key` scoped to the admin who sent it (empty: none). A
/// keyed write counts once, so its client may retry it; an unkeyed one is sent once,
/// since a repeat would apply twice.
fn admin_key(caller: &Caller, metadata: &MetadataMap) -> Result<String> {
    Ok(match idempotency::key(metadata)? {
        Some(key) => format!("{}:{key}", caller.user_id),
        None => String::new(),
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
    ) -> Result<Order> {
        let caller = self.auth().admin(metadata)?;
        let deadline = Deadline::from_metadata(metadata);
        let order_id = one_id("order_id", raw_order_id)?;
        let name = match news {
            Courier::Shipped => "MarkShipped",
            Courier::Delivered => "MarkDelivered",
        };
        let action = Action::new(name, format!("order:{order_id}"), "");
        let checkout = &self.parts().checkout;
        let moved = async {
            let delivery = &self.parts().clients.delivery;
            let moved = match news {
                Courier::Shipped => delivery.mark_shipped(order_id, deadline).await,
                Courier::Delivered => delivery.mark_delivered(order_id, deadline).await,
            };
            match moved {
                Outcome::Refused(refusal) if refusal.is(ErrorReason::NotFound) => {
                    Err(self.no_delivery(order_id, deadline).await)
                }
                other => {
                    other.public("delivery-svc")?;
                    checkout.order(&caller, order_id, deadline).await
                }
            }
        };
        self.parts()
            .audit
            .record(&caller, deadline, action, moved)
            .await
    }

    /// Why an order has no delivery to move on: it does not exist (ORDER_NOT_FOUND), or
    /// it is not paid (FAILED_PRECONDITION naming its state).
    async fn no_delivery(&self, order_id: OrderId, deadline: Deadline) -> Error {
        match self.parts().checkout.existing(order_id, deadline).await {
            Ok(None) => Error::OrderNotFound(order_id),
            Ok(Some(order)) => Error::NoDelivery {
                order_id,
                status: order.status(),
            },
            Err(err) => err,
        }
    }
}
