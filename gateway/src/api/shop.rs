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
    order,
};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{
    Gateway, convert,
    orders::{free_text, payment_in_progress},
};
use crate::{clients::Deadline, idempotency::Claim};

#[tonic::async_trait]
impl ShopService for Gateway {
    async fn list_products(
        &self,
        request: Request<ListProductsRequest>,
    ) -> Result<Response<ListProductsResponse>, Status> {
        self.auth.caller(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let r = request.into_inner();
        let page = self
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
        self.auth.caller(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let mut v = Violations::new();
        let id = v.uuid("id", &request.get_ref().id);
        v.finish()?;
        let Some(id) = id else {
            return Err(Status::internal("a validated id is missing"));
        };
        let product = self
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
        let caller = self.auth.caller(request.metadata())?;
        self.throttle.write(caller.user_id)?;
        let deadline = Deadline::from_metadata(request.metadata());
        let mut v = Violations::new();
        free_text(&mut v, request.get_ref().delivery.as_ref());
        v.finish()?;
        let keyed = self
            .claim_key(
                &caller,
                request.metadata(),
                "PlaceOrder",
                request.get_ref(),
                Uuid::now_v7(),
                deadline,
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
                    // Placing takes a turn too: a flood of orders queues (or is turned
                    // away) at the edge like checkouts, instead of filling Redis.
                    let turn = self.admission.admit(deadline).await?;
                    let placed = self
                        .place(&caller, order_id, &r.items, r.delivery.as_ref(), deadline)
                        .await;
                    drop(turn);
                    placed?
                }
            };
            Ok(self.complete(order, deadline).await)
        }
        .await;
        // A refused PlaceOrder created nothing (the hold is released).
        self.settle(&caller, &keyed, &result, false).await;
        result.map(|order| answer(order, keyed.claim))
    }

    #[tracing::instrument(name = "pay_order", skip_all, fields(order_id = %request.get_ref().order_id))]
    async fn pay_order(
        &self,
        request: Request<PayOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let caller = self.auth.caller(request.metadata())?;
        self.throttle.write(caller.user_id)?;
        let deadline = Deadline::from_metadata(request.metadata());
        let mut v = Violations::new();
        let order_id = v.uuid("order_id", &request.get_ref().order_id);
        let coupon_id = v.optional_uuid("coupon_id", &request.get_ref().coupon_id);
        v.finish()?;
        let Some(order_id) = order_id else {
            return Err(Status::internal("a validated id is missing"));
        };
        let keyed = self
            .claim_key(
                &caller,
                request.metadata(),
                "PayOrder",
                request.get_ref(),
                order_id,
                deadline,
            )
            .await?;
        let result = async {
            let order = self.owned_order(&caller, order_id, deadline).await?;
            if matches!(keyed.claim, Claim::Finished(_)) {
                return Ok(self.complete(order, deadline).await);
            }
            let owner = Uuid::try_parse(&order.user_id)
                .map_err(|_| Status::internal("order-svc answered an order without a user id"))?;
            self.on_users_order(&caller, owner, "PayOrder", order_id, deadline, async {
                // Only an unpaid order gets a saga; any other is refused from its
                // status alone, so a repeated PayOrder of a paid order makes nothing.
                match order.status() {
                    OrderStatus::PendingPayment => {}
                    OrderStatus::PaymentInProgress => return Err(payment_in_progress()),
                    other => return Err(not_payable(other)),
                }
                let turn = self.admission.admit(deadline).await?;
                self.refuse_if_sold_out(&order.lines, deadline).await?;
                self.pay(owner, order_id, coupon_id, deadline, turn).await
            })
            .await
        }
        .await;
        // A refused payment leaves the order payable: the same key may pay it later.
        self.settle(&caller, &keyed, &result, false).await;
        result.map(|order| answer(order, keyed.claim))
    }

