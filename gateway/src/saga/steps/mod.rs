//! What each step of each saga calls, and how it is undone. What an outcome means is
//! the step tables' and the engine's business, not this module's: here a step makes
//! its call and keeps what it learned in the saga.
//!
//! - [`pay`]: lock, keep the hold, reserve, charge, deliver, finish; and the undo.
//! - [`cancel`]: cancel the delivery, refund, restock, cancel the order.

mod cancel;
mod pay;

use std::time::Duration;

use tracing::Instrument;

use super::model::{Fate, Kind, Saga, Step};
use crate::clients::{Clients, Deadline, Outcome};

/// What the steps need from the engine.
#[derive(Clone, Copy)]
pub struct Deps<'a> {
    pub clients: &'a Clients,
    /// How long the delivery hold is kept alive while a pay saga runs.
    pub hold_for: Duration,
}

/// The span of one saga step (inside the saga's span, which has saga_id and order_id).
pub fn step_span(step: &str) -> tracing::Span {
    tracing::info_span!("saga_step", step)
}

/// Runs forward step `step`; the `String` is the detail of its DONE record.
/// `retrying`: the step ran before without being seen to finish.
pub async fn forward(
    deps: Deps<'_>,
    saga: &mut Saga,
    step: Step,
    deadline: Deadline,
    retrying: bool,
) -> Outcome<String> {
    let span = step_span(step.as_str());
    match saga.kind {
        Kind::Pay => {
            pay::forward(deps, saga, step, deadline, retrying)
                .instrument(span)
                .await
        }
        Kind::Cancel => {
            cancel::forward(deps, saga, step, deadline)
                .instrument(span)
                .await
        }
    }
}

/// Undoes `step` (idempotent, fenced by the saga id); the lock's undo leaves the order
/// as `fate` says. Only pay steps have undo calls.
pub async fn undo(
    deps: Deps<'_>,
    saga: &mut Saga,
    step: Step,
    fate: Fate,
    deadline: Deadline,
) -> Outcome<()> {
    pay::undo(deps, saga, step, fate, deadline)
        .instrument(step_span(undo_label(step, fate)))
        .await
}

/// The log label of the undo of `step`.
pub fn undo_label(step: Step, fate: Fate) -> &'static str {
    pay::undo_label(step, fate)
}
