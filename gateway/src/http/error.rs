//! The one table from gRPC codes to HTTP statuses, and the pinned error body:
//! `{"error":{"code":"FAILED_PRECONDITION","reason":"OUT_OF_STOCK","message":"..."}}`
//! (plus `fieldViolations` for VALIDATION_FAILED).

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;
use shop_common::status;
use tonic::{Code, Status};

/// The standard gRPC -> HTTP mapping (google.rpc.Code).
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Internal | Code::Unknown | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `UPPER_SNAKE` name of a code, as in the error body.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// A gRPC status as an HTTP error response.
pub struct ApiError(pub Status);

impl From<Status> for ApiError {
    fn from(status: Status) -> Self {
        Self(status)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0;
        let mut error = json!({
            "code": code_name(status.code()),
            "reason": status::reason(&status).unwrap_or_default(),
            "message": status.message(),
        });
        let violations = status::violations(&status);
        if !violations.is_empty() {
            error["fieldViolations"] = violations
                .into_iter()
                .map(|(field, description)| json!({"field": field, "description": description}))
                .collect();
        }
        let mut response = (
            http_status(status.code()),
            axum::Json(json!({ "error": error })),
        )
            .into_response();
        if status.code() == Code::ResourceExhausted {
            // Overloaded: nothing was done, and a second later is a fair time to retry.
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

/// An error the facade itself raises (body, headers) with an explicit HTTP status.
pub fn plain(http: StatusCode, code: Code, reason: &str, message: impl Into<String>) -> Response {
    let body =
        json!({"error": {"code": code_name(code), "reason": reason, "message": message.into()}});
    (http, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overloaded_answers_429_with_retry_after() {
        let overloaded = Status::resource_exhausted("busy");
        let response = ApiError(overloaded).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            response.headers().get(axum::http::header::RETRY_AFTER),
            Some(&axum::http::HeaderValue::from_static("1"))
        );
        let refused = ApiError(Status::failed_precondition("no")).into_response();
        assert!(
            !refused
                .headers()
                .contains_key(axum::http::header::RETRY_AFTER)
        );
    }

    #[test]
    fn pinned_statuses() {
        assert_eq!(http_status(Code::InvalidArgument), StatusCode::BAD_REQUEST);
        assert_eq!(
            http_status(Code::FailedPrecondition),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(http_status(Code::Unauthenticated), StatusCode::UNAUTHORIZED);
        assert_eq!(http_status(Code::PermissionDenied), StatusCode::FORBIDDEN);
        assert_eq!(http_status(Code::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(http_status(Code::Aborted), StatusCode::CONFLICT);
        assert_eq!(
            http_status(Code::ResourceExhausted),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            http_status(Code::Internal),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            http_status(Code::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            http_status(Code::DeadlineExceeded),
            StatusCode::GATEWAY_TIMEOUT
        );
    }
}
