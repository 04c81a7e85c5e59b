//! The OpenAPI 3.1 document of the facade, made at start from the route table and
//! the contract's descriptors (never written by hand, so it cannot drift from what
//! is served), and served at `/v1/openapi.json`.
//!
//! - [`schema`]: the messages' JSON Schemas.
//! - [`fixed`]: what is not made from descriptors (error body, health, readiness).

mod fixed;
mod schema;
#[cfg(test)]
mod tests;

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

use super::{
    AppState,
    descriptors::comment,
    route::{Access, Route, Rpc, Target},
};
pub use schema::Schemas;

pub const PATH: &str = "/v1/openapi.json";

/// OpenAPI links: where the ids in an answer lead (from, to, the path parameter of
/// `to`, the JSON pointer into the answer). They let a client, and schemathesis's
/// stateful phase, follow a new order or product to the operations on it.
const LINKS: &[(&str, &str, &str, &str)] = &[
    ("PlaceOrder", "GetOrder", "id", "/id"),
    ("PlaceOrder", "PayOrder", "id", "/id"),
    ("PlaceOrder", "CancelOrder", "id", "/id"),
    ("Checkout", "GetOrder", "id", "/id"),
    ("Checkout", "CancelOrder", "id", "/id"),
    ("Checkout", "MarkShipped", "id", "/id"),
    ("Checkout", "MarkDelivered", "id", "/id"),
    ("Checkout", "ConfirmReceipt", "id", "/id"),
    ("MarkDelivered", "ConfirmReceipt", "id", "/id"),
    ("ListOrders", "GetOrder", "id", "/orders/0/id"),
    ("CreateProduct", "GetProduct", "id", "/id"),
    ("CreateProduct", "AdjustStock", "id", "/id"),
    ("ListProducts", "GetProduct", "id", "/products/0/id"),
    ("GetWallet", "TopUpPoints", "user_id", "/userId"),
    ("ListSagas", "GetSaga", "id", "/sagas/0/id"),
    ("ListSagas", "RetrySaga", "id", "/sagas/0/id"),
    ("RetrySaga", "GetSaga", "id", "/id"),
];

/// Routes outside the RPCs that the document describes.
#[derive(Debug, Clone, Copy)]
pub enum Plain {
    Health,
    Readiness,
    Document,
}

/// Serves the document made at start.
pub async fn serve(State(s): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        s.openapi.clone(),
    )
        .into_response()
}

/// The document of `routes`.
pub fn document(routes: &[Route]) -> Result<Value, String> {
    let mut schemas = Schemas::default();
    schemas.insert("Error", fixed::error_schema());
    schemas.insert("Readiness", fixed::readiness_schema());
    let mut paths = Map::new();
    for route in routes {
        let operation = match &route.target {
            Target::Rpc(rpc) => rpc_operation(route, rpc, &mut schemas)?,
            Target::Plain { doc: Some(plain) } => fixed::plain_operation(*plain),
            Target::Plain { doc: None } => continue,
        };
        let item = paths
            .entry(route.path)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(item) = item.as_object_mut() {
            item.insert(route.method.as_str().to_ascii_lowercase(), operation);
        }
    }
    Ok(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Checkout REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The REST facade of the checkout gateway: the proto3 JSON mapping of \
                shop.gateway.v1.ShopService and AdminService (camelCase fields; int64 as a string, \
                a number is accepted too). Every request may carry an x-request-id (a UUID, echoed; \
                otherwise a new one is made and returned). Errors are \
                {\"error\":{\"code\",\"reason\",\"message\"}}.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "tags": [
            {"name": "ShopService", "description": "What a shopper does (a user's token)."},
            {"name": "AdminService", "description": "What an operator does (an admin's token)."},
            {"name": "Operations", "description": "Health, readiness and this document."},
        ],
        "paths": paths,
        "components": {
            "schemas": schemas.into_components(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "HS256 with claims sub (the user id), role (user or admin) \
                        and exp; `shopctl token` mints one.",
                },
            },
            "parameters": {
                "IdempotencyKey": {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": false,
                    "description": "Makes a retry safe: the same key (per caller) with the same \
                        request answers as the first time did (with Idempotent-Replayed: true); \
                        with another request it is IDEMPOTENCY_KEY_REUSED. Kept 24 h.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
                },
                "RequestId": {
                    "name": "x-request-id",
                    "in": "header",
                    "required": false,
                    "description": "A UUID is kept, sent on to every internal call and echoed; \
                        anything else is replaced by a new id.",
                    "schema": {"type": "string"},
                },
            },
            "headers": {
                "RequestId": {
                    "description": "The request's id (quote it to support).",
                    "required": true,
                    "schema": {"type": "string", "format": "uuid"},
                },
                "IdempotentReplayed": {
                    "description": "Present on an answer replayed for an idempotency key.",
                    "schema": {"type": "string", "enum": ["true"]},
                },
                "RetryAfter": {
                    "description": "Seconds to wait before retrying.",
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                },
            },
            "responses": fixed::error_responses(),
        },
    }))
}

