//! The tonic implementation of `shop.delivery.v1.DeliveryService`: decode and
//! validate, call [`Deliveries`], convert back. No rules, no SQL live here.

use shop_common::{CancellationToken, auth::InternalAuth};
use shop_proto::{
    common::Delivery,
    delivery::{
        CancelDeliveryRequest, CancelDeliveryResponse, ConfirmDeliveryRequest,
        ConfirmReceiptRequest, ExtendHoldRequest, GetDeliveryRequest, GetHoldRequest, Hold,
        HoldDeliveryRequest, MarkDeliveredRequest, MarkShippedRequest, ReleaseHoldRequest,
        ReleaseHoldResponse, SetHoldExpiryRequest, StreamEventsRequest,
        delivery_service_server::{DeliveryService, DeliveryServiceServer},
    },
};
use tonic::{Request, Response, Status, service::interceptor::InterceptedService};

use super::{convert, stream};
use crate::{domain::Action, usecase::Deliveries};

pub struct DeliveryApi {
    deliveries: Deliveries,
    /// Ends open event streams when the service shuts down.
    shutdown: CancellationToken,
}

/// The server with the internal-token check in front.
pub fn server(
    deliveries: Deliveries,
    shutdown: CancellationToken,
    auth: InternalAuth,
) -> InterceptedService<DeliveryServiceServer<DeliveryApi>, InternalAuth> {
    DeliveryServiceServer::with_interceptor(
        DeliveryApi {
            deliveries,
            shutdown,
        },
        auth,
    )
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl DeliveryService for DeliveryApi {
    async fn hold_delivery(&self, request: Request<HoldDeliveryRequest>) -> Reply<Hold> {
        let input = convert::hold_request(request.into_inner(), self.deliveries.hold_max_ttl())?;
        let hold = self
            .deliveries
            .hold(input.order_id, input.user_id, input.info, input.ttl)
            .await?;
        Ok(Response::new(convert::hold(hold)))
    }

    async fn get_hold(&self, request: Request<GetHoldRequest>) -> Reply<Hold> {
        let order_id = convert::order_id(&request.get_ref().order_id)?;
        let hold = self.deliveries.get_hold(order_id).await?;
        Ok(Response::new(convert::hold(hold)))
    }

    #[tracing::instrument(name = "extend_hold", skip_all, fields(order_id = %request.get_ref().order_id))]
    async fn extend_hold(&self, request: Request<ExtendHoldRequest>) -> Reply<Hold> {
        let (order_id, until) = convert::extend_request(request.get_ref())?;
        let hold = self.deliveries.extend_hold(order_id, until).await?;
        Ok(Response::new(convert::hold(hold)))
    }

    async fn release_hold(
        &self,
        request: Request<ReleaseHoldRequest>,
    ) -> Reply<ReleaseHoldResponse> {
        let order_id = convert::order_id(&request.get_ref().order_id)?;
        let released = self.deliveries.release_hold(order_id).await?;
        Ok(Response::new(ReleaseHoldResponse { released }))
    }

    #[tracing::instrument(name = "set_hold_expiry", skip_all, fields(order_id = %request.get_ref().order_id))]
    async fn set_hold_expiry(&self, request: Request<SetHoldExpiryRequest>) -> Reply<Hold> {
        let (order_id, at) = convert::set_expiry_request(request.get_ref())?;
        let hold = self.deliveries.set_hold_expiry(order_id, at).await?;
        Ok(Response::new(convert::hold(hold)))
    }

    #[tracing::instrument(name = "confirm_delivery", skip_all, fields(order_id = %request.get_ref().order_id, saga_id = %request.get_ref().saga_id))]
    async fn confirm_delivery(&self, request: Request<ConfirmDeliveryRequest>) -> Reply<Delivery> {
        let (order_id, saga_id, payment_id) = convert::confirm_request(request.get_ref())?;
        let delivery = self
            .deliveries
            .confirm(order_id, saga_id, payment_id)
            .await?;
        Ok(Response::new(convert::delivery(delivery)))
    }

    async fn cancel_delivery(
        &self,
        request: Request<CancelDeliveryRequest>,
    ) -> Reply<CancelDeliveryResponse> {
        let (order_id, saga_id) = convert::cancel_request(request.get_ref())?;
        let reason = convert::cancel_reason(&request.get_ref().reason);
        let outcome = self.deliveries.cancel(order_id, saga_id, &reason).await?;
        Ok(Response::new(CancelDeliveryResponse {
            cancelled: outcome.cancelled,
            delivery: outcome.delivery.map(convert::delivery),
        }))
    }

    async fn get_delivery(&self, request: Request<GetDeliveryRequest>) -> Reply<Delivery> {
        let order_id = convert::order_id(&request.get_ref().order_id)?;
        let delivery = self.deliveries.get(order_id).await?;
        Ok(Response::new(convert::delivery(delivery)))
    }

    async fn mark_shipped(&self, request: Request<MarkShippedRequest>) -> Reply<Delivery> {
        let order_id = convert::order_id(&request.get_ref().order_id)?;
        let delivery = self.deliveries.apply(order_id, Action::Ship, None).await?;
        Ok(Response::new(convert::delivery(delivery)))
    }

    async fn mark_delivered(&self, request: Request<MarkDeliveredRequest>) -> Reply<Delivery> {
        let order_id = convert::order_id(&request.get_ref().order_id)?;
        let delivery = self
            .deliveries
            .apply(order_id, Action::Deliver, None)
            .await?;
        Ok(Response::new(convert::delivery(delivery)))
    }

    async fn confirm_receipt(&self, request: Request<ConfirmReceiptRequest>) -> Reply<Delivery> {
        let (order_id, user_id) = convert::receipt_request(request.get_ref())?;
        let delivery = self
            .deliveries
            .apply(order_id, Action::Receive, Some(user_id))
            .await?;
        Ok(Response::new(convert::delivery(delivery)))
    }

    type StreamEventsStream = stream::EventStream;

    async fn stream_events(
        &self,
        request: Request<StreamEventsRequest>,
    ) -> Reply<Self::StreamEventsStream> {
        let (after, consumer) = convert::stream_request(request.get_ref())?;
        if let Some(consumer) = consumer {
            self.deliveries.remember_cursor(&consumer, after).await?;
        }
        Ok(Response::new(stream::follow(
            self.deliveries.clone(),
            after,
            self.shutdown.clone(),
        )))
    }
}
