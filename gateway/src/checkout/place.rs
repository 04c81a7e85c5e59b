//! PlaceOrder: hold the delivery details, then create the order (both idempotent by
//! order id), under the request's idempotency key. A refused order releases its hold,
//! so bad input leaves nothing behind.

use shop_common::time::to_timestamp;
use shop_proto::{
    common::{DeliveryInfo, ErrorReason, OrderLine},
    gateway::{self as public, PlaceOrderRequest},
    order::{self, CreateOrderRequest},
};
use tonic::metadata::MetadataMap;

use super::Checkout;
use crate::ids::OrderId;
use crate::{
    api::convert,
    auth::Caller,
    clients::{Deadline, Outcome, delivery::HOLD_MARGIN},
    error::{Error, Result},
    idempotency::Claim,
};

impl Checkout {
    /// Places an order for `caller` (a new one, or the one its key placed before).
    pub async fn place_order(
        &self,
        caller: &Caller,
        metadata: &MetadataMap,
        request: PlaceOrderRequest,
        deadline: Deadline,
    ) -> Result<(public::Order, Claim)> {
        let keyed = self
            .claim_for_new_order(caller, metadata, "PlaceOrder", &request, deadline)
            .await?;
        let order_id = keyed.claim.order_id();
        let result = async {
            let resumed = match keyed.claim {
                Claim::Finished(_) => return self.order(caller, order_id, deadline).await,
                Claim::Resume(_) => self.existing(order_id, deadline).await?,
                Claim::Fresh(_) => None,
            };
            let order = match resumed {
                Some(order) => order,
                None => {
                    // Placing takes a turn too: a flood of orders queues (or is turned
                    // away) at the edge like checkouts, instead of filling Redis.
                    let turn = self.admission.admit(deadline).await?;
                    let placed = self
                        .place(
                            caller,
                            order_id,
                            &request.items,
                            request.delivery.as_ref(),
                            deadline,
                        )
                        .await;
                    drop(turn);
                    placed?
                }
            };
            Ok(self.complete(order, deadline).await)
        }
        .await;
        // A refused PlaceOrder created nothing (the hold is released).
        self.keys.settle(caller, &keyed, &result, false).await;
        result.map(|order| (order, keyed.claim))
    }

    /// Holds the delivery info, then creates the order.
    pub(super) async fn place(
        &self,
        caller: &Caller,
        order_id: OrderId,
        items: &[OrderLine],
        delivery: Option<&DeliveryInfo>,
        deadline: Deadline,
    ) -> Result<order::Order> {
        let Some(info) = delivery else {
            return Err(Error::invalid("delivery", "is required"));
        };
        let ttl = self.payment_window + HOLD_MARGIN;
        self.clients
            .delivery
            .hold(order_id, caller.user_id, info, ttl, deadline)
            .await
            .public("delivery-svc")
            .map_err(|err| convert::rename_fields(err, "info", "delivery"))?;

        let expires_at = chrono::Utc::now() + self.payment_window;
        let create = CreateOrderRequest {
            order_id: order_id.to_string(),
            user_id: caller.user_id.to_string(),
            lines: items.to_vec(),
            expires_at: Some(to_timestamp(expires_at)),
        };
        let created = self.clients.order.create_order(create, deadline).await;
        if let Outcome::Refused(_) = &created {
            self.release_hold(order_id, deadline).await;
        }
        created
            .public("order-svc")
            .map_err(|err| convert::rename_fields(err, "lines", "items"))
    }

    /// OUT_OF_STOCK when a quick look (order-svc CheckStock, one read, no retry) finds
    /// a line short now, so a sold-out purchase is refused before an order or a saga
    /// is made. Advisory: any other answer is ignored and ReserveStock, in the saga,
    /// stays the guard.
    pub(super) async fn refuse_if_sold_out(
        &self,
        lines: &[OrderLine],
        deadline: Deadline,
    ) -> Result<()> {
        match self.clients.order.check_stock(lines, deadline).await {
            Outcome::Refused(refusal) if refusal.is(ErrorReason::OutOfStock) => {
                Err(Error::Answer(refusal.status))
            }
            _ => Ok(()),
        }
    }

    /// Drops the hold of an order that will not be paid; it would expire by its TTL
    /// anyway.
    pub(super) async fn release_hold(&self, order_id: OrderId, deadline: Deadline) {
        if let Outcome::Unknown(s) = self.clients.delivery.release_hold(order_id, deadline).await {
            tracing::warn!(%order_id, message = s.message(), "cannot release hold; it expires by its TTL");
        }
    }
}
