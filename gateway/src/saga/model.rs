//! The saga as data: its kind, state, steps and what it has learned so far. No I/O.

use uuid::Uuid;

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
pub enum Outcome {
    /// Back to PENDING_PAYMENT with last_error: the user may pay again.
    Abort,
    /// The delivery hold is gone before the charge: EXPIRED.
    Expire,
    /// Charged, then a later step failed for good: refunded, FAILED.
    Fail,
}

/// A step record not yet written to the log: a step's DONE is written together with
/// whatever the saga writes next (always before its next call), halving the log's
/// commits. A crash in between loses only the record, and recovery runs the step
/// again, which every step allows (idempotent, fenced).
#[derive(Debug, Clone)]
pub struct Entry {
    pub label: String,
    pub phase: &'static str,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct Saga {
    pub id: Uuid,
    pub order_id: Uuid,
    pub user_id: Uuid,
    pub kind: Kind,
    pub state: State,
    pub step: Step,
    pub phase: Phase,
    pub outcome: Option<Outcome>,
    pub amount: i64,
    pub coupon_id: Option<Uuid>,
    pub payment_id: Option<Uuid>,
    pub discount_amount: i64,
    pub paid_amount: i64,
    pub target_saga_id: Option<Uuid>,
    pub reason: String,
    pub attempts: i32,
    pub last_error: String,
    /// Step records waiting to be written with the next save.
    pub unsaved: Vec<Entry>,
}

impl Saga {
    pub fn pay(order_id: Uuid, user_id: Uuid, coupon_id: Option<Uuid>) -> Self {
        Self::new(
            Kind::Pay,
            Step::Lock,
            order_id,
            user_id,
            coupon_id,
            None,
            String::new(),
        )
    }

    pub fn cancel(order_id: Uuid, user_id: Uuid, pay_saga_id: Uuid, reason: String) -> Self {
        Self::new(
            Kind::Cancel,
            Step::CancelDelivery,
            order_id,
            user_id,
            None,
            Some(pay_saga_id),
            reason,
        )
    }

    fn new(
        kind: Kind,
        step: Step,
        order_id: Uuid,
        user_id: Uuid,
        coupon_id: Option<Uuid>,
        target_saga_id: Option<Uuid>,
        reason: String,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            order_id,
            user_id,
            kind,
            state: State::Running,
            step,
            phase: Phase::Started,
            outcome: None,
            amount: 0,
            coupon_id,
            payment_id: None,
            discount_amount: 0,
            paid_amount: 0,
            target_saga_id,
            reason,
            attempts: 0,
            last_error: String::new(),
            unsaved: Vec::new(),
        }
    }

    /// Past the point of no return: from here the saga only goes forward.
    pub fn past_pivot(&self) -> bool {
        match self.kind {
            Kind::Pay => {
                self.step > Step::Charge || (self.step == Step::Charge && self.phase == Phase::Done)
            }
            Kind::Cancel => self.step > Step::CancelDelivery || self.phase == Phase::Done,
        }
    }

    /// Whether the forward step `step` may have run (started or done).
    pub fn reached(&self, step: Step) -> bool {
        self.step >= step
    }

    pub fn is_finished(&self) -> bool {
        matches!(
            self.state,
            State::Completed | State::Compensated | State::Stuck
        )
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
text_enum!(Outcome { Abort => "ABORT", Expire => "EXPIRE", Fail => "FAIL" });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pivot_is_a_finished_charge() {
        let mut saga = Saga::pay(Uuid::new_v4(), Uuid::new_v4(), None);
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
    }

    #[test]
    fn names_round_trip() {
        for step in [Step::Lock, Step::Finish, Step::CancelOrder] {
            assert_eq!(Step::parse(step.as_str()), Some(step));
        }
        assert_eq!(State::parse("STUCK"), Some(State::Stuck));
        assert_eq!(Outcome::parse("nope"), None);
    }
}
