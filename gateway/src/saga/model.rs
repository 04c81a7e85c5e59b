//! The saga as data: its kind, state, steps and what it has learned so far. No I/O.
//! The step tables the engine drives are in [`super::tables`].

use shop_proto::{
    common::{Delivery, Payment},
    order,
};
use tonic::Status;

use crate::ids::{CouponId, OrderId, PaymentId, SagaId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pay,
    Cancel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Running,
    Compensating,
    Completed,
    Compensated,
    Stuck,
}

/// Forward steps, in order. PAY: Lock .. Finish (Charge is the pivot). CANCEL:
/// CancelDelivery (its pivot), Refund, Restock, CancelOrder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Lock,
    KeepHold,
    Reserve,
    Charge,
    Deliver,
    Finish,
    CancelDelivery,
    Refund,
    Restock,
    CancelOrder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Started,
    Done,
}

/// What a compensated PAY saga leaves the order as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Back to PENDING_PAYMENT with last_error: the user may pay again.
    Abort,
    /// The delivery hold is gone before the charge: EXPIRED.
    Expire,
    /// Charged, then the delivery could not be made for good: refunded, FAILED.
    Fail,
}

/// A step record not yet written to the log: a step's start and its DONE are written
/// together with whatever the saga writes next (see `Engine::begin` for when that
/// is). A crash in between loses only the records: recovery undoes the steps before
/// the pivot and runs those after the mark again, which every step allows
/// (idempotent, fenced).
#[derive(Debug, Clone)]
pub struct Entry {
    pub label: String,
    pub phase: &'static str,
    pub detail: String,
}

/// Where the saga stood when it was last written to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Logged {
    pub state: State,
    pub step: Step,
    pub phase: Phase,
}

#[derive(Debug, Clone)]
pub struct Saga {
    pub id: SagaId,
    pub order_id: OrderId,
    pub user_id: UserId,
    pub kind: Kind,
    pub state: State,
    pub step: Step,
    pub phase: Phase,
    pub fate: Option<Fate>,
    pub amount: i64,
    pub coupon_id: Option<CouponId>,
    pub payment_id: Option<PaymentId>,
    pub discount_amount: i64,
    pub paid_amount: i64,
    pub target_saga_id: Option<SagaId>,
    pub reason: String,
    pub attempts: i32,
    pub last_error: String,
    /// The lease this driver holds: every write of the saga is conditional on it.
    pub epoch: i64,
    /// What the log says, as of this driver's last write (what a caller may be told).
    pub logged: Logged,
    /// Step records waiting to be written with the next save.
    pub unsaved: Vec<Entry>,
    /// What the saga learned on the way, to answer its caller without more calls.
    pub seen: Seen,
}

/// The latest answers of the services, kept in memory only.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub order: Option<order::Order>,
    pub payment: Option<Payment>,
    pub delivery: Option<Delivery>,
    /// When compensated: what the caller is told.
    pub answer: Option<Status>,
}

impl Saga {
    pub fn pay(order_id: OrderId, user_id: UserId, coupon_id: Option<CouponId>) -> Self {
        Self::new(Kind::Pay, order_id, user_id, coupon_id, None, String::new())
    }

    pub fn cancel(order_id: OrderId, user_id: UserId, pay_saga_id: SagaId, reason: String) -> Self {
        Self::new(
            Kind::Cancel,
            order_id,
            user_id,
            None,
            Some(pay_saga_id),
            reason,
        )
    }

    fn new(
        kind: Kind,
        order_id: OrderId,
        user_id: UserId,
        coupon_id: Option<CouponId>,
        target_saga_id: Option<SagaId>,
        reason: String,
    ) -> Self {
        let step = kind.steps()[0].step;
        Self {
            id: SagaId::generate(),
            order_id,
            user_id,
            kind,
            state: State::Running,
            step,
            phase: Phase::Started,
            fate: None,
            amount: 0,
            coupon_id,
            payment_id: None,
            discount_amount: 0,
            paid_amount: 0,
            target_saga_id,
            reason,
            attempts: 0,
            last_error: String::new(),
            epoch: 1,
            logged: Logged {
                state: State::Running,
                step,
                phase: Phase::Started,
            },
            unsaved: Vec::new(),
            seen: Seen::default(),
        }
    }

    /// Past the point of no return, as this driver knows it: from here the saga only
    /// goes forward.
    pub fn past_pivot(&self) -> bool {
        self.kind.past_pivot(self.step, self.phase)
    }

