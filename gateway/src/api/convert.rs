//! Internal messages -> public messages, and renaming field paths in violations so a
//! client sees the names of the request it sent.

use shop_common::{status, time::to_timestamp};
use shop_proto::{gateway as public, order};
use tonic::{Code, Status};

use crate::{
    error::Error,
    saga::{
        self,
        log::{SagaRecord, StepRecord},
    },
    store::parked::Parked,
};

/// A public order from order-svc's record (payment and delivery filled in by compose).
pub fn order(o: order::Order) -> public::Order {
    public::Order {
        id: o.id,
        user_id: o.user_id,
        status: o.status,
        lines: o.lines,
        total_amount: o.total_amount,
        discount_amount: o.discount_amount,
        paid_amount: o.paid_amount,
        created_at: o.created_at,
        expires_at: o.expires_at,
        payment: None,
        delivery: None,
        last_error: o.last_error,
        held_delivery: None,
        updated_at: o.updated_at,
    }
}

pub fn saga(record: SagaRecord) -> public::Saga {
    let s = record.saga;
    let state = match s.state {
        saga::State::Running => public::SagaState::Running,
        saga::State::Compensating => public::SagaState::Compensating,
        saga::State::Completed => public::SagaState::Completed,
        saga::State::Compensated => public::SagaState::Compensated,
        saga::State::Stuck => public::SagaState::Stuck,
    };
    let open = !s.is_finished();
    public::Saga {
        id: s.id.to_string(),
        order_id: s.order_id.to_string(),
        kind: s.kind.as_str().to_owned(),
        state: state as i32,
        step: format!("{}:{}", s.step.as_str(), s.phase.as_str()),
        attempts: s.attempts,
        past_pivot: s.past_pivot(),
        outcome: s.fate.map(|f| f.as_str().to_owned()).unwrap_or_default(),
        user_id: s.user_id.to_string(),
        last_error: s.last_error,
        created_at: Some(to_timestamp(record.created_at)),
        updated_at: Some(to_timestamp(record.updated_at)),
        next_attempt_at: open.then(|| to_timestamp(record.lease_until)),
    }
}

pub fn saga_step(record: StepRecord) -> public::SagaStep {
    public::SagaStep {
        step: record.step,
        phase: record.phase,
        detail: record.detail,
        at: Some(to_timestamp(record.at)),
    }
}

pub fn parked(event: Parked) -> public::ParkedEvent {
    public::ParkedEvent {
        consumer: event.consumer,
        offset: event.event_offset,
        event_id: event.event_id.to_string(),
        order_id: event.order_id.to_string(),
        kind: event.kind,
        reason: event.reason,
        attempts: event.attempts,
        parked_at: Some(to_timestamp(event.parked_at)),
        next_retry_at: event.next_retry_at.map(to_timestamp),
        resolved_at: event.resolved_at.map(to_timestamp),
    }
}

pub fn audit_event(event: crate::audit::Event) -> public::AuditEvent {
    public::AuditEvent {
        id: event.id,
        admin_id: event.admin_id.to_string(),
        action: event.action,
        target: event.target,
        detail: event.detail,
        request_id: event.request_id.to_string(),
        outcome: event.outcome,
        at: Some(to_timestamp(event.at)),
        ended_at: event.ended_at.map(to_timestamp),
    }
}

pub fn saga_state(state: public::SagaState) -> Option<saga::State> {
    match state {
        public::SagaState::Unspecified => None,
        public::SagaState::Running => Some(saga::State::Running),
        public::SagaState::Compensating => Some(saga::State::Compensating),
        public::SagaState::Completed => Some(saga::State::Completed),
        public::SagaState::Compensated => Some(saga::State::Compensated),
        public::SagaState::Stuck => Some(saga::State::Stuck),
    }
}

/// Renames the field paths of a service's VALIDATION_FAILED answer (`from` prefix ->
/// `to`), so they name the public request's fields; other errors pass unchanged.
pub fn rename_fields(err: Error, from: &str, to: &str) -> Error {
    match err {
        Error::Answer(status) => Error::Answer(rename_violations(status, from, to)),
        other => other,
    }
}

fn rename_violations(status: Status, from: &str, to: &str) -> Status {
    if status.code() != Code::InvalidArgument {
        return status;
    }
    let violations = status::violations(&status);
    if violations.is_empty() {
        return status;
    }
    let renamed: Vec<(String, String)> = violations
        .into_iter()
        .map(|(field, description)| match field.strip_prefix(from) {
            Some(rest) => (format!("{to}{rest}"), description),
            None => (field, description),
        })
        .collect();
    status::validation(&renamed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violation_paths_are_renamed() {
        let status = status::validation(&[("lines[2].quantity".into(), "must be 1..=1000".into())]);
        let renamed = rename_violations(status, "lines", "items");
        assert_eq!(
            status::violations(&renamed),
            vec![("items[2].quantity".into(), "must be 1..=1000".into())]
        );
    }
}
