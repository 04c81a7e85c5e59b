//! delivery-svc: delivery holds, deliveries, and the delivery's side of the sagas.

use chrono::{DateTime, Utc};
use shop_proto::{
    common::{Delivery, DeliveryInfo, ErrorReason as R},
    delivery::{
        CancelDeliveryRequest, CancelDeliveryResponse, ConfirmDeliveryRequest,
        ConfirmReceiptRequest, DeliveryEvent, ExtendHoldRequest, GetDeliveryRequest,
        GetHoldRequest, Hold, HoldDeliveryRequest, MarkDeliveredRequest, MarkShippedRequest,
        ReleaseHoldRequest, SetHoldExpiryRequest, StreamEventsRequest,
        delivery_service_client::DeliveryServiceClient,
    },
};
use std::time::Duration;

use super::{
    Intercepted,
    call::{self, FORWARD_ATTEMPTS, PUBLIC_ATTEMPTS, STEP_ATTEMPTS, Spec},
    deadline::Deadline,
    outcome::Outcome,
};
use crate::ids::{OrderId, PaymentId, SagaId, UserId};

const DEPENDENCY: &str = "delivery-svc";

/// A hold outlives its order's payment window a little, so that paying at the last
/// moment does not find the hold gone first.
pub const HOLD_MARGIN: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct DeliveryClient {
    client: DeliveryServiceClient<Intercepted>,
}

impl DeliveryClient {
    pub(super) fn new(client: DeliveryServiceClient<Intercepted>) -> Self {
        Self { client }
    }

