//! Typed clients of the internal services. Each method owns its retry policy and
//! answers with a classified [`Outcome`]: `Done`, `Refused` (only the known business
//! refusals of that RPC) or `Unknown` (everything else, and any answer after an
//! ambiguous attempt of a write). No caller compares reason strings.
//!
//! - [`deadline`]: the request's budget and what each call is given.
//! - [`outcome`]: what an answer means (how an unknown one is told to the public is
//!   `crate::error`'s).
//! - `call`: the attempt loop every method goes through (retries, metrics).
//! - [`order`], [`payment`], [`delivery`]: one client per service.

mod call;
pub mod deadline;
pub mod delivery;
pub mod order;
pub mod outcome;
pub mod payment;

use std::time::Duration;

use shop_common::auth::BearerToken;
use shop_proto::{
    delivery::delivery_service_client::DeliveryServiceClient,
    order::order_service_client::OrderServiceClient,
    payment::payment_service_client::PaymentServiceClient,
};
use tonic::{service::interceptor::InterceptedService, transport::Channel};

pub use deadline::{DEFAULT_BUDGET, Deadline};
pub use delivery::DeliveryClient;
pub use order::OrderClient;
pub use outcome::{Outcome, Refusal};
pub use payment::PaymentClient;

use crate::config::Config;

type Intercepted = InterceptedService<Channel, BearerToken>;

#[derive(Clone)]
pub struct Clients {
    pub order: OrderClient,
    pub payment: PaymentClient,
    pub delivery: DeliveryClient,
    /// The raw channels, for health probes.
    pub channels: Vec<(&'static str, Channel)>,
}

impl Clients {
    /// Channels connect on first use and reconnect by themselves, so the gateway starts
    /// (and reports not-ready) while a service is down.
    pub fn connect_lazy(config: &Config) -> anyhow::Result<Self> {
        let token = BearerToken::new(config.internal_token.as_ref())?;
        let order = channel(&config.order_svc_url)?;
        let payment = channel(&config.payment_svc_url)?;
        let delivery = channel(&config.delivery_svc_url)?;
        Ok(Self {
            order: OrderClient::new(OrderServiceClient::with_interceptor(
                order.clone(),
                token.clone(),
            )),
            payment: PaymentClient::new(PaymentServiceClient::with_interceptor(
                payment.clone(),
                token.clone(),
            )),
            delivery: DeliveryClient::new(DeliveryServiceClient::with_interceptor(
                delivery.clone(),
                token,
            )),
            channels: vec![
                ("order-svc", order),
                ("payment-svc", payment),
                ("delivery-svc", delivery),
            ],
        })
    }
}

fn channel(url: &str) -> anyhow::Result<Channel> {
    Ok(Channel::from_shared(url.to_owned())?
        .connect_timeout(Duration::from_secs(1))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(20))
        .keep_alive_timeout(Duration::from_secs(5))
        .connect_lazy())
}
