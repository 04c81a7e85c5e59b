//! JSON bodies: the facade's checks on a request body (content type, size,
//! well-formed JSON, an object), and contract messages as JSON responses (proto3
//! JSON by the serde impls pbjson generates: camelCase, int64 as a string).

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Map, Value};
use tonic::Code;

use super::error::plain;

/// Largest accepted body. A 100-line order is a few KiB; far larger is refused early.
pub const MAX_BODY: usize = 256 * 1024;

/// The body as a JSON object. An empty body is an empty object (so
/// `POST /v1/orders/{id}/pay` needs no body).
pub async fn object(req: Request) -> Result<Map<String, Value>, Response> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    let bytes = Bytes::from_request(req, &()).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                Code::InvalidArgument,
                "VALIDATION_FAILED",
                format!("body is larger than {MAX_BODY} bytes"),
            )
        } else {
            invalid("cannot read the body")
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let is_json = content_type
        .as_deref()
        .is_some_and(|ct| ct == "application/json" || ct.starts_with("application/json;"));
    if !is_json {
        return Err(plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::InvalidArgument,
            "VALIDATION_FAILED",
            "send the body as Content-Type: application/json",
        ));
    }
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(invalid("the body must be a JSON object")),
        Err(err) => Err(invalid(format!("invalid JSON body: {err}"))),
    }
}

fn invalid(message: impl Into<String>) -> Response {
    plain(
        StatusCode::BAD_REQUEST,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
        message,
    )
}

/// A contract message as a JSON response with the given status.
pub fn respond<T: Serialize>(status: StatusCode, message: &T) -> Response {
    match serde_json::to_vec(message) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "cannot encode response");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                Code::Internal,
                "INTERNAL",
                "internal error",
            )
        }
    }
}
