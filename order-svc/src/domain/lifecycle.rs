//! The order state machine: every status change, including the pay-saga steps, is
//! decided here by [`decide`], a pure function of the order's current state.
//!
//! A decision is either a move to a next status, "keep" (the command already took
//! effect: a repeat returns the order unchanged), or a refusal naming the rule.

use chrono::{DateTime, Utc};

use super::{PaymentId, SagaId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    PendingPayment,
    PaymentInProgress,
    Paid,
    Received,
    Cancelled,
    Expired,
    Failed,
}

impl OrderStatus {
    pub const ALL: [Self; 7] = [
        Self::PendingPayment,
        Self::PaymentInProgress,
        Self::Paid,
        Self::Received,
        Self::Cancelled,
        Self::Expired,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "PENDING_PAYMENT",
            Self::PaymentInProgress => "PAYMENT_IN_PROGRESS",
            Self::Paid => "PAID",
            Self::Received => "RECEIVED",
            Self::Cancelled => "CANCELLED",
            Self::Expired => "EXPIRED",
            Self::Failed => "FAILED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// What a decision needs to know about the order, read under its row lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderState {
    pub status: OrderStatus,
    /// The saga holding PAYMENT_IN_PROGRESS, or the last one that held it.
    pub saga_id: Option<SagaId>,
    pub payment_id: Option<PaymentId>,
    pub expires_at: DateTime<Utc>,
    /// Some saga has stock reserved for this order and not released.
    pub holds_stock: bool,
}

impl OrderState {
    fn held_by(&self, saga: SagaId) -> bool {
        self.status == OrderStatus::PaymentInProgress && self.saga_id == Some(saga)
    }

    /// `saga` took the payment (the order may have moved on since).
    fn paid_by(&self, saga: SagaId) -> bool {
        self.payment_id.is_some() && self.saga_id == Some(saga)
    }
}

/// The payment recorded by MarkPaid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentRecord {
    pub payment_id: PaymentId,
    pub discount_amount: i64,
    pub paid_amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    BeginPayment {
        saga: SagaId,
    },
    AbortPayment {
        saga: SagaId,
        reason: String,
    },
    MarkPaid {
        saga: SagaId,
        payment: PaymentRecord,
    },
    MarkFailed {
        saga: SagaId,
        reason: String,
    },
    Expire {
        saga: Option<SagaId>,
    },
    Cancel {
        reason: String,
    },
    MarkReceived,
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Self::BeginPayment { .. } => "BeginPayment",
            Self::AbortPayment { .. } => "AbortPayment",
            Self::MarkPaid { .. } => "MarkPaid",
            Self::MarkFailed { .. } => "MarkFailed",
            Self::Expire { .. } => "ExpireOrder",
            Self::Cancel { .. } => "CancelOrder",
            Self::MarkReceived => "MarkReceived",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Apply the command: the order moves to this status.
    Move(OrderStatus),
    /// Already done: return the order unchanged.
    Keep,
    /// BeginPayment on an unpaid order past its expiry: expire it, then refuse.
    ExpireInstead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the order has expired")]
    Expired,
    #[error("an order that is {} cannot be paid", .0.as_str())]
    NotPayable(OrderStatus),
    #[error("an order that is {} cannot be cancelled", .0.as_str())]
    NotCancellable(OrderStatus),
    #[error("another payment of this order is in progress")]
    HeldByAnotherSaga,
    #[error("this saga already paid the order; refund it instead of aborting")]
    AlreadyPaid,
    #[error("this saga was aborted; it cannot start the payment again")]
    SagaAborted,
    #[error("stock is still reserved for this order; release it first")]
    StockStillReserved,
    #[error("{command} is not allowed on an order that is {}", .from.as_str())]
    Illegal {
        command: &'static str,
        from: OrderStatus,
    },
}

/// The next status for `command`, or why it is refused. `now` is the database clock.
///
/// An order ends CANCELLED, EXPIRED or FAILED only once no stock is reserved for it
/// (invariant 3): the caller releases the stock first.
pub fn decide(
    order: &OrderState,
    command: &Command,
    now: DateTime<Utc>,
) -> Result<Decision, Refusal> {
    let decision = transition(order, command, now)?;
    let ends_unpaid = matches!(
        decision,
        Decision::Move(OrderStatus::Cancelled | OrderStatus::Expired | OrderStatus::Failed)
    );
    if ends_unpaid && order.holds_stock {
        return Err(Refusal::StockStillReserved);
    }
    Ok(decision)
}

