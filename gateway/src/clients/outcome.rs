//! What an internal call's answer means: the one place that decides it.
//!
//! A call that timed out may still complete (every handler runs on after its caller
//! left), so an answer is one of three things: **Done**; **Refused**, a known business
//! refusal of that RPC, and only when no attempt before it was ambiguous; or
//! **Unknown**, everything else (timeouts, UNAVAILABLE, INTERNAL, UNKNOWN, CANCELLED,
//! unexpected refusals, and a refusal that followed an ambiguous attempt of a write).
//! Only Refused is an answer about the business.

use shop_common::status;
use shop_proto::common::ErrorReason;
use tonic::{Code, Status};

use crate::error::Error;

/// A known business refusal of an RPC: nothing was done, and the reason says why.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub reason: ErrorReason,
    /// The service's status, fit to pass to a public caller as it is.
    pub status: Status,
}

impl Refusal {
    pub fn is(&self, reason: ErrorReason) -> bool {
        self.reason == reason
    }
}

#[derive(Debug)]
pub enum Outcome<T> {
    Done(T),
    Refused(Refusal),
    Unknown(Status),
}

impl<T> Outcome<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        match self {
            Outcome::Done(value) => Outcome::Done(f(value)),
            Outcome::Refused(refusal) => Outcome::Refused(refusal),
            Outcome::Unknown(status) => Outcome::Unknown(status),
        }
    }

    /// For a public answer: a refusal passes through with its reason; an unknown
    /// outcome becomes a generic UNAVAILABLE, DEADLINE_EXCEEDED or INTERNAL (its cause
    /// is logged, never sent; see `crate::error`).
    pub fn public(self, service: &'static str) -> Result<T, Error> {
        match self {
            Outcome::Done(value) => Ok(value),
            Outcome::Refused(refusal) => Err(Error::Answer(refusal.status)),
            Outcome::Unknown(cause) => Err(Error::Dependency { service, cause }),
        }
    }
}

/// Codes an attempt is retried on. Every one of them is ambiguous for a write: the
/// server may have acted before it failed, or after we stopped waiting.
pub(crate) fn retryable(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Cancelled
            | Code::Unknown
            | Code::Internal
    )
}

/// Codes a service uses for "no, because of the business rules or the input".
fn business(code: Code) -> bool {
    matches!(
        code,
        Code::InvalidArgument
            | Code::FailedPrecondition
            | Code::NotFound
            | Code::Aborted
            | Code::AlreadyExists
            | Code::OutOfRange
    )
}

/// The reason of `status` when it is one of `known` (or VALIDATION_FAILED, which
/// every RPC answers to bad input) under a business code.
pub(crate) fn known_refusal(status: &Status, known: &[ErrorReason]) -> Option<ErrorReason> {
    if !business(status.code()) {
        return None;
    }
    let reason = status::reason(status).and_then(|r| ErrorReason::from_str_name(&r))?;
    (reason == ErrorReason::ValidationFailed || known.contains(&reason)).then_some(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_business_reasons_are_refusals() {
        let out_of_stock = status::error(Code::FailedPrecondition, ErrorReason::OutOfStock, "no");
        assert_eq!(
            known_refusal(&out_of_stock, &[ErrorReason::OutOfStock]),
            Some(ErrorReason::OutOfStock)
        );
        assert_eq!(
            known_refusal(&out_of_stock, &[ErrorReason::OrderExpired]),
            None
        );
        let internal = status::error(Code::Internal, ErrorReason::OutOfStock, "odd");
        assert_eq!(known_refusal(&internal, &[ErrorReason::OutOfStock]), None);
        let bare = Status::failed_precondition("no reason");
        assert_eq!(known_refusal(&bare, &[ErrorReason::OutOfStock]), None);
        let invalid = status::validation(&[("x".into(), "bad".into())]);
        assert_eq!(
            known_refusal(&invalid, &[]),
            Some(ErrorReason::ValidationFailed)
        );
    }
}
