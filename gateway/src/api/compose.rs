//! Reading an order as a client sees it: order-svc's record, plus the payment, the
//! delivery, or (while unpaid) the held delivery info, fetched side by side. A
//! detail whose service is down is left out (and logged) rather than failing the read.

use shop_common::status;
use shop_proto::{
    common::{Delivery, DeliveryInfo, OrderStatus, Payment},
    delivery::{GetDeliveryRequest, GetHoldRequest},
    gateway as public,
    order::{self, GetOrderRequest},
    payment::GetPaymentRequest,
};
use tonic::{Code, Status};
use uuid::Uuid;

use super::{Gateway, convert};
use crate::{
    auth::Caller,
    clients::{self, Deadline},
};

impl Gateway {
    /// The order if `caller` may see it; another user's order is ORDER_NOT_FOUND.
    pub(crate) async fn owned_order(
        &self,
        caller: &Caller,
        order_id: Uuid,
        deadline: Deadline,
    ) -> Result<order::Order, Status> {
        let request = GetOrderRequest {
            order_id: order_id.to_string(),
        };
        let order = clients::retry(
            deadline,
            3,
            "order-svc",
            call!(self.clients.order, get_order, request),
        )
        .await
        .map_err(|s| clients::public("order-svc", s))?;
        let owner = Uuid::try_parse(&order.user_id).unwrap_or_default();
        if !caller.may_see(owner) {
            return Err(not_found(order_id));
        }
        Ok(order)
    }

    /// The whole public order.
    pub(crate) async fn compose(
        &self,
        caller: &Caller,
        order_id: Uuid,
        deadline: Deadline,
    ) -> Result<public::Order, Status> {
        let order = self.owned_order(caller, order_id, deadline).await?;
        Ok(self.complete(order, deadline).await)
    }

    /// Adds payment, delivery or held info to an order record.
    pub(crate) async fn complete(&self, order: order::Order, deadline: Deadline) -> public::Order {
        let status = order.status();
        let unpaid = matches!(
            status,
            OrderStatus::PendingPayment | OrderStatus::PaymentInProgress
        );
        let charged = !unpaid || status == OrderStatus::PaymentInProgress;
        let shipped_or_later = matches!(
            status,
            OrderStatus::Paid | OrderStatus::Received | OrderStatus::Cancelled
        );
        let id = order.id.clone();
        let (payment, delivery, held) = tokio::join!(
            async {
                if charged {
                    self.payment_of(&id, deadline).await
                } else {
                    None
                }
            },
            async {
                if shipped_or_later {
                    self.delivery_of(&id, deadline).await
                } else {
                    None
                }
            },
            async {
                if unpaid {
                    self.hold_of(&id, deadline).await
                } else {
                    None
                }
            },
        );
        let mut public = convert::order(order);
        public.payment = payment;
        public.delivery = delivery;
        public.held_delivery = held;
        public
    }

    async fn payment_of(&self, order_id: &str, deadline: Deadline) -> Option<Payment> {
        let request = GetPaymentRequest {
            order_id: order_id.to_owned(),
        };
        let result = clients::once(
            deadline,
            "payment-svc",
            call!(self.clients.payment, get_payment, request),
        )
        .await;
        optional("payment-svc", result)
    }

    async fn delivery_of(&self, order_id: &str, deadline: Deadline) -> Option<Delivery> {
        let request = GetDeliveryRequest {
            order_id: order_id.to_owned(),
        };
        let result = clients::once(
            deadline,
            "delivery-svc",
            call!(self.clients.delivery, get_delivery, request),
        )
        .await;
        optional("delivery-svc", result)
    }

    async fn hold_of(&self, order_id: &str, deadline: Deadline) -> Option<DeliveryInfo> {
        let request = GetHoldRequest {
            order_id: order_id.to_owned(),
        };
        let result = clients::once(
            deadline,
            "delivery-svc",
            call!(self.clients.delivery, get_hold, request),
        )
        .await;
        optional("delivery-svc", result).and_then(|hold| hold.info)
    }
}

/// A detail that may be absent: NOT_FOUND is None; other failures are logged, None.
fn optional<T>(what: &str, result: Result<T, Status>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(s) if s.code() == Code::NotFound => None,
        Err(s) => {
            tracing::warn!(dependency = what, code = ?s.code(), message = s.message(), "order detail left out");
            None
        }
    }
}

pub(crate) fn not_found(order_id: Uuid) -> Status {
    status::error(
        Code::NotFound,
        shop_proto::common::ErrorReason::OrderNotFound,
        format!("order {order_id} not found"),
    )
}
