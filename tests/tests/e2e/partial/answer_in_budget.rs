//! Defect 8: a slow dependency turned into DEADLINE_EXCEEDED.
//!
//! Forced here: delivery-svc's database answers after about a second per round trip
//! (its proxy delays 500 ms each way) while 12 buyers pay at once with a 40 s
//! deadline. Before the fix the saga retried ConfirmDelivery for its whole budget and
//! then spent more calls composing the answer, so most buyers got DEADLINE_EXCEEDED
//! although their orders were later PAID. Now the saga keeps time for the answer, and
//! past the pivot the buyer hears "PAYMENT_IN_PROGRESS" (composed from what the saga
//! knows) within the deadline; recovery finishes the rest.

use std::time::Duration;

use futures::future::join_all;
use shop_e2e::{Options, Stack};
use shop_proto::common::OrderStatus;
use shop_testkit::Fault;

use super::{expire_leases, order_becomes, pool};
use crate::support::status_of;

#[tokio::test]
async fn past_the_pivot_a_slow_dependency_is_answered_within_the_deadline() {
    let stack = Stack::with(Options {
        faults: true,
        ..Options::default()
    })
    .await
    .unwrap();
    let admin = stack.admin().await;
    let product = admin.create_product("slow", 100, 50).await.id;
    let mut orders = Vec::new();
    for _ in 0..12 {
        let buyer = stack.user().await;
        admin.top_up(buyer.id, 1_000).await;
        let order = buyer.place(&[(&product, 1)]).await.unwrap();
        orders.push((buyer, order.id));
    }
    stack
        .faults()
        .delivery_db
        .set(Fault::delay(Duration::from_millis(500)));

    let deadline = Duration::from_secs(40);
    let answers = join_all(orders.iter().map(|(buyer, id)| async move {
        tokio::time::timeout(
            deadline + Duration::from_secs(1),
            buyer.pay_within(id, deadline),
        )
        .await
    }))
    .await;
    stack.faults().delivery_db.set(Fault::Pass);
    for (answer, (_, id)) in answers.iter().zip(&orders) {
        let answer = answer
            .as_ref()
            .unwrap_or_else(|_| panic!("order {id}: no answer within the deadline"));
        let order = answer
            .as_ref()
            .unwrap_or_else(|s| panic!("order {id}: {:?} {}", s.code(), s.message()));
        assert!(
            matches!(
                status_of(order),
                OrderStatus::Paid | OrderStatus::PaymentInProgress
            ),
            "order {id} is paid or being paid: {:?}",
            status_of(order)
        );
    }

    let (gateway_db, order_db) = (
        pool(&stack.databases.gateway).await,
        pool(&stack.databases.order).await,
    );
    for (_, id) in &orders {
        expire_leases(&gateway_db, id).await;
        assert!(
            order_becomes(&order_db, id, "PAID", Duration::from_secs(30)).await,
            "order {id} ends PAID"
        );
    }
    stack.audit().await;
}
