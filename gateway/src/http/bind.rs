//! A request message from an HTTP request, in the proto3 JSON mapping: the path
//! parameters and the query parameters become fields of the request (typed by its
//! descriptor), merged into the JSON body, and pbjson decodes the whole. So the
//! facade takes exactly the fields the contract has, where the OpenAPI document says.

use axum::{
    extract::{Query, Request},
    http::StatusCode,
    response::Response,
};
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tonic::Code;

use super::{error::plain, json};

/// Where the fields of one route's request message come from.
#[derive(Clone)]
pub struct Binding {
    message: MessageDescriptor,
    /// Path parameter -> field (proto name).
    path_fields: &'static [(&'static str, &'static str)],
    /// A JSON body (POST); otherwise query parameters.
    body: bool,
}

impl Binding {
    pub fn new(
        message: MessageDescriptor,
        path_fields: &'static [(&'static str, &'static str)],
        body: bool,
    ) -> Self {
        Self {
            message,
            path_fields,
            body,
        }
    }

    /// The request message; a request that does not fit is answered here in the
    /// pinned error body.
    pub async fn message<T: DeserializeOwned>(&self, request: Request) -> Result<T, Response> {
        let (mut parts, body) = request.into_parts();
        let params = if self.path_fields.is_empty() {
            Vec::new()
        } else {
            use axum::extract::FromRequestParts;
            axum::extract::Path::<Vec<(String, String)>>::from_request_parts(&mut parts, &())
                .await
                .map_err(|rejection| invalid(rejection.body_text()))?
                .0
        };
        let query = match parts.uri.query() {
            Some(q) if !q.is_empty() => {
                Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
                    .map_err(|rejection| invalid(rejection.body_text()))?
                    .0
            }
            _ => Vec::new(),
        };
        let mut fields = if self.body {
            json::object(Request::from_parts(parts, body)).await?
        } else {
            Map::new()
        };
        for (name, raw) in query {
            self.put_query(&mut fields, &name, &raw).map_err(invalid)?;
        }
        // The path names the resource: it wins over the same field in the body.
        for (param, raw) in params {
            let Some(field) = self.path_field(&param) else {
                tracing::error!(param, "a path parameter of the route table names no field");
                return Err(plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Code::Internal,
                    "INTERNAL",
                    "internal error",
                ));
            };
            fields.insert(field.json_name().to_owned(), Value::String(raw));
        }
        serde_json::from_value(Value::Object(fields))
            .map_err(|err| invalid(format!("invalid request: {err}")))
    }

    /// The field a path parameter fills.
    fn path_field(&self, param: &str) -> Option<FieldDescriptor> {
        self.path_fields
            .iter()
            .find(|(p, _)| *p == param)
            .and_then(|(_, field)| self.message.get_field_by_name(field))
    }

    /// The field a query parameter names (by its JSON or proto name), if the route
    /// takes it from the query.
    pub fn query_field(&self, name: &str) -> Option<FieldDescriptor> {
        if self.body {
            return None;
        }
        self.message
            .get_field_by_json_name(name)
            .or_else(|| self.message.get_field_by_name(name))
            .filter(|field| !self.path_fields.iter().any(|(_, f)| *f == field.name()))
    }

    /// Puts a query parameter into `fields`, or says why it does not fit.
    fn put_query(
        &self,
        fields: &mut Map<String, Value>,
        name: &str,
        raw: &str,
    ) -> Result<(), String> {
        let field = self
            .query_field(name)
            .ok_or_else(|| format!("unknown query parameter {name:?}"))?;
        let value = query_value(&field, raw)?;
        let key = field.json_name().to_owned();
        if field.is_list() {
            match fields
                .entry(key)
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                Value::Array(values) => values.push(value),
                _ => return Err(format!("{name} is given twice")),
            }
        } else if fields.insert(key, value).is_some() {
            return Err(format!("{name} is given more than once"));
        }
        Ok(())
    }
}

/// A query parameter as the JSON value of its field. Numbers stay strings (the
/// proto3 JSON mapping takes both); an enum also takes its short name
/// (`state=STUCK` for `SAGA_STATE_STUCK`), any case.
fn query_value(field: &FieldDescriptor, raw: &str) -> Result<Value, String> {
    Ok(match field.kind() {
        Kind::Bool => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => {
                return Err(format!(
                    "{} must be true or false, got {raw:?}",
                    field.json_name()
                ));
            }
        },
        Kind::Enum(e) => {
            let upper = raw.to_ascii_uppercase();
            let name = [upper.clone(), format!("{}{upper}", enum_prefix(&e))]
                .into_iter()
                .find(|candidate| e.get_value_by_name(candidate).is_some())
                .unwrap_or_else(|| raw.to_owned());
            Value::String(name)
        }
        Kind::Message(_) => {
            return Err(format!(
                "{} cannot be given as a query parameter",
                field.json_name()
            ));
        }
        _ => Value::String(raw.to_owned()),
    })
}

/// `SAGA_STATE_` for `SagaState`: the prefix the style guide gives enum values.
pub fn enum_prefix(e: &prost_reflect::EnumDescriptor) -> String {
    let mut prefix = String::new();
    for (i, c) in e.name().chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            prefix.push('_');
        }
        prefix.push(c.to_ascii_uppercase());
    }
    prefix.push('_');
    prefix
}

fn invalid(message: impl Into<String>) -> Response {
    plain(
        StatusCode::BAD_REQUEST,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
        message,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::descriptors;

    #[test]
    fn enum_prefixes_follow_the_value_names() {
        let e = descriptors::pool()
            .get_enum_by_name("shop.gateway.v1.SagaState")
            .unwrap();
        assert_eq!(enum_prefix(&e), "SAGA_STATE_");
        let field = descriptors::pool()
            .get_message_by_name("shop.gateway.v1.ListSagasRequest")
            .unwrap()
            .get_field_by_name("state")
            .unwrap();
        for raw in ["STUCK", "stuck", "SAGA_STATE_STUCK"] {
            assert_eq!(
                query_value(&field, raw).unwrap(),
                Value::String("SAGA_STATE_STUCK".into())
            );
        }
        assert_eq!(
            query_value(&field, "nope").unwrap(),
            Value::String("nope".into()),
            "left for the decoder to refuse"
        );
    }
}
