//! The one error type of payment-svc and its single mapping to `tonic::Status`.

use shop_common::{db, internal::Internal, status};
use shop_proto::common::ErrorReason;
use tonic::{Code, Status};

use crate::domain::{CouponId, CouponRejection, OrderId, SagaId};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: `(field, description)` pairs. Nothing was changed.
    #[error("invalid request")]
    Invalid(Vec<(String, String)>),

    #[error("not enough points: the balance is {balance} and {due} is due")]
    InsufficientPoints { balance: i64, due: i64 },

    #[error("coupon {coupon_id} cannot be used: {rejection}")]
    CouponInvalid {
        coupon_id: CouponId,
        rejection: CouponRejection,
    },

    #[error(
        "idempotency key already used for a top-up of {first} points (this request: {requested})"
    )]
    IdempotencyKeyReused { first: i64, requested: i64 },

    #[error("this idempotency key already issued coupon {0} with other values")]
    CouponKeyReused(CouponId),

    /// The hanging-charge fence: this saga was refunded (or tombstoned) already.
    #[error("saga {saga_id} of order {order_id} was already compensated; its charge is refused")]
    SagaCompensated { order_id: OrderId, saga_id: SagaId },

    /// Another saga holds the one charged payment the order may have.
    #[error("order {order_id} is already charged by another saga")]
    AlreadyCharged { order_id: OrderId },

    #[error("no payment for order {0}")]
    PaymentNotFound(OrderId),

    #[error("database error")]
    Database(#[from] sqlx::Error),

    /// A bug or a stored row that breaks an invariant the schema should have kept.
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        match err {
            Error::Invalid(violations) => status::validation(&violations),
            Error::InsufficientPoints { .. } => status::error(
                Code::FailedPrecondition,
                ErrorReason::InsufficientPoints,
                message,
            ),
            Error::CouponInvalid { .. } => status::error(
                Code::FailedPrecondition,
                ErrorReason::CouponInvalid,
                message,
            ),
            Error::IdempotencyKeyReused { .. } => status::error(
                Code::FailedPrecondition,
                ErrorReason::IdempotencyKeyReused,
                message,
            ),
            Error::CouponKeyReused(_) => status::error(
                Code::FailedPrecondition,
                ErrorReason::IdempotencyKeyReused,
                message,
            ),
            Error::SagaCompensated { .. } => {
                status::error(Code::Aborted, ErrorReason::InvalidState, message)
            }
            Error::AlreadyCharged { .. } => {
                status::error(Code::Aborted, ErrorReason::PaymentInProgress, message)
            }
            Error::PaymentNotFound(_) => {
                status::error(Code::NotFound, ErrorReason::NotFound, message)
            }
            Error::Database(ref cause) if db::is_unavailable(cause) => {
                db::count_timeout(cause);
                status::unavailable("the payment database", cause)
            }
            Error::Database(ref cause) => status::internal("payment database error", cause),
            Error::Internal(err) => err.status(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_errors_carry_their_reason() {
        let status = Status::from(Error::InsufficientPoints {
            balance: 5,
            due: 10,
        });
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(
            status::reason(&status).as_deref(),
            Some("INSUFFICIENT_POINTS")
        );
        assert!(
            status.message().contains("balance is 5"),
            "{}",
            status.message()
        );
    }

    #[test]
    fn database_causes_are_hidden() {
        let status = Status::from(Error::Database(sqlx::Error::Protocol(
            "secret detail".into(),
        )));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"));
        let status = Status::from(Error::Database(sqlx::Error::PoolTimedOut));
        assert_eq!(status.code(), Code::Unavailable);
    }
}
