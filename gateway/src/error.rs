//! What a public call can end with, and the one mapping of it to `tonic::Status`
//! (code, `ErrorInfo` reason, message). The REST facade maps that status on to HTTP
//! in `http/error.rs`; nothing else in the gateway builds a public status.

use std::time::Duration;

use crate::ids::{OrderId, SagaId};
use shop_common::{db, status};
use shop_proto::common::{ErrorReason, OrderStatus};
use tonic::{Code, Status};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Already in its public form: a service's business refusal (its reason passes
    /// through) or bad input collected by `Violations`.
    #[error("{}", .0.message())]
    Answer(Status),
    /// Bad input: (field, what is wrong) pairs (INVALID_ARGUMENT, VALIDATION_FAILED).
    #[error("invalid request")]
    Invalid(Vec<(String, String)>),
    /// An internal call whose outcome is unknown; its cause is logged, never sent.
    #[error("{service}: {}", .cause.message())]
    Dependency {
        service: &'static str,
        cause: Status,
    },
    /// The gateway's own database (saga log, idempotency keys, audit trail, parked
    /// events): UNAVAILABLE when it cannot answer now, INTERNAL when the query failed.
    #[error("{what}: {source}")]
    Database {
        what: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("this call needs the admin role")]
    AdminOnly,
    /// The caller's writes are over the per-user rate.
    #[error("rate limited")]
    RateLimited { retry_after: Duration },
    /// Too many checkouts (or requests) at once; nothing was done.
    #[error("overloaded: {0}")]
    Overloaded(&'static str),
    #[error("the gateway is shutting down")]
    ShuttingDown,
    #[error("order {0} not found")]
    OrderNotFound(OrderId),
    #[error("saga {0} not found")]
    SagaNotFound(SagaId),
    /// A saga holds the order right now.
    #[error("the order is being paid")]
    PaymentInProgress,
    #[error("an order that is {} cannot be paid", .0.as_str_name())]
    NotPayable(OrderStatus),
    #[error("an order that is {} cannot be cancelled", .0.as_str_name())]
    NotCancellable(OrderStatus),
    #[error("an order that is {} cannot be received", .0.as_str_name())]
    NotReceivable(OrderStatus),
    #[error("order {order_id} has no delivery: it is {}", .status.as_str_name())]
    NoDelivery {
        order_id: OrderId,
        status: OrderStatus,
    },
    #[error("only a STUCK saga can be retried; this one is {0}")]
    NotStuck(&'static str),
    #[error("idempotency key reused with another request")]
    KeyReused,
    #[error("idempotency key in use")]
    KeyInUse,
    /// The delivery details expired before the charge: nothing was charged.
    #[error("delivery hold expired before payment")]
    HoldExpired,
    /// The delivery details were lost after the charge: refunded, the order failed.
    #[error("delivery hold lost after payment")]
    HoldLost,
    /// A saga step refused in a way the saga cannot go on from.
    #[error("{0}")]
    InvalidState(String),
    /// Another gateway instance took the saga over.
    #[error("the saga's lease was lost")]
    LeaseLost,
    /// A promise broken inside the gateway or by a service's answer (a validated
    /// field missing, an order without its user id): logged, INTERNAL.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn database(what: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
        move |source| Error::Database { what, source }
    }

    /// One bad field.
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        Error::Invalid(vec![(field.to_owned(), description.into())])
    }

    pub fn internal(what: impl Into<String>) -> Self {
        Error::Internal(what.into())
    }

    /// An error that says nothing about the business: the request may have done its
    /// work or not (a retry with its idempotency key may take over).
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Error::Answer(status) => matches!(
                status.code(),
                Code::Unavailable
                    | Code::DeadlineExceeded
                    | Code::Cancelled
                    | Code::Unknown
                    | Code::Internal
            ),
            Error::Dependency { .. }
            | Error::Database { .. }
            | Error::ShuttingDown
            | Error::LeaseLost
            | Error::Internal(_) => true,
            _ => false,
        }
    }

    /// A required field that validation passed but is not there.
    pub fn validated_but_missing(field: &str) -> Self {
        Error::Internal(format!("a validated {field} is missing"))
    }
}

impl Error {
    /// The public status (see [`From<Error> for Status`](#impl-From<Error>-for-Status)).
    pub fn into_status(self) -> Status {
        self.into()
    }
}

