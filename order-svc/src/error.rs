//! The one error type of order-svc and its single mapping to a gRPC status.

use crate::domain::{OrderId, ProductId, Refusal, SagaId};
use shop_common::{db, internal::Internal, status};
use shop_proto::common::ErrorReason;
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: `(field, description)` pairs. Nothing was changed.
    #[error("invalid request")]
    Invalid(Vec<(String, String)>),
    #[error("product {0} not found")]
    ProductNotFound(ProductId),
    #[error("order {0} not found")]
    OrderNotFound(OrderId),
    #[error("{0}")]
    OutOfStock(String),
    #[error("order {0} already exists for another user")]
    OrderIdTaken(OrderId),
    #[error(
        "you have {open} unpaid orders open, the most allowed is {max}: pay or cancel one first"
    )]
    TooManyOpenOrders { open: i64, max: u32 },
    /// A keyed admin write repeated with other values.
    #[error("{0}")]
    RequestKeyReused(String),
    /// ReserveStock after ReleaseStock of the same saga (a hanging reserve).
    #[error("stock of order {order_id} for saga {saga_id} was already released; reserve refused")]
    ReservationReleased { order_id: OrderId, saga_id: SagaId },
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl Error {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::Invalid(vec![(field.into(), description.into())])
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        use Code::{Aborted, FailedPrecondition, NotFound};
        let message = err.to_string();
        match err {
            Error::Invalid(violations) => status::validation(&violations),
            Error::ProductNotFound(_) => {
                status::error(NotFound, ErrorReason::ProductNotFound, message)
            }
            Error::OrderNotFound(_) => status::error(NotFound, ErrorReason::OrderNotFound, message),
            Error::OutOfStock(_) => {
                status::error(FailedPrecondition, ErrorReason::OutOfStock, message)
            }
            Error::OrderIdTaken(_) => {
                status::error(Aborted, ErrorReason::IdempotencyKeyReused, message)
            }
            Error::TooManyOpenOrders { .. } => {
                status::error(FailedPrecondition, ErrorReason::TooManyOpenOrders, message)
            }
            Error::RequestKeyReused(_) => status::error(
                FailedPrecondition,
                ErrorReason::IdempotencyKeyReused,
                message,
            ),
            Error::ReservationReleased { .. } => {
                status::error(Aborted, ErrorReason::InvalidState, message)
            }
            Error::Refused(refusal) => {
                let (code, reason) = refusal_code(refusal);
                status::error(code, reason, message)
            }
            Error::Database(source) if db::is_unavailable(&source) => {
                db::count_timeout(&source);
                status::unavailable("the order database", &source)
            }
            Error::Database(source) => status::internal("database query failed", &source),
            Error::Internal(err) => err.status(),
        }
    }
}

fn refusal_code(refusal: Refusal) -> (Code, ErrorReason) {
    use Code::{Aborted, FailedPrecondition};
    match refusal {
        Refusal::Expired => (FailedPrecondition, ErrorReason::OrderExpired),
        Refusal::NotPayable(_) => (FailedPrecondition, ErrorReason::OrderNotPayable),
        Refusal::NotCancellable(_) => (FailedPrecondition, ErrorReason::OrderNotCancellable),
        Refusal::HeldByAnotherSaga => (Aborted, ErrorReason::PaymentInProgress),
        Refusal::SagaAborted => (Aborted, ErrorReason::InvalidState),
        Refusal::AlreadyPaid | Refusal::StockStillReserved | Refusal::Illegal { .. } => {
            (FailedPrecondition, ErrorReason::InvalidState)
        }
    }
}