fn transition(
    order: &OrderState,
    command: &Command,
    now: DateTime<Utc>,
) -> Result<Decision, Refusal> {
    use OrderStatus as S;
    let illegal = || Refusal::Illegal {
        command: command.name(),
        from: order.status,
    };
    match command {
        Command::BeginPayment { saga } => match order.status {
            S::PendingPayment if order.expires_at > now => Ok(Decision::Move(S::PaymentInProgress)),
            S::PendingPayment => Ok(Decision::ExpireInstead),
            S::PaymentInProgress if order.held_by(*saga) => Ok(Decision::Keep),
            S::PaymentInProgress => Err(Refusal::HeldByAnotherSaga),
            S::Paid | S::Received if order.paid_by(*saga) => Ok(Decision::Keep),
            S::Expired => Err(Refusal::Expired),
            status => Err(Refusal::NotPayable(status)),
        },
        Command::AbortPayment { saga, .. } => {
            if order.held_by(*saga) {
                Ok(Decision::Move(S::PendingPayment))
            } else if order.paid_by(*saga) {
                Err(Refusal::AlreadyPaid)
            } else {
                Ok(Decision::Keep)
            }
        }
        Command::MarkPaid { saga, .. } => {
            if order.held_by(*saga) {
                Ok(Decision::Move(S::Paid))
            } else if order.paid_by(*saga) {
                Ok(Decision::Keep)
            } else {
                Err(Refusal::NotPayable(order.status))
            }
        }
        Command::MarkFailed { saga, .. } => match order.status {
            S::PaymentInProgress if order.held_by(*saga) => Ok(Decision::Move(S::Failed)),
            S::Failed if order.saga_id == Some(*saga) => Ok(Decision::Keep),
            _ => Err(illegal()),
        },
        Command::Expire { saga } => match order.status {
            S::PendingPayment => Ok(Decision::Move(S::Expired)),
            S::PaymentInProgress if saga.is_some_and(|s| order.held_by(s)) => {
                Ok(Decision::Move(S::Expired))
            }
            S::PaymentInProgress => Err(Refusal::HeldByAnotherSaga),
            S::Expired => Ok(Decision::Keep),
            _ => Err(illegal()),
        },
        Command::Cancel { .. } => match order.status {
            S::PendingPayment | S::Paid => Ok(Decision::Move(S::Cancelled)),
            S::Cancelled => Ok(Decision::Keep),
            S::PaymentInProgress => Err(Refusal::HeldByAnotherSaga),
            status => Err(Refusal::NotCancellable(status)),
        },
        Command::MarkReceived => match order.status {
            S::Paid => Ok(Decision::Move(S::Received)),
            S::Received => Ok(Decision::Keep),
            _ => Err(illegal()),
        },
    }
}

