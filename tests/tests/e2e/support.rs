//! Small helpers shared by the end-to-end tests.

use std::time::Duration;

use shop_common::status;
use shop_proto::common::OrderStatus;
use shop_proto::gateway::Order;
use tonic::{Code, Status};

/// Asserts a status code and reason.
#[track_caller]
pub fn assert_error(
    result: Result<impl std::fmt::Debug, Status>,
    code: Code,
    reason: &str,
) -> Status {
    let status = result.expect_err("expected an error");
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(
        status::reason(&status).as_deref(),
        Some(reason),
        "{status:?}"
    );
    status
}

pub fn status_of(order: &Order) -> OrderStatus {
    order.status()
}

/// Polls `check` every 100 ms until it holds or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asserts INVALID_ARGUMENT with VALIDATION_FAILED and a field violation whose path
/// starts with `field`.
#[track_caller]
pub fn assert_invalid(result: Result<impl std::fmt::Debug, Status>, field: &str) -> Status {
    let status = assert_error(result, Code::InvalidArgument, "VALIDATION_FAILED");
    let violations = status::violations(&status);
    assert!(
        violations.iter().any(|(path, _)| path.starts_with(field)),
        "expected a violation of {field:?}, got {violations:?}"
    );
    status
}
