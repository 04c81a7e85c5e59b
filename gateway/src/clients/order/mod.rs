//! order-svc: catalog, orders and the order's side of the sagas.
//!
//! - `catalog`: products and orders as the public API reads and writes them.
//! - `saga`: the order's steps of the pay and cancel sagas.

mod catalog;
mod saga;

use shop_proto::order::order_service_client::OrderServiceClient;

use super::Intercepted;
use crate::ids::PaymentId;

const DEPENDENCY: &str = "order-svc";

/// What MarkPaid records.
#[derive(Debug, Clone, Copy)]
pub struct PaidWith {
    pub payment_id: PaymentId,
    pub discount_amount: i64,
    pub paid_amount: i64,
}

#[derive(Clone)]
pub struct OrderClient {
    client: OrderServiceClient<Intercepted>,
}

impl OrderClient {
    pub(in crate::clients) fn new(client: OrderServiceClient<Intercepted>) -> Self {
        Self { client }
    }
}