fn rpc_operation(route: &Route, rpc: &Rpc, schemas: &mut Schemas) -> Result<Value, String> {
    let method = &rpc.descriptor;
    let service = method.parent_service();
    let input = method.input();
    let mut parameters = Vec::new();
    for (param, field_name) in rpc.path_fields {
        let field = input
            .get_field_by_name(field_name)
            .ok_or_else(|| format!("{}: no field {field_name}", route.path))?;
        let mut schema = schemas.field(&field)?;
        if let Some(object) = schema.as_object_mut() {
            // Every path parameter is an id (the services validate it as one).
            object.insert("format".into(), json!("uuid"));
        }
        parameters.push(json!({"name": param, "in": "path", "required": true, "schema": schema}));
    }
    let skip: Vec<&str> = rpc.path_fields.iter().map(|(_, f)| *f).collect();
    let mut request_body = None;
    if rpc.has_body(&route.method) {
        let body = schemas.object(&input, &skip)?;
        if body["properties"]
            .as_object()
            .is_some_and(|p| !p.is_empty())
        {
            request_body = Some(json!({
                "required": false,
                "content": {"application/json": {"schema": body}},
            }));
        }
    } else {
        for field in input.fields().filter(|f| !skip.contains(&f.name())) {
            let mut schema = schemas.field(&field)?;
            if let prost_reflect::Kind::Enum(e) = field.kind() {
                schema = query_enum(&e, schema);
            }
            if matches!(field.kind(), prost_reflect::Kind::Message(_)) {
                return Err(format!(
                    "{}: {} is a message and cannot be a query parameter",
                    route.path,
                    field.name()
                ));
            }
            parameters.push(json!({"name": field.json_name(), "in": "query", "required": false, "schema": schema}));
        }
    }
    if rpc.keyed {
        parameters.push(json!({"$ref": "#/components/parameters/IdempotencyKey"}));
    }
    parameters.push(json!({"$ref": "#/components/parameters/RequestId"}));

    let mut ok_headers = json!({"x-request-id": {"$ref": "#/components/headers/RequestId"}});
    if rpc.keyed {
        ok_headers["Idempotent-Replayed"] =
            json!({"$ref": "#/components/headers/IdempotentReplayed"});
    }
    let mut ok_response = json!({
        "description": rpc.ok.canonical_reason().unwrap_or("OK"),
        "headers": ok_headers,
        "content": {"application/json": {"schema": schemas.message(&method.output())?}},
    });
    let links: Map<String, Value> = LINKS
        .iter()
        .filter(|(from, ..)| *from == method.name())
        .map(|(_, to, param, pointer)| {
            let link = json!({"operationId": to, "parameters": {*param: format!("$response.body#{pointer}")}});
            ((*to).to_owned(), link)
        })
        .collect();
    if !links.is_empty() {
        ok_response["links"] = Value::Object(links);
    }
    let mut responses = Map::new();
    responses.insert(rpc.ok.as_u16().to_string(), ok_response);
    for status in rpc_errors(route, rpc) {
        responses.insert(
            status.to_string(),
            json!({"$ref": format!("#/components/responses/{status}")}),
        );
    }
    let summary = comment(&method.parent_file(), method.path())
        .unwrap_or_else(|| format!("{}.{}", service.name(), method.name()));
    let who = match rpc.access {
        Access::Admin => "Needs an admin token.",
        Access::User => "Needs a user's (or an admin's) token.",
        Access::Public => "Needs no token.",
    };
    let mut operation = json!({
        "operationId": method.name(),
        "tags": [service.name()],
        "summary": summary,
        "description": format!("{who} gRPC: {}/{}.", service.full_name(), method.name()),
        "x-grpc-method": format!("{}/{}", service.full_name(), method.name()),
        "parameters": parameters,
        "responses": responses,
    });
    if let Some(body) = request_body {
        operation["requestBody"] = body;
    }
    if rpc.access == Access::Public {
        operation["security"] = json!([]);
    }
    Ok(operation)
}

/// The error statuses an RPC route may answer, in order.
pub fn rpc_errors(route: &Route, rpc: &Rpc) -> Vec<u16> {
    let mut statuses = vec![400, 500, 503, 504];
    if rpc.access != Access::Public {
        statuses.push(401);
    }
    if rpc.has_body(&route.method) {
        statuses.extend([413, 415]);
    }
    statuses.extend_from_slice(rpc.may);
    statuses.sort_unstable();
    statuses.dedup();
    statuses
}

/// A query parameter's enum also takes the short name (`STUCK`).
fn query_enum(e: &prost_reflect::EnumDescriptor, schema: Value) -> Value {
    let prefix = super::bind::enum_prefix(e);
    let mut names: Vec<String> = e.values().map(|v| v.name().to_owned()).collect();
    names.extend(
        e.values()
            .filter_map(|v| v.name().strip_prefix(&prefix).map(str::to_owned)),
    );
    let description = schema.get("description").cloned();
    let mut out = json!({"type": "string", "enum": names});
    if let Some(d) = description {
        out["description"] = d;
    }
    out
}
