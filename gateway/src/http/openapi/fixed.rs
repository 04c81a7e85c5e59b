//! The parts of the document not made from descriptors: the operations of the
//! routes the facade answers itself (health, readiness, the document), the error
//! body and the readiness report, and one response object per error status.

use serde_json::{Map, Value, json};

use super::Plain;

pub fn plain_operation(plain: Plain) -> Value {
    let request_id = json!({"x-request-id": {"$ref": "#/components/headers/RequestId"}});
    let (id, summary, responses) = match plain {
        Plain::Health => (
            "Health",
            "Liveness: the gateway process answers.",
            json!({"200": {
                "description": "Alive",
                "headers": request_id,
                "content": {"text/plain": {"schema": {"type": "string", "const": "ok"}}},
            }}),
        ),
        Plain::Readiness => {
            let report =
                json!({"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}});
            (
                "Readiness",
                "Readiness: the gateway's database and the three services answer.",
                json!({
                    "200": {"description": "Ready", "headers": request_id, "content": report},
                    "503": {"description": "Not ready", "headers": request_id, "content": report},
                }),
            )
        }
        Plain::Document => (
            "OpenApi",
            "This document.",
            json!({"200": {
                "description": "The OpenAPI 3.1 document",
                "headers": request_id,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }}),
        ),
    };
    json!({
        "operationId": id,
        "tags": ["Operations"],
        "summary": summary,
        "security": [],
        "parameters": [{"$ref": "#/components/parameters/RequestId"}],
        "responses": responses,
    })
}

pub fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "reason", "message"],
            "properties": {
                "code": {"type": "string", "description": "The gRPC status code's name, e.g. FAILED_PRECONDITION."},
                "reason": {"type": "string", "description": "The ErrorReason, e.g. OUT_OF_STOCK (empty when none)."},
                "message": {"type": "string"},
                "fieldViolations": {
                    "type": "array",
                    "description": "With VALIDATION_FAILED: what is wrong with which field.",
                    "items": {
                        "type": "object",
                        "required": ["field", "description"],
                        "properties": {"field": {"type": "string"}, "description": {"type": "string"}},
                    },
                },
            },
        }},
    })
}

pub fn readiness_schema() -> Value {
    json!({
        "type": "object",
        "required": ["ready", "checks"],
        "properties": {
            "ready": {"type": "boolean"},
            "checks": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    })
}

/// `components.responses`: one per error status, keyed by the status.
pub fn error_responses() -> Value {
    let mut responses = Map::new();
    for (status, text) in [
        (
            400,
            "Bad input (INVALID_ARGUMENT; VALIDATION_FAILED lists fieldViolations) or a business rule (FAILED_PRECONDITION: OUT_OF_STOCK, INSUFFICIENT_POINTS, ...)",
        ),
        (401, "No token, or an invalid one (UNAUTHENTICATED)"),
        (403, "The token's role may not do this (PERMISSION_DENIED)"),
        (404, "Not found (another user's order is not found either)"),
        (
            409,
            "A conflict with a request running now (ABORTED: PAYMENT_IN_PROGRESS, IDEMPOTENCY_KEY_IN_USE, ...)",
        ),
        (413, "The body is too large"),
        (415, "The body is not JSON"),
        (
            429,
            "Overloaded (RESOURCE_EXHAUSTED / OVERLOADED): nothing was done; retry after Retry-After seconds",
        ),
        (500, "An internal error (the cause is logged, not sent)"),
        (503, "A dependency is unavailable (UNAVAILABLE)"),
        (504, "The request's deadline passed (DEADLINE_EXCEEDED)"),
    ] {
        let mut headers = json!({"x-request-id": {"$ref": "#/components/headers/RequestId"}});
        if status == 429 {
            headers["Retry-After"] = json!({"$ref": "#/components/headers/RetryAfter"});
        }
        responses.insert(
            status.to_string(),
            json!({
                "description": text,
                "headers": headers,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }),
        );
    }
    Value::Object(responses)
}