impl From<Status> for Error {
    fn from(status: Status) -> Self {
        Error::Answer(status)
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Status {
        use Code::*;
        use ErrorReason as R;
        let message = err.to_string();
        match err {
            Error::Answer(status) => status,
            Error::Invalid(violations) => status::validation(&violations),
            Error::Dependency { service, cause } => unknown_to_public(service, &cause),
            Error::Database { what, source } => {
                db::count_timeout(&source);
                if db::is_unavailable(&source) {
                    status::unavailable(what, &source)
                } else {
                    status::internal(what, &source)
                }
            }
            Error::Unauthenticated(_) => {
                status::error(Unauthenticated, R::Unauthenticated, message)
            }
            Error::AdminOnly => status::error(PermissionDenied, R::PermissionDenied, message),
            Error::RateLimited { retry_after } => status::error(
                ResourceExhausted,
                R::RateLimited,
                format!(
                    "too many writes in a short time; nothing was done, try again in {} ms",
                    retry_after.as_millis().max(1)
                ),
            ),
            Error::Overloaded(what) => status::error(
                ResourceExhausted,
                R::Overloaded,
                format!("{what}; nothing was done, try again shortly"),
            ),
            Error::ShuttingDown => Status::unavailable(message),
            Error::OrderNotFound(_) => status::error(NotFound, R::OrderNotFound, message),
            Error::SagaNotFound(_) => status::error(NotFound, R::NotFound, message),
            Error::PaymentInProgress => status::error(
                Aborted,
                R::PaymentInProgress,
                "the order is being paid right now; try again in a moment",
            ),
            Error::NotPayable(OrderStatus::Expired) => {
                status::error(FailedPrecondition, R::OrderExpired, "the order has expired")
            }
            Error::NotPayable(_) => status::error(FailedPrecondition, R::OrderNotPayable, message),
            Error::NotCancellable(other) => status::error(
                FailedPrecondition,
                R::OrderNotCancellable,
                format!(
                    "an order in state {} cannot be cancelled",
                    other.as_str_name()
                ),
            ),
            Error::NotReceivable(other) => status::error(
                FailedPrecondition,
                R::InvalidState,
                format!(
                    "only a paid order can be received; this one is {}",
                    other.as_str_name()
                ),
            ),
            Error::NoDelivery { .. } | Error::NotStuck(_) | Error::InvalidState(_) => {
                status::error(FailedPrecondition, R::InvalidState, message)
            }
            Error::KeyReused => status::error(
                FailedPrecondition,
                R::IdempotencyKeyReused,
                "this idempotency key was used with a different request",
            ),
            Error::KeyInUse => status::error(
                Aborted,
                R::IdempotencyKeyInUse,
                "a request with this idempotency key is still running; retry later",
            ),
            Error::HoldExpired => status::error(
                FailedPrecondition,
                R::DeliveryHoldExpired,
                "the delivery details of this order expired before payment; nothing was charged, place the order again",
            ),
            Error::HoldLost => status::error(
                FailedPrecondition,
                R::DeliveryHoldExpired,
                "the delivery details of this order were lost after payment; the points were refunded and the order failed",
            ),
            Error::LeaseLost => status::error(
                Unavailable,
                R::Unavailable,
                "the payment is being finished elsewhere; look at the order again shortly",
            ),
            Error::Internal(what) => {
                tracing::error!(error = %what, "internal error");
                status::error(Internal, R::Internal, "internal error")
            }
        }
    }
}

/// How an unknown outcome is told to a public caller.
fn unknown_to_public(dependency: &str, cause: &Status) -> Status {
    match cause.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            tracing::warn!(dependency, code = ?cause.code(), message = cause.message(), "dependency failed");
            let code = if cause.code() == Code::DeadlineExceeded {
                Code::DeadlineExceeded
            } else {
                Code::Unavailable
            };
            status::error(
                code,
                ErrorReason::Unavailable,
                format!("{dependency} is unavailable, try again"),
            )
        }
        _ => {
            tracing::error!(dependency, code = ?cause.code(), message = cause.message(), "dependency error");
            status::error(Code::Internal, ErrorReason::Internal, "internal error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(err: Error) -> (Code, Option<String>) {
        let status = Status::from(err);
        (status.code(), status::reason(&status))
    }

    #[test]
    fn a_broken_query_is_internal_and_a_lost_connection_unavailable() {
        let (code, _) = reason(Error::database("the saga log")(sqlx::Error::RowNotFound));
        assert_eq!(code, Code::Internal);
        let (code, _) = reason(Error::database("the saga log")(sqlx::Error::PoolTimedOut));
        assert_eq!(code, Code::Unavailable);
    }

    #[test]
    fn business_errors_carry_their_reason() {
        let cases = [
            (
                Error::PaymentInProgress,
                Code::Aborted,
                "PAYMENT_IN_PROGRESS",
            ),
            (
                Error::NotPayable(OrderStatus::Expired),
                Code::FailedPrecondition,
                "ORDER_EXPIRED",
            ),
            (
                Error::NotPayable(OrderStatus::Failed),
                Code::FailedPrecondition,
                "ORDER_NOT_PAYABLE",
            ),
            (Error::KeyInUse, Code::Aborted, "IDEMPOTENCY_KEY_IN_USE"),
            (
                Error::OrderNotFound(crate::ids::OrderId::generate()),
                Code::NotFound,
                "ORDER_NOT_FOUND",
            ),
        ];
        for (err, code, why) in cases {
            assert_eq!(reason(err), (code, Some(why.to_owned())));
        }
    }

    #[test]
    fn an_answer_passes_through_unchanged() {
        let refused = status::error(
            Code::FailedPrecondition,
            ErrorReason::OutOfStock,
            "none left",
        );
        let status = Status::from(Error::from(refused));
        assert_eq!(status.message(), "none left");
        assert_eq!(status::reason(&status).as_deref(), Some("OUT_OF_STOCK"));
    }
}
