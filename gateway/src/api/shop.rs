//! `shop.gateway.v1.ShopService`: what a shopper can do, each call authenticated and
//! limited to the caller's own orders and wallet.

use shop_common::validate::Violations;
use shop_proto::{
    common::{OrderStatus, Product, Wallet},
    gateway::{
        CancelOrderRequest, CheckoutRequest, ConfirmReceiptRequest, GetOrderRequest,
        GetProductRequest, GetWalletRequest, ListOrdersRequest, ListOrdersResponse,
        ListProductsRequest, ListProductsResponse, Order, PayOrderRequest, PlaceOrderRequest,
        shop_service_server::ShopService,
    },
    order, payment,
};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{Gateway, convert};
use crate::{
    clients::{self, Deadline},
    idempotency::Claim,
};

#[tonic::async_trait]
impl ShopService for Gateway {
    async fn list_products(
        &self,
        request: Request<ListProductsRequest>,
    ) -> Result<Response<ListProductsResponse>, Status> {
        self.auth.caller(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let r = request.into_inner();
        let internal = order::ListProductsRequest {
            page_size: r.page_size,
            page_token: r.page_token,
        };
        let page = clients::retry(
            deadline,
            3,
            "order-svc",
            call!(self.clients.order, list_products, internal),
        )
        .await
        .map_err(|s| clients::public("order-svc", s))?;
        Ok(Response::new(ListProductsResponse {
            products: page.products,
            next_page_token: page.next_page_token,
        }))
    }

    async fn get_product(
        &self,
        request: Request<GetProductRequest>,
    ) -> Result<Response<Product>, Status> {
        self.auth.caller(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let mut v = Violations::new();
        let id = v.uuid("id", &request.get_ref().id);
        v.finish()?;
        let internal = order::GetProductRequest {
            product_id: id.unwrap_or_default().to_string(),
        };
        let product = clients::retry(
            deadline,
            3,
            "order-svc",
            call!(self.clients.order, get_product, internal),
        )
        .await
        .map_err(|s| clients::public("order-svc", s))?;
        Ok(Response::new(product))
    }

    #[tracing::instrument(name = "place_order", skip_all, fields(order_id))]
    async fn place_order(
        &self,
        request: Request<PlaceOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let caller = self.auth.caller(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let keyed = self
            .claim_key(
                &caller,
                request.metadata(),
                "PlaceOrder",
                request.get_ref(),
                Uuid::now_v7(),
            )
            .await?;
        let order_id = keyed.claim.order_id();
        tracing::Span::current().record("order_id", tracing::field::display(order_id));
        let r = request.into_inner();
        let result = async {
            if let Claim::Finished(_) = keyed.claim {
                return self.compose(&caller, order_id, deadline).await;
            }
            let order = match self.existing_if_resumed(&keyed.claim, deadline).await? {
                Some(order) => order,
                None => {
                    self.place(&caller, order_id, &r.items, r.delivery.as_ref(), deadline)
                        .await?
                }
            };
            Ok(self.complete(order, deadline).await)
        }
        .await;
        // A refused PlaceOrder created nothing (the hold is released).
        self.settle(&caller, &keyed, &result, false).await;
        result.map(Response::new)
    }

    #[tracing::instrument(name = "pay_order", skip_all, fields(order_id = %request.get_ref().order_id))]
    async fn pay_order(
        &self,
        request: Request<PayOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let caller = self.auth.caller(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let mut v = Violations::new();
        let order_id = v.uuid("order_id", &request.get_ref().order_id);
        let coupon_id = v.optional_uuid("coupon_id", &request.get_ref().coupon_id);
        v.finish()?;
        let order_id = order_id.unwrap_or_default();
        let keyed = self
            .claim_key(
                &caller,
                request.metadata(),
                "PayOrder",
                request.get_ref(),
                order_id,
            )
            .await?;
        let result = async {
            let order = self.owned_order(&caller, order_id, deadline).await?;
            if !matches!(keyed.claim, Claim::Finished(_)) {
                let turn = self.admission.admit(deadline).await?;
                if order.status() == OrderStatus::PendingPayment {
                    self.refuse_if_sold_out(&order.lines, deadline).await?;
                }
                let owner = Uuid::try_parse(&order.user_id).unwrap_or(caller.user_id);
                self.pay(owner, order_id, coupon_id, deadline, turn).await?;
            }
            self.compose(&caller, order_id, deadline).await
        }
        .await;
        // A refused payment leaves the order payable: the same key may pay it later.
        self.settle(&caller, &keyed, &result, false).await;
        result.map(Response::new)
    }

    #[tracing::instrument(name = "checkout", skip_all, fields(order_id))]
    async fn checkout(&self, request: Request<CheckoutRequest>) -> Result<Response<Order>, Status> {
        let caller = self.auth.caller(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let mut v = Violations::new();
        let coupon_id = v.optional_uuid("coupon_id", &request.get_ref().coupon_id);
        v.finish()?;
        let keyed = self
            .claim_key(
                &caller,
                request.metadata(),
                "Checkout",
                request.get_ref(),
                Uuid::now_v7(),
            )
            .await?;
        let order_id = keyed.claim.order_id();
        tracing::Span::current().record("order_id", tracing::field::display(order_id));
        let r = request.into_inner();
        // Once the order exists, a retry with this key must answer with it.
        let mut created = !matches!(keyed.claim, Claim::Fresh(_));
        let result = async {
            let order = match keyed.claim {
                Claim::Finished(_) => return self.compose(&caller, order_id, deadline).await,
                Claim::Resume(_) => self.existing(order_id, deadline).await?,
                Claim::Fresh(_) => None,
            };
            // One turn for placing and paying: a sold-out product is refused before
            // the order is made, and the order made is paid without queueing again.
            let turn = self.admission.admit(deadline).await?;
            let order = match order {
                Some(order) => order,
                None => {
                    self.refuse_if_sold_out(&r.items, deadline).await?;
                    self.place(&caller, order_id, &r.items, r.delivery.as_ref(), deadline)
                        .await?
                }
            };
            created = true;
            if order.status() == OrderStatus::PendingPayment {
                self.pay(caller.user_id, order_id, coupon_id, deadline, turn)
                    .await?;
            }
            self.compose(&caller, order_id, deadline).await
        }
        .await;
        self.settle(&caller, &keyed, &result, created).await;
        result.map(Response::new)
    }

    #[tracing::instrument(name = "cancel_order", skip_all, fields(order_id = %request.get_ref().order_id))]
    async fn cancel_order(
        &self,
        request: Request<CancelOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let caller = self.auth.caller(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let mut v = Violations::new();
        let order_id = v.uuid("order_id", &request.get_ref().order_id);
        v.check(
            request.get_ref().reason.chars().count() <= 500,
            "reason",
            "must be at most 500 characters",
        );
        v.finish()?;
        let order_id = order_id.unwrap_or_default();
        let order = self.owned_order(&caller, order_id, deadline).await?;
        let reason = request.into_inner().reason;
        self.cancel(&caller, order, reason, deadline).await?;
        Ok(Response::new(
            self.compose(&caller, order_id, deadline).await?,
        ))
    }

    async fn get_order(
        &self,
        request: Request<GetOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let caller = self.auth.caller(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let mut v = Violations::new();
        let order_id = v.uuid("order_id", &request.get_ref().order_id);
        v.finish()?;
        Ok(Response::new(
            self.compose(&caller, order_id.unwrap_or_default(), deadline)
                .await?,
        ))
    }

    async fn list_orders(
        &self,
        request: Request<ListOrdersRequest>,
    ) -> Result<Response<ListOrdersResponse>, Status> {
        let caller = self.auth.caller(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let r = request.into_inner();
        let internal = order::ListOrdersRequest {
            user_id: caller.user_id.to_string(),
            page_size: r.page_size,
            page_token: r.page_token,
        };
        let page = clients::retry(
            deadline,
            3,
            "order-svc",
            call!(self.clients.order, list_orders, internal),
        )
        .await
        .map_err(|s| clients::public("order-svc", s))?;
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
        let caller = self.auth.caller(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let mut v = Violations::new();
        let order_id = v.uuid("order_id", &request.get_ref().order_id);
        v.finish()?;
        let order_id = order_id.unwrap_or_default();
        let order = self.owned_order(&caller, order_id, deadline).await?;
        self.confirm_receipt_of(order, deadline).await?;
        Ok(Response::new(
            self.compose(&caller, order_id, deadline).await?,
        ))
    }

    async fn get_wallet(
        &self,
        request: Request<GetWalletRequest>,
    ) -> Result<Response<Wallet>, Status> {
        let caller = self.auth.caller(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let internal = payment::GetWalletRequest {
            user_id: caller.user_id.to_string(),
        };
        let wallet = clients::retry(
            deadline,
            3,
            "payment-svc",
            call!(self.clients.payment, get_wallet, internal),
        )
        .await
        .map_err(|s| clients::public("payment-svc", s))?;
        Ok(Response::new(wallet))
    }
}

impl Gateway {
    async fn existing_if_resumed(
        &self,
        claim: &Claim,
        deadline: Deadline,
    ) -> Result<Option<order::Order>, Status> {
        match claim {
            Claim::Resume(order_id) => self.existing(*order_id, deadline).await,
            _ => Ok(None),
        }
    }
}