    /// Past the point of no return as the log says: what recovery will see, and so
    /// the only ground for telling a caller that the payment goes through.
    pub fn logged_past_pivot(&self) -> bool {
        self.kind.past_pivot(self.logged.step, self.logged.phase)
    }

    /// Whether the start of the current step must be written before it runs: it is
    /// the pivot's (the mark before it: recovery then knows the step may have run and
    /// undoes it) or the first past the pivot (the mark past it: recovery then goes
    /// forward). Any other start can wait for the saga's next write: before the pivot's
    /// mark recovery undoes every compensable step before the pivot whether it ran or
    /// not (the fences make that safe), and past the mark it runs the steps from there
    /// again (each is idempotent).
    pub fn start_is_marked(&self) -> bool {
        let at_pivot = self.step == self.kind.pivot() && self.logged.step < self.step;
        at_pivot || (self.past_pivot() && !self.logged_past_pivot())
    }

    /// Whether the forward step `step` may have run (started or done).
    pub fn reached(&self, step: Step) -> bool {
        self.step >= step
    }

    /// Whether `step` still has to run: it is ahead, or it was started and not seen
    /// to finish (it runs again; every call is idempotent).
    pub fn pending(&self, step: Step) -> bool {
        step > self.step || (step == self.step && self.phase == Phase::Started)
    }

    pub fn is_finished(&self) -> bool {
        self.state.is_final()
    }
}

impl Step {
    /// The service its forward call goes to.
    pub fn service(self) -> &'static str {
        match self {
            Step::Lock | Step::Reserve | Step::Finish | Step::Restock | Step::CancelOrder => {
                "order-svc"
            }
            Step::KeepHold | Step::Deliver | Step::CancelDelivery => "delivery-svc",
            Step::Charge | Step::Refund => "payment-svc",
        }
    }
}

impl State {
    pub fn is_final(self) -> bool {
        matches!(self, State::Completed | State::Compensated | State::Stuck)
    }
}

macro_rules! text_enum {
    ($ty:ty { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

text_enum!(Kind { Pay => "PAY", Cancel => "CANCEL" });
text_enum!(State {
    Running => "RUNNING",
    Compensating => "COMPENSATING",
    Completed => "COMPLETED",
    Compensated => "COMPENSATED",
    Stuck => "STUCK",
});
text_enum!(Step {
    Lock => "LOCK",
    KeepHold => "KEEP_HOLD",
    Reserve => "RESERVE",
    Charge => "CHARGE",
    Deliver => "DELIVER",
    Finish => "FINISH",
    CancelDelivery => "CANCEL_DELIVERY",
    Refund => "REFUND",
    Restock => "RESTOCK",
    CancelOrder => "CANCEL_ORDER",
});
text_enum!(Phase { Started => "STARTED", Done => "DONE" });
text_enum!(Fate { Abort => "ABORT", Expire => "EXPIRE", Fail => "FAIL" });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pivot_is_a_finished_charge() {
        let mut saga = Saga::pay(OrderId::generate(), UserId::generate(), None);
        saga.step = Step::Charge;
        assert!(
            !saga.past_pivot(),
            "an unfinished charge is ambiguous, not past the pivot"
        );
        saga.phase = Phase::Done;
        assert!(saga.past_pivot());
        saga.step = Step::Deliver;
        saga.phase = Phase::Started;
        assert!(saga.past_pivot());
        assert!(
            !saga.logged_past_pivot(),
            "what was not written is not what a caller may be told"
        );
    }

    #[test]
    fn the_cancel_saga_is_past_its_pivot_once_the_delivery_is_cancelled() {
        let mut saga = Saga::cancel(
            OrderId::generate(),
            UserId::generate(),
            SagaId::generate(),
            "x".into(),
        );
        assert_eq!(saga.step, Step::CancelDelivery);
        assert!(!saga.past_pivot());
        saga.phase = Phase::Done;
        assert!(saga.past_pivot());
    }

    #[test]
    fn names_round_trip() {
        for step in [Step::Lock, Step::Finish, Step::CancelOrder] {
            assert_eq!(Step::parse(step.as_str()), Some(step));
        }
        assert_eq!(State::parse("STUCK"), Some(State::Stuck));
        assert_eq!(Fate::parse("nope"), None);
    }
}