/// ReserveStock takes stock only for the saga holding the payment lock.
pub fn may_reserve(
    status: OrderStatus,
    holder: Option<SagaId>,
    saga: SagaId,
) -> Result<(), Refusal> {
    if status == OrderStatus::PaymentInProgress && holder == Some(saga) {
        Ok(())
    } else {
        Err(Refusal::NotPayable(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn state(status: OrderStatus, saga: Option<SagaId>) -> OrderState {
        OrderState {
            status,
            saga_id: saga,
            payment_id: None,
            expires_at: Utc::now() + Duration::minutes(5),
            holds_stock: false,
        }
    }

    fn paid(saga: SagaId) -> OrderState {
        OrderState {
            payment_id: Some(PaymentId::generate()),
            ..state(OrderStatus::Paid, Some(saga))
        }
    }

    #[test]
    fn begin_locks_a_pending_order_once() {
        let saga = SagaId::generate();
        let now = Utc::now();
        let begin = Command::BeginPayment { saga };
        let pending = state(OrderStatus::PendingPayment, None);
        assert_eq!(
            decide(&pending, &begin, now),
            Ok(Decision::Move(OrderStatus::PaymentInProgress))
        );
        let held = state(OrderStatus::PaymentInProgress, Some(saga));
        assert_eq!(decide(&held, &begin, now), Ok(Decision::Keep));
        let other = Command::BeginPayment {
            saga: SagaId::generate(),
        };
        assert_eq!(decide(&held, &other, now), Err(Refusal::HeldByAnotherSaga));
        assert_eq!(decide(&paid(saga), &begin, now), Ok(Decision::Keep));
        assert_eq!(
            decide(&paid(saga), &other, now),
            Err(Refusal::NotPayable(OrderStatus::Paid))
        );
    }

    #[test]
    fn begin_on_an_overdue_order_expires_it() {
        let pending = state(OrderStatus::PendingPayment, None);
        let later = pending.expires_at + Duration::seconds(1);
        let begin = Command::BeginPayment {
            saga: SagaId::generate(),
        };
        assert_eq!(decide(&pending, &begin, later), Ok(Decision::ExpireInstead));
        let expired = state(OrderStatus::Expired, None);
        assert_eq!(decide(&expired, &begin, later), Err(Refusal::Expired));
    }

    #[test]
    fn abort_releases_only_its_own_lock() {
        let saga = SagaId::generate();
        let abort = Command::AbortPayment {
            saga,
            reason: "declined".into(),
        };
        let now = Utc::now();
        assert_eq!(
            decide(
                &state(OrderStatus::PaymentInProgress, Some(saga)),
                &abort,
                now
            ),
            Ok(Decision::Move(OrderStatus::PendingPayment))
        );
        let other = state(OrderStatus::PaymentInProgress, Some(SagaId::generate()));
        assert_eq!(decide(&other, &abort, now), Ok(Decision::Keep));
        assert_eq!(
            decide(&state(OrderStatus::PendingPayment, Some(saga)), &abort, now),
            Ok(Decision::Keep)
        );
        assert_eq!(decide(&paid(saga), &abort, now), Err(Refusal::AlreadyPaid));
    }

    #[test]
    fn mark_paid_needs_the_lock_and_repeats_quietly() {
        let saga = SagaId::generate();
        let payment = PaymentRecord {
            payment_id: PaymentId::generate(),
            discount_amount: 0,
            paid_amount: 10,
        };
        let mark = Command::MarkPaid { saga, payment };
        let now = Utc::now();
        assert_eq!(
            decide(
                &state(OrderStatus::PaymentInProgress, Some(saga)),
                &mark,
                now
            ),
            Ok(Decision::Move(OrderStatus::Paid))
        );
        assert_eq!(decide(&paid(saga), &mark, now), Ok(Decision::Keep));
        assert_eq!(
            decide(&state(OrderStatus::PendingPayment, None), &mark, now),
            Err(Refusal::NotPayable(OrderStatus::PendingPayment))
        );
    }

    #[test]
    fn cancel_rules() {
        let cancel = Command::Cancel {
            reason: String::new(),
        };
        let now = Utc::now();
        let saga = SagaId::generate();
        assert_eq!(
            decide(&state(OrderStatus::PendingPayment, None), &cancel, now),
            Ok(Decision::Move(OrderStatus::Cancelled))
        );
        assert_eq!(
            decide(&paid(saga), &cancel, now),
            Ok(Decision::Move(OrderStatus::Cancelled))
        );
        let still_reserved = OrderState {
            holds_stock: true,
            ..paid(saga)
        };
        assert_eq!(
            decide(&still_reserved, &cancel, now),
            Err(Refusal::StockStillReserved)
        );
        assert_eq!(
            decide(&state(OrderStatus::Cancelled, None), &cancel, now),
            Ok(Decision::Keep)
        );
        assert_eq!(
            decide(
                &state(OrderStatus::PaymentInProgress, Some(saga)),
                &cancel,
                now
            ),
            Err(Refusal::HeldByAnotherSaga)
        );
        assert_eq!(
            decide(&state(OrderStatus::Received, Some(saga)), &cancel, now),
            Err(Refusal::NotCancellable(OrderStatus::Received))
        );
    }

    #[test]
    fn expire_failed_and_received_rules() {
        let saga = SagaId::generate();
        let now = Utc::now();
        let held = state(OrderStatus::PaymentInProgress, Some(saga));
        assert_eq!(
            decide(&held, &Command::Expire { saga: Some(saga) }, now),
            Ok(Decision::Move(OrderStatus::Expired))
        );
        assert_eq!(
            decide(&held, &Command::Expire { saga: None }, now),
            Err(Refusal::HeldByAnotherSaga)
        );
        let reserved = OrderState {
            holds_stock: true,
            ..held
        };
        assert_eq!(
            decide(&reserved, &Command::Expire { saga: Some(saga) }, now),
            Err(Refusal::StockStillReserved)
        );
        assert!(matches!(
            decide(&paid(saga), &Command::Expire { saga: None }, now),
            Err(Refusal::Illegal { .. })
        ));
        let fail = Command::MarkFailed {
            saga,
            reason: "no delivery".into(),
        };
        assert_eq!(
            decide(&held, &fail, now),
            Ok(Decision::Move(OrderStatus::Failed))
        );
        assert_eq!(
            decide(&state(OrderStatus::Failed, Some(saga)), &fail, now),
            Ok(Decision::Keep)
        );
        assert_eq!(
            decide(&paid(saga), &Command::MarkReceived, now),
            Ok(Decision::Move(OrderStatus::Received))
        );
        assert!(matches!(
            decide(
                &state(OrderStatus::PendingPayment, None),
                &Command::MarkReceived,
                now
            ),
            Err(Refusal::Illegal { .. })
        ));
    }

    #[test]
    fn status_names_round_trip() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
    }
}