    #[tracing::instrument(name = "checkout", skip_all, fields(order_id))]
    async fn checkout(&self, request: Request<CheckoutRequest>) -> Result<Response<Order>, Status> {
        let caller = self.auth.caller(request.metadata())?;
        self.throttle.write(caller.user_id)?;
        let deadline = Deadline::from_metadata(request.metadata());
        let mut v = Violations::new();
        let coupon_id = v.optional_uuid("coupon_id", &request.get_ref().coupon_id);
        free_text(&mut v, request.get_ref().delivery.as_ref());
        v.finish()?;
        let keyed = self
            .claim_key(
                &caller,
                request.metadata(),
                "Checkout",
                request.get_ref(),
                Uuid::now_v7(),
                deadline,
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
                return self
                    .pay(caller.user_id, order_id, coupon_id, deadline, turn)
                    .await;
            }
            drop(turn);
            Ok(self.complete(order, deadline).await)
        }
        .await;
        self.settle(&caller, &keyed, &result, created).await;
        result.map(|order| answer(order, keyed.claim))
    }

    #[tracing::instrument(name = "cancel_order", skip_all, fields(order_id = %request.get_ref().order_id))]
    async fn cancel_order(
        &self,
        request: Request<CancelOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let caller = self.auth.caller(request.metadata())?;
        self.throttle.write(caller.user_id)?;
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
        let Some(order_id) = order_id else {
            return Err(Status::internal("a validated id is missing"));
        };
        let order = self.owned_order(&caller, order_id, deadline).await?;
        let owner = Uuid::try_parse(&order.user_id)
            .map_err(|_| Status::internal("order-svc answered an order without a user id"))?;
        let reason = request.into_inner().reason;
        let answered = self
            .on_users_order(&caller, owner, "CancelOrder", order_id, deadline, async {
                self.cancel(order, reason, deadline).await
            })
            .await?;
        let order = match answered {
            Some(order) => order,
            None => self.compose(&caller, order_id, deadline).await?,
        };
        Ok(Response::new(order))
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
        let Some(order_id) = order_id else {
            return Err(Status::internal("a validated id is missing"));
        };
        Ok(Response::new(
            self.compose(&caller, order_id, deadline).await?,
        ))
    }

    async fn list_orders(
        &self,
        request: Request<ListOrdersRequest>,
    ) -> Result<Response<ListOrdersResponse>, Status> {
        let caller = self.auth.caller(request.metadata())?;
        let deadline = Deadline::from_metadata(request.metadata());
        let r = request.into_inner();
        let page = self
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
        let caller = self.auth.caller(request.metadata())?;
        self.throttle.write(caller.user_id)?;
        let deadline = Deadline::from_metadata(request.metadata());
        let mut v = Violations::new();
        let order_id = v.uuid("order_id", &request.get_ref().order_id);
        v.finish()?;
        let Some(order_id) = order_id else {
            return Err(Status::internal("a validated id is missing"));
        };
        let order = self.owned_order(&caller, order_id, deadline).await?;
        let owner = Uuid::try_parse(&order.user_id)
            .map_err(|_| Status::internal("order-svc answered an order without a user id"))?;
        self.on_users_order(
            &caller,
            owner,
            "ConfirmReceipt",
            order_id,
            deadline,
            async { self.confirm_receipt_of(order, deadline).await },
        )
        .await?;
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
        let wallet = self
            .clients
            .payment
            .get_wallet(caller.user_id, deadline)
            .await
            .public("payment-svc")?;
        Ok(Response::new(wallet))
    }
}

/// Response metadata (and, over REST, header) on an answer replayed for an
/// idempotency key, as Stripe marks it.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// The answer to a keyed call; a key seen finished before makes it a replay.
fn answer(order: Order, claim: Claim) -> Response<Order> {
    let mut response = Response::new(order);
    if matches!(claim, Claim::Finished(_)) {
        response.metadata_mut().insert(
            IDEMPOTENT_REPLAYED,
            tonic::metadata::MetadataValue::from_static("true"),
        );
    }
    response
}

/// Why an order that is neither unpaid nor paid cannot be paid.
fn not_payable(status: OrderStatus) -> Status {
    use shop_common::status::error;
    use shop_proto::common::ErrorReason;
    use tonic::Code;
    match status {
        OrderStatus::Expired => error(
            Code::FailedPrecondition,
            ErrorReason::OrderExpired,
            "the order has expired",
        ),
        other => error(
            Code::FailedPrecondition,
            ErrorReason::OrderNotPayable,
            format!("an order that is {} cannot be paid", other.as_str_name()),
        ),
    }
}

impl Gateway {
    /// Runs `work`, an action of `caller` on an order of `owner`: recorded in the
    /// admin audit trail when an admin acts on another user's order.
    async fn on_users_order<T>(
        &self,
        caller: &crate::auth::Caller,
        owner: Uuid,
        action: &'static str,
        order_id: Uuid,
        deadline: Deadline,
        work: impl Future<Output = Result<T, Status>>,
    ) -> Result<T, Status> {
        if caller.role != crate::auth::Role::Admin || caller.user_id == owner {
            return work.await;
        }
        let entry = crate::audit::Action::new(
            action,
            format!("order:{order_id}"),
            format!("owner={owner}"),
        );
        self.audit.record(caller, deadline, entry, work).await
    }

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
