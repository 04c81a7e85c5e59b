//! Placing, paying, checking out and cancelling orders: the multi-service flows.

use std::time::Duration;

use shop_common::{status, time::to_timestamp};
use shop_proto::{
    common::{DeliveryInfo, ErrorReason, OrderLine, OrderStatus},
    delivery::{HoldDeliveryRequest, ReleaseHoldRequest},
    order::{self, CancelOrderRequest, CreateOrderRequest, GetOrderRequest},
};
use tonic::{Code, Status};
use uuid::Uuid;

use super::{Gateway, convert};
use crate::{
    admission::Turn,
    auth::Caller,
    clients::{self, Deadline},
    idempotency::{Claim, fingerprint, key},
    saga::{Engine, Halt, Saga},
};

/// The hold outlives the order's payment window a little, so that paying at the last
/// moment does not find the hold gone first.
const HOLD_MARGIN: Duration = Duration::from_secs(30);

/// Where an idempotent operation stands after its key is claimed.
pub(crate) struct Keyed {
    pub claim: Claim,
    key: Option<String>,
}

impl Gateway {
    /// Claims the request's idempotency key (if it has one) for `operation`.
    pub(crate) async fn claim_key(
        &self,
        caller: &Caller,
        metadata: &tonic::metadata::MetadataMap,
        operation: &str,
        request: &impl prost::Message,
        order_id: Uuid,
    ) -> Result<Keyed, Status> {
        let Some(key) = key(metadata)? else {
            return Ok(Keyed {
                claim: Claim::Fresh(order_id),
                key: None,
            });
        };
        let claim = self
            .keys
            .claim(
                caller.user_id,
                &key,
                operation,
                &fingerprint(operation, request),
                order_id,
            )
            .await?;
        Ok(Keyed {
            claim,
            key: Some(key),
        })
    }

    /// Records how a keyed operation ended. A success, or a refusal after the order
    /// was created, is final: a retry answers with that order. An unknown outcome lets
    /// a retry take over at once. A refusal before anything was created forgets the
    /// key, so it can be used again (say, with a corrected body).
    pub(crate) async fn settle<T>(
        &self,
        caller: &Caller,
        keyed: &Keyed,
        result: &Result<T, Status>,
        created: bool,
    ) {
        let Some(key) = &keyed.key else { return };
        match result {
            Ok(_) => self.keys.finish(caller.user_id, key).await,
            Err(s) if clients::is_ambiguous(s) || s.code() == Code::Internal => {
                self.keys.unlock(caller.user_id, key).await
            }
            Err(_) if created => self.keys.finish(caller.user_id, key).await,
            Err(_) => self.keys.forget(caller.user_id, key).await,
        }
    }

    /// Holds the delivery info, then creates the order (both idempotent by order id).
    /// A refused order releases its hold, so bad input leaves nothing behind.
    pub(crate) async fn place(
        &self,
        caller: &Caller,
        order_id: Uuid,
        items: &[OrderLine],
        delivery: Option<&DeliveryInfo>,
        deadline: Deadline,
    ) -> Result<order::Order, Status> {
        let Some(info) = delivery else {
            return Err(status::validation(&[(
                "delivery".into(),
                "is required".into(),
            )]));
        };
        let ttl = self.payment_window + HOLD_MARGIN;
        let hold = HoldDeliveryRequest {
            order_id: order_id.to_string(),
            user_id: caller.user_id.to_string(),
            info: Some(info.clone()),
            ttl: Some(shop_common::time::to_duration(ttl)),
        };
        clients::retry(
            deadline,
            3,
            "delivery-svc",
            call!(self.clients.delivery, hold_delivery, hold),
        )
        .await
        .map_err(|s| {
            convert::rename_fields(clients::public("delivery-svc", s), "info", "delivery")
        })?;

        let expires_at = chrono::Utc::now() + self.payment_window;
        let create = CreateOrderRequest {
            order_id: order_id.to_string(),
            user_id: caller.user_id.to_string(),
            lines: items.to_vec(),
            expires_at: Some(to_timestamp(expires_at)),
        };
        let created = clients::retry(
            deadline,
            3,
            "order-svc",
            call!(self.clients.order, create_order, create),
        )
        .await;
        match created {
            Ok(order) => Ok(order),
            Err(s) => {
                if !clients::is_ambiguous(&s) {
                    self.release_hold(order_id, deadline).await;
                }
                Err(convert::rename_fields(
                    clients::public("order-svc", s),
                    "lines",
                    "items",
                ))
            }
        }
    }

