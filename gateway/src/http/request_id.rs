//! `x-request-id` on every request and response: the caller's when it is a UUID (the
//! id the gateway already passes to every internal call, see
//! [`crate::clients::Deadline::from_metadata`]), else a new one, echoed in the
//! response so that a user can quote it.

use axum::{
    Router,
    extract::Request,
    http::{HeaderValue, header::HeaderName},
    middleware::Next,
    response::Response,
};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use uuid::Uuid;

use super::AppState;

const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps every route of `router` (its fallbacks too).
pub fn layer(router: Router<AppState>) -> Router<AppState> {
    router
        .layer(PropagateRequestIdLayer::new(HEADER))
        .layer(SetRequestIdLayer::new(HEADER, NewId))
        .layer(axum::middleware::from_fn(drop_unless_uuid))
}

/// A caller's id that is not a UUID is dropped, so that a new one is made: the logs
/// of all four services are joined by it, and only a UUID travels that far.
async fn drop_unless_uuid(mut request: Request, next: Next) -> Response {
    let sane = request
        .headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| Uuid::try_parse(v).is_ok());
    if !sane {
        request.headers_mut().remove(&HEADER);
    }
    next.run(request).await
}

/// New ids are UUIDv7, as the gateway makes them elsewhere.
#[derive(Clone, Copy)]
struct NewId;

impl MakeRequestId for NewId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&Uuid::now_v7().to_string())
            .ok()
            .map(RequestId::new)
    }
}
