//! The order state machine's rules, one decision at a time.

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