    /// The order if it exists already (a resumed request), without touching anything.
    pub(crate) async fn existing(
        &self,
        order_id: Uuid,
        deadline: Deadline,
    ) -> Result<Option<order::Order>, Status> {
        let request = GetOrderRequest {
            order_id: order_id.to_string(),
        };
        match clients::retry(
            deadline,
            3,
            "order-svc",
            call!(self.clients.order, get_order, request),
        )
        .await
        {
            Ok(order) => Ok(Some(order)),
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(clients::public("order-svc", s)),
        }
    }

    /// OUT_OF_STOCK when a quick look (order-svc CheckStock, one read, no retry) finds
    /// a line short now, so a sold-out purchase is refused before an order or a saga
    /// is made. Advisory: any other answer is ignored and ReserveStock, in the saga,
    /// stays the guard.
    pub(crate) async fn refuse_if_sold_out(
        &self,
        lines: &[OrderLine],
        deadline: Deadline,
    ) -> Result<(), Status> {
        let request = order::CheckStockRequest {
            lines: lines.to_vec(),
        };
        let checked = clients::once(
            deadline,
            "order-svc",
            call!(self.clients.order, check_stock, request),
        )
        .await;
        match checked {
            Err(s)
                if status::reason(&s).as_deref() == Some(ErrorReason::OutOfStock.as_str_name()) =>
            {
                Err(clients::public("order-svc", s))
            }
            _ => Ok(()),
        }
    }

    /// Runs the pay saga for an order in its `turn`; `owner` is the order's user,
    /// whose points are charged. Past the pivot but unfinished counts as `Ok` (the
    /// order shows PAYMENT_IN_PROGRESS until recovery completes it).
    pub(crate) async fn pay(
        &self,
        owner: Uuid,
        order_id: Uuid,
        coupon_id: Option<Uuid>,
        deadline: Deadline,
        turn: Turn,
    ) -> Result<(), Status> {
        let saga = Saga::pay(order_id, owner, coupon_id);
        self.run_saga(saga, turn, move |engine, mut saga| async move {
            let result = engine.pay(&mut saga, deadline).await;
            (saga, result)
        })
        .await
    }

    /// Logs a new saga, drives it in its own task (which keeps the `turn` until the
    /// saga stops) and says how it ended for the caller: `Ok` also when it is past its
    /// pivot but not finished (recovery completes it).
    async fn run_saga<F, Fut>(&self, saga: Saga, turn: Turn, drive: F) -> Result<(), Status>
    where
        F: FnOnce(Engine, Saga) -> Fut,
        Fut: std::future::Future<Output = (Saga, Result<(), Halt>)> + Send + 'static,
    {
        self.engine
            .log()
            .create(&saga)
            .await
            .map_err(|err| status::unavailable("the saga log", &err))?;
        let run = drive(self.engine.clone(), saga);
        let (saga, result) = detached(async move {
            let ended = run.await;
            drop(turn);
            ended
        })
        .await?;
        match result {
            Ok(()) => Ok(()),
            Err(Halt::Ended(status)) => Err(status),
            Err(Halt::Later(status)) if saga.past_pivot() => {
                tracing::warn!(saga_id = %saga.id, reason = status.message(), "finishing in the background");
                Ok(())
            }
            Err(Halt::Later(status)) => Err(status),
        }
    }

