//! Building and reading the error statuses of the shop contract: a gRPC code plus a
//! `google.rpc.ErrorInfo` detail (domain `shop`) whose `reason` names the rule, and a
//! `google.rpc.BadRequest` listing field violations for `VALIDATION_FAILED`.

use std::collections::HashMap;

use shop_proto::common::ErrorReason;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// The `ErrorInfo.domain` of every shop error.
pub const DOMAIN: &str = "shop";

/// A status with a code, a reason and a message meant for the client.
pub fn error(code: Code, reason: ErrorReason, message: impl Into<String>) -> Status {
    let details = ErrorDetails::with_error_info(reason.as_str_name(), DOMAIN, HashMap::new());
    Status::with_error_details(code, message, details)
}

/// `INVALID_ARGUMENT` / `VALIDATION_FAILED` with every field violation.
pub fn validation(violations: &[(String, String)]) -> Status {
    let message = violations
        .iter()
        .map(|(field, description)| format!("{field}: {description}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut details = ErrorDetails::with_error_info(
        ErrorReason::ValidationFailed.as_str_name(),
        DOMAIN,
        HashMap::new(),
    );
    details.set_bad_request(
        violations
            .iter()
            .map(|(field, description)| FieldViolation::new(field, description))
            .collect::<Vec<_>>(),
    );
    Status::with_error_details(
        Code::InvalidArgument,
        format!("invalid request: {message}"),
        details,
    )
}

/// Logs an unexpected failure with its whole cause chain and returns an `INTERNAL`
/// status that tells the client nothing about the cause.
pub fn internal(context: &str, err: &(dyn std::error::Error + 'static)) -> Status {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(error = %chain, "{context}");
    error(Code::Internal, ErrorReason::Internal, "internal error")
}

/// `UNAVAILABLE` for a dependency that cannot be reached; the cause is logged.
pub fn unavailable(what: &str, err: &dyn std::fmt::Display) -> Status {
    tracing::warn!(error = %err, dependency = what, "dependency unavailable");
    error(
        Code::Unavailable,
        ErrorReason::Unavailable,
        format!("{what} is unavailable, try again"),
    )
}

/// The `ErrorInfo.reason` of a status, if it has one.
pub fn reason(status: &Status) -> Option<String> {
    status.get_details_error_info().map(|info| info.reason)
}

/// The field violations of a `VALIDATION_FAILED` status.
pub fn violations(status: &Status) -> Vec<(String, String)> {
    status
        .get_details_bad_request()
        .map(|bad| {
            bad.field_violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_round_trips() {
        let status = error(
            Code::FailedPrecondition,
            ErrorReason::OutOfStock,
            "product x is short",
        );
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(reason(&status).as_deref(), Some("OUT_OF_STOCK"));
        assert_eq!(status.message(), "product x is short");
    }

    #[test]
    fn validation_lists_fields() {
        let status = validation(&[("items[0].quantity".into(), "must be 1..=1000".into())]);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(reason(&status).as_deref(), Some("VALIDATION_FAILED"));
        assert_eq!(
            violations(&status),
            vec![(
                "items[0].quantity".to_string(),
                "must be 1..=1000".to_string()
            )]
        );
    }

    #[test]
    fn internal_hides_the_cause() {
        let cause = std::io::Error::other("password=secret");
        let status = internal("db failed", &cause);
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"));
    }
}
