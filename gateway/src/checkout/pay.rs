//! PayOrder and Checkout: the pay saga for an order, run in its own task under an
//! admission turn, answered from what the saga saw (PAID, or PAYMENT_IN_PROGRESS once
//! the log has it past the pivot: recovery completes it).

use shop_proto::{
    common::OrderStatus,
    gateway::{self as public, CheckoutRequest, PayOrderRequest},
};
use tonic::metadata::MetadataMap;

use super::{Checkout, read};
use crate::ids::{CouponId, OrderId, UserId};
use crate::{
    admission::Turn,
    auth::Caller,
    clients::Deadline,
    error::{Error, Result},
    idempotency::Claim,
    saga::{Engine, Halt, Saga},
};

impl Checkout {
    /// Pays an unpaid order of `caller`'s (an admin may pay another user's; it is
    /// audited). Any order that is not unpaid is refused from its status alone, so a
    /// repeated PayOrder of a paid order makes nothing.
    pub async fn pay_order(
        &self,
        caller: &Caller,
        metadata: &MetadataMap,
        request: &PayOrderRequest,
        (order_id, coupon_id): (OrderId, Option<CouponId>),
        deadline: Deadline,
    ) -> Result<(public::Order, Claim)> {
        let keyed = self
            .keys
            .claim_request(caller, metadata, "PayOrder", request, order_id, deadline)
            .await?;
        let result = async {
            let order = self.owned_order(caller, order_id, deadline).await?;
            if matches!(keyed.claim, Claim::Finished(_)) {
                return Ok(self.complete(order, deadline).await);
            }
            let owner = read::owner_of(&order)?;
            self.on_users_order(caller, owner, "PayOrder", order_id, deadline, async {
                match order.status() {
                    OrderStatus::PendingPayment => {}
                    OrderStatus::PaymentInProgress => return Err(Error::PaymentInProgress),
                    other => return Err(Error::NotPayable(other)),
                }
                let turn = self.admission.admit(deadline).await?;
                self.refuse_if_sold_out(&order.lines, deadline).await?;
                self.pay(owner, order_id, coupon_id, deadline, turn).await
            })
            .await
        }
        .await;
        // A refused payment leaves the order payable: the same key may pay it later.
        self.keys.settle(caller, &keyed, &result, false).await;
        result.map(|order| (order, keyed.claim))
    }

    /// Places and pays in one call, in one admission turn: a sold-out product is
    /// refused before the order is made, and the order made is paid without queueing
    /// again.
    pub async fn checkout(
        &self,
        caller: &Caller,
        metadata: &MetadataMap,
        request: CheckoutRequest,
        coupon_id: Option<CouponId>,
        deadline: Deadline,
    ) -> Result<(public::Order, Claim)> {
        let keyed = self
            .claim_for_new_order(caller, metadata, "Checkout", &request, deadline)
            .await?;
        let order_id = keyed.claim.order_id();
        // Once the order exists, a retry with this key must answer with it.
        let mut created = !matches!(keyed.claim, Claim::Fresh(_));
        let result = async {
            let order = match keyed.claim {
                Claim::Finished(_) => return self.order(caller, order_id, deadline).await,
                Claim::Resume(_) => self.existing(order_id, deadline).await?,
                Claim::Fresh(_) => None,
            };
            let turn = self.admission.admit(deadline).await?;
            let order = match order {
                Some(order) => order,
                None => {
                    self.refuse_if_sold_out(&request.items, deadline).await?;
                    let (items, delivery) = (&request.items, request.delivery.as_ref());
                    self.place(caller, order_id, items, delivery, deadline)
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
        self.keys.settle(caller, &keyed, &result, created).await;
        result.map(|order| (order, keyed.claim))
    }

    /// Runs the pay saga for an order in its `turn`; `owner` is the order's user,
    /// whose points are charged.
    async fn pay(
        &self,
        owner: UserId,
        order_id: OrderId,
        coupon_id: Option<CouponId>,
        deadline: Deadline,
        turn: Turn,
    ) -> Result<public::Order> {
        let saga = Saga::pay(order_id, owner, coupon_id);
        let saga = self.run_saga(saga, deadline, turn).await?;
        read::from_saga(&saga)
            .ok_or_else(|| Error::internal("a pay saga ended without seeing its order"))
    }

    /// Logs a new saga, drives it in its own task (which keeps the `turn` until the
    /// saga stops) and says how it ended for the caller: the saga when it completed or
    /// when the log has it past its pivot (it only goes forward from there), else the
    /// reason it did not.
    pub(super) async fn run_saga(
        &self,
        saga: Saga,
        deadline: Deadline,
        turn: Turn,
    ) -> Result<Saga> {
        self.engine
            .start(&saga)
            .await
            .map_err(Error::database("the saga log"))?;
        let engine: Engine = self.engine.clone();
        let (saga, result) = detached(async move {
            let mut saga = saga;
            let ended = engine.drive(&mut saga, deadline).await;
            drop(turn);
            (saga, ended)
        })
        .await?;
        match result {
            Ok(()) => Ok(saga),
            Err(Halt::Ended(answer)) => Err(Error::Answer(answer)),
            Err(halt) if saga.logged_past_pivot() => {
                tracing::warn!(saga_id = %saga.id, ?halt, "finishing in the background");
                Ok(saga)
            }
            Err(Halt::Later(cause)) => Err(Error::Dependency {
                service: saga.step.service(),
                cause,
            }),
            Err(Halt::LeaseLost) => Err(Error::LeaseLost),
        }
    }
}

/// Runs a saga in its own task, so that a caller who disconnects or gives up mid-way
/// (its request future is dropped) does not leave the saga half-done until its lease
/// runs out: it goes on to its end and its log says how it ended.
async fn detached<T: Send + 'static>(
    saga: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T> {
    tokio::spawn(tracing::Instrument::in_current_span(saga))
        .await
        .map_err(|err| Error::internal(format!("saga task failed: {err}")))
}