    /// Cancels an unpaid order (and drops its hold) or a paid, unshipped one (saga).
    pub(crate) async fn cancel(
        &self,
        caller: &Caller,
        order: order::Order,
        reason: String,
        deadline: Deadline,
    ) -> Result<(), Status> {
        let order_id = Uuid::try_parse(&order.id).unwrap_or_default();
        match order.status() {
            OrderStatus::Cancelled => Ok(()),
            OrderStatus::PendingPayment => {
                let request = CancelOrderRequest {
                    order_id: order.id.clone(),
                    reason,
                };
                clients::retry(
                    deadline,
                    3,
                    "order-svc",
                    call!(self.clients.order, cancel_order, request),
                )
                .await
                .map_err(|s| clients::public("order-svc", s))?;
                // The hold would expire by its TTL anyway; drop it now.
                self.release_hold(order_id, deadline).await;
                Ok(())
            }
            OrderStatus::Paid => {
                let pay_saga = Uuid::try_parse(&order.saga_id)
                    .map_err(|_| Status::internal("paid order has no saga id"))?;
                let owner = Uuid::try_parse(&order.user_id).unwrap_or(caller.user_id);
                let saga = Saga::cancel(order_id, owner, pay_saga, reason);
                let turn = self.admission.admit(deadline).await?;
                self.run_saga(saga, turn, move |engine, mut saga| async move {
                    let result = engine.cancel_paid(&mut saga, deadline).await;
                    (saga, result)
                })
                .await
            }
            OrderStatus::PaymentInProgress => Err(status::error(
                Code::Aborted,
                ErrorReason::PaymentInProgress,
                "the order is being paid right now; try again in a moment",
            )),
            other => Err(status::error(
                Code::FailedPrecondition,
                ErrorReason::OrderNotCancellable,
                format!(
                    "an order in state {} cannot be cancelled",
                    other.as_str_name()
                ),
            )),
        }
    }

    async fn release_hold(&self, order_id: Uuid, deadline: Deadline) {
        let request = ReleaseHoldRequest {
            order_id: order_id.to_string(),
        };
        let result = clients::once(
            deadline,
            "delivery-svc",
            call!(self.clients.delivery, release_hold, request),
        )
        .await;
        if let Err(s) = result {
            tracing::warn!(%order_id, message = s.message(), "cannot release hold; it expires by its TTL");
        }
    }
}

impl Gateway {
    /// The user confirms receipt: the delivery first (it checks ownership and state),
    /// then the order. If the second call fails, the delivery's RECEIVED event brings
    /// the order along later (see `events`).
    pub(crate) async fn confirm_receipt_of(
        &self,
        order: order::Order,
        deadline: Deadline,
    ) -> Result<(), Status> {
        match order.status() {
            OrderStatus::Received => return Ok(()),
            OrderStatus::Paid => {}
            other => {
                return Err(status::error(
                    Code::FailedPrecondition,
                    ErrorReason::InvalidState,
                    format!(
                        "only a paid order can be received; this one is {}",
                        other.as_str_name()
                    ),
                ));
            }
        }
        let confirm = shop_proto::delivery::ConfirmReceiptRequest {
            order_id: order.id.clone(),
            user_id: order.user_id.clone(),
        };
        clients::retry(
            deadline,
            3,
            "delivery-svc",
            call!(self.clients.delivery, confirm_receipt, confirm),
        )
        .await
        .map_err(|s| clients::public("delivery-svc", s))?;
        let received = order::MarkReceivedRequest { order_id: order.id };
        clients::retry(
            deadline,
            3,
            "order-svc",
            call!(self.clients.order, mark_received, received),
        )
        .await
        .map_err(|s| clients::public("order-svc", s))?;
        Ok(())
    }
}

/// Runs a saga in its own task, so that a caller who disconnects or gives up mid-way
/// (its request future is dropped) does not leave the saga half-done until its lease
/// runs out: it goes on to its end and its log says how it ended.
async fn detached<T: Send + 'static>(
    saga: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T, Status> {
    tokio::spawn(tracing::Instrument::in_current_span(saga))
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "saga task failed");
            status::error(Code::Internal, ErrorReason::Internal, "internal error")
        })
}
