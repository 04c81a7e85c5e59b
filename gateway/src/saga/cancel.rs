//! Cancelling a paid order that has not shipped: cancel the delivery (the pivot: it
//! refuses once shipped), refund the charge, put the stock back, cancel the order.
//! Once the delivery is cancelled the saga only goes forward.

use shop_proto::{
    delivery::CancelDeliveryRequest,
    order::{CancelOrderRequest, ReleaseStockRequest},
    payment::RefundRequest,
};
use tonic::Status;
use tracing::Instrument;

use super::{
    engine::{Engine, Halt, STEP_ATTEMPTS, step_span},
    model::{Saga, State, Step},
};
use crate::clients::{self, Deadline, is_ambiguous};

impl Engine {
    pub async fn cancel_paid(&self, saga: &mut Saga, deadline: Deadline) -> Result<(), Halt> {
        let span = tracing::info_span!("cancel_saga", saga_id = %saga.id, order_id = %saga.order_id, request_id = %deadline.request_id());
        async {
            let order_id = saga.order_id.to_string();
            let pay_saga = saga
                .target_saga_id
                .map(|id| id.to_string())
                .unwrap_or_default();

            if Self::pending(saga, Step::CancelDelivery) {
                self.begin(saga, Step::CancelDelivery).await?;
                let request = CancelDeliveryRequest {
                    order_id: order_id.clone(),
                    saga_id: saga.id.to_string(),
                    reason: saga.reason.clone(),
                };
                let result = clients::retry(
                    deadline,
                    STEP_ATTEMPTS,
                    "delivery-svc",
                    call!(self.clients.delivery, cancel_delivery, request),
                )
                .await;
                match result {
                    Ok(_) => self.done(saga, "").await?,
                    Err(s) if is_ambiguous(&s) => {
                        return Err(self.defer(saga, clients::public("delivery-svc", s)).await);
                    }
                    Err(refused) => {
                        // Shipped already: nothing was changed, nothing to undo.
                        let refused = clients::public("delivery-svc", refused);
                        self.finish(saga, State::Compensated, refused.message())
                            .await?;
                        return Err(Halt::Ended(refused));
                    }
                }
            }

            let refund = RefundRequest {
                order_id: order_id.clone(),
                saga_id: pay_saga.clone(),
                reason: saga.reason.clone(),
            };
            self.forward(
                saga,
                Step::Refund,
                deadline,
                "payment-svc",
                call!(self.clients.payment, refund, refund),
            )
            .await?;

            let restock = ReleaseStockRequest {
                order_id: order_id.clone(),
                saga_id: pay_saga,
            };
            self.forward(
                saga,
                Step::Restock,
                deadline,
                "order-svc",
                call!(self.clients.order, release_stock, restock),
            )
            .await?;

            let cancel = CancelOrderRequest {
                order_id,
                reason: saga.reason.clone(),
            };
            self.forward(
                saga,
                Step::CancelOrder,
                deadline,
                "order-svc",
                call!(self.clients.order, cancel_order, cancel),
            )
            .await?;

            self.finish(saga, State::Completed, "").await
        }
        .instrument(span)
        .instrument(step_span(Step::CancelDelivery.as_str()))
        .await
    }

    /// A step after the pivot: retried; unfinished -> recovery; refused -> STUCK.
    async fn forward<T, F, Fut>(
        &self,
        saga: &mut Saga,
        step: Step,
        deadline: Deadline,
        service: &'static str,
        call: F,
    ) -> Result<(), Halt>
    where
        F: FnMut(crate::clients::Call) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<T>, Status>>,
    {
        if !Self::pending(saga, step) {
            return Ok(());
        }
        self.begin(saga, step).await?;
        match clients::retry(deadline, 20, service, call)
            .instrument(step_span(step.as_str()))
            .await
        {
            Ok(_) => self.done(saga, "").await,
            Err(s) if is_ambiguous(&s) => Err(self.defer(saga, clients::public(service, s)).await),
            Err(refused) => {
                let detail = format!("{service} refused {}: {}", step.as_str(), refused.message());
                self.finish(saga, State::Stuck, &detail).await?;
                Err(Halt::Later(Status::internal(detail)))
            }
        }
    }
}