    /// Idempotent by order id (the same user's repeat returns the hold).
    pub async fn hold(
        &self,
        order_id: OrderId,
        user_id: UserId,
        info: &DeliveryInfo,
        ttl: Duration,
        deadline: Deadline,
    ) -> Outcome<Hold> {
        const SPEC: Spec = Spec::write("HoldDelivery", PUBLIC_ATTEMPTS, &[R::InvalidState]);
        let request = HoldDeliveryRequest {
            order_id: order_id.to_string(),
            user_id: user_id.to_string(),
            info: Some(info.clone()),
            ttl: Some(shop_common::time::to_duration(ttl)),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.hold_delivery(r).await },
        )
        .await
    }

    pub async fn get_hold(&self, order_id: OrderId, deadline: Deadline) -> Outcome<Hold> {
        const SPEC: Spec = Spec {
            attempts: call::ONCE,
            ..Spec::read("GetHold", &[R::NotFound])
        };
        let request = GetHoldRequest {
            order_id: order_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.get_hold(r).await },
        )
        .await
    }

    /// Keeps the hold at least until `until`; with no hold, a live delivery counts.
    pub async fn extend_hold(
        &self,
        order_id: OrderId,
        until: DateTime<Utc>,
        deadline: Deadline,
    ) -> Outcome<Hold> {
        const SPEC: Spec = Spec::write("ExtendHold", STEP_ATTEMPTS, &[R::DeliveryHoldExpired]);
        let request = ExtendHoldRequest {
            order_id: order_id.to_string(),
            until: Some(shop_common::time::to_timestamp(until)),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.extend_hold(r).await },
        )
        .await
    }

    /// Sets the hold to expire exactly at `at` (deletes it when `at` has passed); gone
    /// already is NOT_FOUND. Idempotent.
    pub async fn set_hold_expiry(
        &self,
        order_id: OrderId,
        at: DateTime<Utc>,
        deadline: Deadline,
    ) -> Outcome<Hold> {
        const SPEC: Spec = Spec::write("SetHoldExpiry", STEP_ATTEMPTS, &[R::NotFound]);
        let request = SetHoldExpiryRequest {
            order_id: order_id.to_string(),
            at: Some(shop_common::time::to_timestamp(at)),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.set_hold_expiry(r).await },
        )
        .await
    }

    /// Tidying up (the TTL removes it anyway): one attempt.
    pub async fn release_hold(&self, order_id: OrderId, deadline: Deadline) -> Outcome<()> {
        const SPEC: Spec = Spec::write("ReleaseHold", call::ONCE, &[]);
        let request = ReleaseHoldRequest {
            order_id: order_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.release_hold(r).await },
        )
        .await
        .map(|_| ())
    }

    /// Creates the delivery from the hold. Refused when the hold is gone with no
    /// delivery (DELIVERY_HOLD_EXPIRED) or the saga's cancel came first (INVALID_STATE).
    pub async fn confirm(
        &self,
        order_id: OrderId,
        saga_id: SagaId,
        payment_id: Option<PaymentId>,
        deadline: Deadline,
    ) -> Outcome<Delivery> {
        const SPEC: Spec = Spec::write(
            "ConfirmDelivery",
            FORWARD_ATTEMPTS,
            &[R::DeliveryHoldExpired, R::InvalidState],
        );
        let request = ConfirmDeliveryRequest {
            order_id: order_id.to_string(),
            saga_id: saga_id.to_string(),
            payment_id: payment_id.map(|p| p.to_string()).unwrap_or_default(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.confirm_delivery(r).await },
        )
        .await
    }

    /// Cancels the order's unshipped delivery, or fences the saga's late confirm.
    /// Refused (ORDER_NOT_CANCELLABLE) once shipped.
    pub async fn cancel(
        &self,
        order_id: OrderId,
        saga_id: SagaId,
        reason: &str,
        deadline: Deadline,
    ) -> Outcome<CancelDeliveryResponse> {
        const SPEC: Spec = Spec::write(
            "CancelDelivery",
            FORWARD_ATTEMPTS,
            &[R::OrderNotCancellable],
        );
        let request = CancelDeliveryRequest {
            order_id: order_id.to_string(),
            saga_id: saga_id.to_string(),
            reason: reason.to_owned(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.cancel_delivery(r).await },
        )
        .await
    }

    pub async fn get(&self, order_id: OrderId, deadline: Deadline) -> Outcome<Delivery> {
        const SPEC: Spec = Spec {
            attempts: call::ONCE,
            ..Spec::read("GetDelivery", &[R::NotFound])
        };
        let request = GetDeliveryRequest {
            order_id: order_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.get_delivery(r).await },
        )
        .await
    }

    pub async fn mark_shipped(&self, order_id: OrderId, deadline: Deadline) -> Outcome<Delivery> {
        const SPEC: Spec = Spec::write(
            "MarkShipped",
            PUBLIC_ATTEMPTS,
            &[R::NotFound, R::InvalidState],
        );
        let request = MarkShippedRequest {
            order_id: order_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.mark_shipped(r).await },
        )
        .await
    }

    pub async fn mark_delivered(&self, order_id: OrderId, deadline: Deadline) -> Outcome<Delivery> {
        const SPEC: Spec = Spec::write(
            "MarkDelivered",
            PUBLIC_ATTEMPTS,
            &[R::NotFound, R::InvalidState],
        );
        let request = MarkDeliveredRequest {
            order_id: order_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.mark_delivered(r).await },
        )
        .await
    }

    /// The owner confirms receipt.
    pub async fn confirm_receipt(
        &self,
        order_id: OrderId,
        user_id: UserId,
        deadline: Deadline,
    ) -> Outcome<Delivery> {
        const SPEC: Spec = Spec::write(
            "ConfirmReceipt",
            PUBLIC_ATTEMPTS,
            &[R::NotFound, R::InvalidState],
        );
        let request = ConfirmReceiptRequest {
            order_id: order_id.to_string(),
            user_id: user_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.confirm_receipt(r).await },
        )
        .await
    }

    /// The event stream after `offset`, read as `consumer` (so the outbox keeps what
    /// it has not read). No deadline: it is followed for as long as it lasts; the
    /// consumer reconnects when it breaks.
    pub async fn events_after(
        &self,
        consumer: &str,
        offset: i64,
    ) -> Result<tonic::Streaming<DeliveryEvent>, tonic::Status> {
        let mut client = self.client.clone();
        let request = StreamEventsRequest {
            after_offset: offset,
            consumer: consumer.to_owned(),
        };
        Ok(client.stream_events(request).await?.into_inner())
    }
}
