//! The one error type of delivery-svc and its single mapping to `tonic::Status`.

use shop_common::{internal::Internal, status};
use shop_proto::common::ErrorReason;
use tonic::{Code, Status};

use crate::domain::{Action, OrderId, TransitionError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: `(field path, what is wrong)` for every problem found.
    #[error("invalid request")]
    Invalid(Vec<(String, String)>),
    /// No hold for the order (it expired, was released, or never was).
    #[error("hold of order {0} not found")]
    HoldNotFound(OrderId),
    /// No delivery for the order (also another user's delivery).
    #[error("delivery of order {0} not found")]
    DeliveryNotFound(OrderId),
    /// The order is held for another user.
    #[error("the order's delivery info is held for another user")]
    HoldTaken,
    /// No hold (it expired or was released) and no delivery.
    #[error("the delivery hold has expired")]
    HoldExpired,
    /// A late ConfirmDelivery after this saga's CancelDelivery, or after the delivery
    /// was cancelled.
    #[error("the delivery of this order was cancelled")]
    Cancelled,
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("redis is unavailable: {0}")]
    RedisUnavailable(String),
    /// Redis is at its memory limit and refuses writes (it never evicts holds).
    #[error("redis is full: {0}")]
    RedisFull(String),
    /// A hold write reached fewer replicas than HOLD_MIN_REPLICAS in time.
    #[error("the hold reached {acked} replicas, {min} are required")]
    NotReplicated { acked: i64, min: u32 },
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        let precondition =
            |reason, msg: String| status::error(Code::FailedPrecondition, reason, msg);
        match err {
            Error::Invalid(violations) => status::validation(&violations),
            Error::HoldNotFound(_) => {
                status::error(Code::NotFound, ErrorReason::NotFound, "hold not found")
            }
            Error::DeliveryNotFound(_) => {
                status::error(Code::NotFound, ErrorReason::NotFound, "delivery not found")
            }
            Error::HoldTaken => status::error(
                Code::Aborted,
                ErrorReason::InvalidState,
                "the order's delivery info is already held for another user",
            ),
            Error::HoldExpired => precondition(
                ErrorReason::DeliveryHoldExpired,
                "the delivery info of this order is no longer held (it expired or was released)"
                    .into(),
            ),
            Error::Cancelled => precondition(
                ErrorReason::InvalidState,
                "the delivery of this order was cancelled".into(),
            ),
            Error::Transition(TransitionError {
                from,
                action: Action::Cancel,
            }) => precondition(
                ErrorReason::OrderNotCancellable,
                format!("the delivery is {from} and can no longer be cancelled"),
            ),
            Error::Transition(TransitionError { from, action }) => precondition(
                ErrorReason::InvalidState,
                format!("a {from} delivery cannot be {}", verb(action)),
            ),
            Error::RedisUnavailable(cause) => status::unavailable("redis", &cause),
            Error::RedisFull(cause) => {
                tracing::warn!(error = %cause, "redis refuses writes: it is at its memory limit");
                status::error(
                    Code::Unavailable,
                    ErrorReason::Unavailable,
                    "delivery details cannot be held right now; nothing was done, try again later",
                )
            }
            Error::NotReplicated { acked, min } => {
                tracing::warn!(acked, min, "a hold write was not replicated in time");
                status::error(
                    Code::Unavailable,
                    ErrorReason::Unavailable,
                    "the delivery details could not be stored safely; try again",
                )
            }
            Error::Database(err) if shop_common::db::is_unavailable(&err) => {
                shop_common::db::count_timeout(&err);
                status::unavailable("database", &err)
            }
            Error::Database(err) => status::internal("database error", &err),
            Error::Internal(err) => err.status(),
        }
    }
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Ship => "marked shipped",
        Action::Deliver => "marked delivered",
        Action::Receive => "marked received",
        Action::Cancel => "cancelled",
    }
}
