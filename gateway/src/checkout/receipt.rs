//! ConfirmReceipt: the shopper says the parcel arrived. The delivery first (it checks
//! ownership and state), then the order; if the second call fails, the delivery's
//! RECEIVED event brings the order along later (see `events`).

use shop_proto::{common::OrderStatus, gateway as public};

use super::{Checkout, read};
use crate::ids::OrderId;
use crate::{
    auth::Caller,
    clients::Deadline,
    error::{Error, Result},
};

impl Checkout {
    pub async fn confirm_receipt(
        &self,
        caller: &Caller,
        order_id: OrderId,
        deadline: Deadline,
    ) -> Result<public::Order> {
        let order = self.owned_order(caller, order_id, deadline).await?;
        let owner = read::owner_of(&order)?;
        self.on_users_order(caller, owner, "ConfirmReceipt", order_id, deadline, async {
            match order.status() {
                OrderStatus::Received => return Ok(()),
                OrderStatus::Paid => {}
                other => return Err(Error::NotReceivable(other)),
            }
            self.clients
                .delivery
                .confirm_receipt(order_id, owner, deadline)
                .await
                .public("delivery-svc")?;
            self.clients
                .order
                .mark_received(order_id, deadline)
                .await
                .public("order-svc")?;
            Ok(())
        })
        .await?;
        self.order(caller, order_id, deadline).await
    }
}
