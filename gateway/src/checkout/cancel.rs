//! CancelOrder: an unpaid order is cancelled in order-svc and its hold dropped; a paid,
//! unshipped one goes through the cancel saga (cancel the delivery, refund, restock,
//! cancel the order).

use shop_proto::{common::OrderStatus, gateway as public, order};
use uuid::Uuid;

use super::{Checkout, read};
use crate::ids::{OrderId, SagaId};
use crate::{
    auth::Caller,
    clients::Deadline,
    error::{Error, Result},
    saga::Saga,
};

impl Checkout {
    /// Cancels an order of `caller`'s (an admin may cancel another user's; it is
    /// audited) and answers with the order.
    pub async fn cancel_order(
        &self,
        caller: &Caller,
        order_id: OrderId,
        reason: String,
        deadline: Deadline,
    ) -> Result<public::Order> {
        let order = self.owned_order(caller, order_id, deadline).await?;
        let owner = read::owner_of(&order)?;
        let answered = self
            .on_users_order(caller, owner, "CancelOrder", order_id, deadline, async {
                self.cancel(order, reason, deadline).await
            })
            .await?;
        match answered {
            Some(order) => Ok(order),
            None => self.order(caller, order_id, deadline).await,
        }
    }

    /// Answers the order when the cancel saga saw it through its pivot: CANCELLED, even
    /// while the saga finishes the refund in the background (it only goes forward
    /// from there); None when the caller should read the order.
    async fn cancel(
        &self,
        order: order::Order,
        reason: String,
        deadline: Deadline,
    ) -> Result<Option<public::Order>> {
        let order_id = read::id_of(&order)?;
        match order.status() {
            OrderStatus::Cancelled => Ok(None),
            OrderStatus::PendingPayment => {
                self.clients
                    .order
                    .cancel_order(order_id, &reason, deadline)
                    .await
                    .public("order-svc")?;
                self.release_hold(order_id, deadline).await;
                Ok(None)
            }
            OrderStatus::Paid => {
                let pay_saga = Uuid::try_parse(&order.saga_id)
                    .map(SagaId)
                    .map_err(|_| Error::internal("paid order has no saga id"))?;
                let saga = Saga::cancel(order_id, read::owner_of(&order)?, pay_saga, reason);
                let turn = self.admission.admit(deadline).await?;
                let saga = self.run_saga(saga, deadline, turn).await?;
                Ok(Some(read::from_cancel_saga(&saga, order)))
            }
            OrderStatus::PaymentInProgress => Err(Error::PaymentInProgress),
            other => Err(Error::NotCancellable(other)),
        }
    }
}
