//! The cancel saga's calls: cancel the delivery (the pivot: refused once shipped),
//! refund the pay saga's charge, put its stock back, cancel the order. Once the
//! delivery is cancelled the saga only goes forward.

use super::Deps;
use crate::{
    clients::{Deadline, Outcome},
    saga::model::{Saga, Step},
};

/// Runs forward step `step` of a CANCEL saga.
pub(super) async fn forward(
    deps: Deps<'_>,
    saga: &mut Saga,
    step: Step,
    deadline: Deadline,
) -> Outcome<String> {
    let clients = deps.clients;
    let order_id = saga.order_id;
    let Some(pay_saga) = saga.target_saga_id else {
        return Outcome::Unknown(tonic::Status::internal(
            "a cancel saga without the pay saga it undoes",
        ));
    };
    {
        match step {
            Step::CancelDelivery => clients
                .delivery
                .cancel(order_id, saga.id, &saga.reason, deadline)
                .await
                .map(|answer| {
                    saga.seen.delivery = answer.delivery;
                    String::new()
                }),
            Step::Refund => clients
                .payment
                .refund(order_id, pay_saga, &saga.reason, deadline)
                .await
                .map(|answer| {
                    saga.seen.payment = answer.payment;
                    String::new()
                }),
            Step::Restock => clients
                .order
                .release_stock(order_id, pay_saga, deadline)
                .await
                .map(|()| String::new()),
            Step::CancelOrder => clients
                .order
                .cancel_order(order_id, &saga.reason, deadline)
                .await
                .map(|order| {
                    saga.seen.order = Some(order);
                    String::new()
                }),
            other => Outcome::Unknown(tonic::Status::internal(format!(
                "{} is not a step of the cancel saga",
                other.as_str()
            ))),
        }
    }
}
