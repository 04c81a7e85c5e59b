//! `shop.gateway.v1.ShopService`: what a shopper can do, each call authenticated and
//! limited to the caller's own orders and wallet. Validation is here; the flows are
//! `crate::checkout`'s.

use shop_common::validate::Violations;
use shop_proto::{
    common::{DeliveryInfo, Product, Wallet},
    gateway::{
        CancelOrderRequest, CheckoutRequest, ConfirmReceiptRequest, GetOrderRequest,
        GetProductRequest, GetWalletRequest, ListOrdersRequest, ListOrdersResponse,
        ListProductsRequest, ListProductsResponse, Order, PayOrderRequest, PlaceOrderRequest,
        shop_service_server::ShopService,
    },
};
use tonic::{Request, Response, Status};

use super::{Gateway, convert};
use crate::{
    clients::Deadline,
    error::Error,
    idempotency,
    ids::{CouponId, OrderId},
};

#[tonic::async_trait]
impl ShopService for Gateway {
    async fn list_products(
        &self,
        request: Request<ListProductsRequest>,
    ) -> Result<Response<ListProductsResponse>, Status> {
        let g = self.parts();
        g.auth.caller(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let r = request.into_inner();
        let page = g
            .clients
            .order
            .list_products(r.page_size, r.page_token, deadline)
            .await
            .public("order-svc")?;
        Ok(Response::new(ListProductsResponse {
            products: page.products,
            next_page_token: page.next_page_token,
        }))
    }

    async fn get_product(
        &self,
        request: Request<GetProductRequest>,
    ) -> Result<Response<Product>, Status> {
        let g = self.parts();
        g.auth.caller(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let id = one_id("id", &request.get_ref().id)?;
        let product = g
            .clients
            .order
            .get_product(id, deadline)
            .await
            .public("order-svc")?;
        Ok(Response::new(product))
    }

    #[tracing::instrument(name = "place_order", skip_all, fields(order_id))]
    async fn place_order(
        &self,
        request: Request<PlaceOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let g = self.parts();
        let caller = g.auth.caller(request.metadata())?;
        g.throttle.write(caller.user_id)?;
        let deadline = Deadline::from_metadata(request.metadata());
        let mut v = Violations::new();
        free_text(&mut v, request.get_ref().delivery.as_ref());
        v.finish()?;
        let (metadata, _, r) = request.into_parts();
        let (order, claim) = g
            .checkout
            .place_order(&caller, &metadata, r, deadline)
            .await?;
        Ok(idempotency::respond(order, claim))
    }

    #[tracing::instrument(name = "pay_order", skip_all, fields(order_id = %request.get_ref().order_id))]
    async fn pay_order(
        &self,
        request: Request<PayOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let g = self.parts();
        let caller = g.auth.caller(request.metadata())?;
        g.throttle.write(caller.user_id)?;
        let deadline = Deadline::from_metadata(request.metadata());
        let mut v = Violations::new();
        let order_id = v.uuid("order_id", &request.get_ref().order_id);
        let coupon_id = v.optional_uuid("coupon_id", &request.get_ref().coupon_id);
        v.finish()?;
        let order_id = OrderId(order_id.ok_or_else(|| Error::validated_but_missing("order_id"))?);
        let coupon_id = coupon_id.map(CouponId);
        let (order, claim) = g
            .checkout
            .pay_order(
                &caller,
                request.metadata(),
                request.get_ref(),
                (order_id, coupon_id),
                deadline,
            )
            .await?;
        Ok(idempotency::respond(order, claim))
    }

    #[tracing::instrument(name = "checkout", skip_all, fields(order_id))]
    async fn checkout(&self, request: Request<CheckoutRequest>) -> Result<Response<Order>, Status> {
        let g = self.parts();
        let caller = g.auth.caller(request.metadata())?;
        g.throttle.write(caller.user_id)?;
        let deadline = Deadline::from_metadata(request.metadata());
        let mut v = Violations::new();
        let coupon_id = v.optional_uuid("coupon_id", &request.get_ref().coupon_id);
        free_text(&mut v, request.get_ref().delivery.as_ref());
        v.finish()?;
        let coupon_id = coupon_id.map(CouponId);
        let (metadata, _, r) = request.into_parts();
        let (order, claim) = g
            .checkout
            .checkout(&caller, &metadata, r, coupon_id, deadline)
            .await?;
        Ok(idempotency::respond(order, claim))
    }

    #[tracing::instrument(name = "cancel_order", skip_all, fields(order_id = %request.get_ref().order_id))]
    async fn cancel_order(
        &self,
        request: Request<CancelOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let g = self.parts();
        let caller = g.auth.caller(request.metadata())?;
        g.throttle.write(caller.user_id)?;
        let deadline = Deadline::from_metadata(request.metadata());
        let mut v = Violations::new();
        let order_id = v.uuid("order_id", &request.get_ref().order_id);
        v.check(
            request.get_ref().reason.chars().count() <= 500,
            "reason",
            "must be at most 500 characters",
        );
        v.plain_text("reason", &request.get_ref().reason);
        v.finish()?;
        let order_id = OrderId(order_id.ok_or_else(|| Error::validated_but_missing("order_id"))?);
        let reason = request.into_inner().reason;
        let order = g
            .checkout
            .cancel_order(&caller, order_id, reason, deadline)
            .await?;
        Ok(Response::new(order))
    }

    async fn get_order(
        &self,
        request: Request<GetOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let g = self.parts();
        let caller = g.auth.caller(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let order_id = one_id("order_id", &request.get_ref().order_id)?;
        Ok(Response::new(
            g.checkout.order(&caller, order_id, deadline).await?,
        ))
    }

    async fn list_orders(
        &self,
        request: Request<ListOrdersRequest>,
    ) -> Result<Response<ListOrdersResponse>, Status> {
        let g = self.parts();
        let caller = g.auth.caller(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let r = request.into_inner();
        let page = g
            .clients
            .order
            .list_orders(caller.user_id, r.page_size, r.page_token, deadline)
            .await
            .public("order-svc")?;
        Ok(Response::new(ListOrdersResponse {
            orders: page.orders.into_iter().map(convert::order).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    #[tracing::instrument(name = "confirm_receipt", skip_all, fields(order_id = %request.get_ref().order_id))]
    async fn confirm_receipt(
        &self,
        request: Request<ConfirmReceiptRequest>,
    ) -> Result<Response<Order>, Status> {
        let g = self.parts();
        let caller = g.auth.caller(request.metadata())?;
        g.throttle.write(caller.user_id)?;
        let deadline = Deadline::from_metadata(request.metadata());
        let order_id = one_id("order_id", &request.get_ref().order_id)?;
        let order = g
            .checkout
            .confirm_receipt(&caller, order_id, deadline)
            .await?;
        Ok(Response::new(order))
    }

    async fn get_wallet(
        &self,
        request: Request<GetWalletRequest>,
    ) -> Result<Response<Wallet>, Status> {
        let g = self.parts();
        let caller = g.auth.caller(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let wallet = g
            .clients
            .payment
            .get_wallet(caller.user_id, deadline)
            .await
            .public("payment-svc")?;
        Ok(Response::new(wallet))
    }
}

/// The one id a request names, as a UUID (VALIDATION_FAILED naming `field` if not).
pub(crate) fn one_id<Id: From<uuid::Uuid>>(field: &str, raw: &str) -> Result<Id, Error> {
    let mut v = Violations::new();
    let id = v.uuid(field, raw);
    v.finish()?;
    id.map(Id::from)
        .ok_or_else(|| Error::validated_but_missing(field))
}

/// Refuses control characters in the free-text fields of delivery info (into `v`): a
/// NUL, say, would be held, charged for and then refused by the database.
fn free_text(v: &mut Violations, info: Option<&DeliveryInfo>) {
    let Some(info) = info else { return };
    v.plain_text("delivery.recipient_name", &info.recipient_name);
    v.plain_text("delivery.address", &info.address);
    v.plain_text("delivery.contact", &info.contact);
    v.plain_text("delivery.requirement", &info.requirement);
}
