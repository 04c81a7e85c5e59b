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
mod tests;
