//! The step tables: for each kind of saga, its steps in order, the pivot, how each
//! step is undone and what a definite refusal of it means. The engine drives these
//! tables; nothing else decides what an outcome means. No I/O.

use super::model::{Fate, Kind, Phase, Step};

impl Kind {
    /// Its steps, in order (the table the engine drives).
    pub fn steps(self) -> &'static [StepSpec] {
        match self {
            Kind::Pay => &PAY,
            Kind::Cancel => &CANCEL,
        }
    }

    /// Its point of no return (every table has one).
    pub(super) fn pivot(self) -> Step {
        self.steps()
            .iter()
            .find(|s| s.pivot)
            .map_or(Step::Lock, |s| s.step)
    }

    /// The last step before the pivot (the pivot itself when it comes first): the
    /// furthest a saga may have gone while its log still says where it started.
    pub(super) fn last_before_pivot(self) -> Step {
        let steps = self.steps();
        let at = steps.iter().position(|s| s.pivot).unwrap_or(0);
        steps[at.saturating_sub(1)].step
    }

    pub(super) fn past_pivot(self, step: Step, phase: Phase) -> bool {
        let pivot = self.pivot();
        step > pivot || (step == pivot && phase == Phase::Done)
    }
}

/// How a forward step is undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undo {
    /// By its compensating call.
    By,
    /// It changes nothing that needs undoing (keeping the hold alive).
    Nothing,
    /// It cannot be undone: once it may have run, the saga can only go on.
    Impossible,
}

/// What a definite refusal of a forward step means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnRefusal {
    /// Nothing was done: the saga ends, and the refusal is the caller's answer.
    End,
    /// Undo what was done and leave the order as the fate says.
    Compensate(Fate),
    /// Past the pivot and refused for good: an operator must look.
    Stuck,
}

/// One row of a saga's step table.
#[derive(Debug, Clone, Copy)]
pub struct StepSpec {
    pub step: Step,
    /// The point of no return (its DONE).
    pub pivot: bool,
    pub undo: Undo,
    pub refused: OnRefusal,
}

/// The pay saga (DESIGN.md). Before the pivot a refusal compensates in reverse; an
/// unknown outcome is compensated too (fences make an undo of what did not happen
/// safe); after the pivot an unknown outcome means "later", never "fail".
pub const PAY: [StepSpec; 6] = [
    StepSpec {
        step: Step::Lock,
        pivot: false,
        undo: Undo::By,
        refused: OnRefusal::End,
    },
    StepSpec {
        step: Step::KeepHold,
        pivot: false,
        undo: Undo::Nothing,
        refused: OnRefusal::Compensate(Fate::Expire),
    },
    StepSpec {
        step: Step::Reserve,
        pivot: false,
        undo: Undo::By,
        refused: OnRefusal::Compensate(Fate::Abort),
    },
    StepSpec {
        step: Step::Charge,
        pivot: true,
        undo: Undo::By,
        refused: OnRefusal::Compensate(Fate::Abort),
    },
    StepSpec {
        step: Step::Deliver,
        pivot: false,
        undo: Undo::By,
        refused: OnRefusal::Compensate(Fate::Fail),
    },
    StepSpec {
        step: Step::Finish,
        pivot: false,
        undo: Undo::Impossible,
        refused: OnRefusal::Stuck,
    },
];

/// Cancelling a paid order that has not shipped. Its pivot, cancelling the delivery,
/// is also its first step: refused (shipped) means nothing changed; unknown means it
/// may have been cancelled, so the saga waits until it knows.
pub const CANCEL: [StepSpec; 4] = [
    StepSpec {
        step: Step::CancelDelivery,
        pivot: true,
        undo: Undo::Impossible,
        refused: OnRefusal::End,
    },
    StepSpec {
        step: Step::Refund,
        pivot: false,
        undo: Undo::Impossible,
        refused: OnRefusal::Stuck,
    },
    StepSpec {
        step: Step::Restock,
        pivot: false,
        undo: Undo::Impossible,
        refused: OnRefusal::Stuck,
    },
    StepSpec {
        step: Step::CancelOrder,
        pivot: false,
        undo: Undo::Impossible,
        refused: OnRefusal::Stuck,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_before_the_pivot_reaches_the_step_before_it() {
        assert_eq!(Kind::Pay.pivot(), Step::Charge);
        assert_eq!(Kind::Pay.last_before_pivot(), Step::Reserve);
        assert_eq!(Kind::Cancel.last_before_pivot(), Step::CancelDelivery);
    }

    #[test]
    fn every_table_has_one_pivot_and_steps_in_order() {
        for kind in [Kind::Pay, Kind::Cancel] {
            let steps = kind.steps();
            assert_eq!(steps.iter().filter(|s| s.pivot).count(), 1, "{kind:?}");
            assert!(steps.windows(2).all(|w| w[0].step < w[1].step), "{kind:?}");
        }
    }
}
