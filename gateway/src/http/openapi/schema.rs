//! JSON Schemas (2020-12, the dialect of OpenAPI 3.1) of the contract's messages in
//! their proto3 JSON form, exactly as pbjson writes and reads them: camelCase names,
//! int64 as a string (a number is accepted too), enums by name, Timestamps as RFC 3339
//! strings, no unknown fields.

use std::collections::BTreeMap;

use prost_reflect::{EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use crate::http::descriptors::comment;

/// The `components.schemas` of the document, filled as messages are referred to.
#[derive(Default)]
pub struct Schemas {
    components: BTreeMap<String, Value>,
    /// Component name -> the full protobuf name it stands for.
    owners: BTreeMap<String, String>,
}

impl Schemas {
    /// `{"$ref": ...}` to a message's schema (made, with what it refers to, on first use).
    pub fn message(&mut self, message: &MessageDescriptor) -> Result<Value, String> {
        if let Some(special) = well_known(message.full_name())? {
            return Ok(special);
        }
        let name = self.claim(message.name(), message.full_name())?;
        if !self.components.contains_key(&name) {
            // A placeholder first: a message may refer to itself.
            self.components.insert(name.clone(), Value::Null);
            let mut schema = self.object(message, &[])?;
            describe(&mut schema, comment(&message.parent_file(), message.path()));
            self.components.insert(name.clone(), schema);
        }
        Ok(reference(&name))
    }

    /// The message's fields as an inline object schema, less `skip` (proto names:
    /// the fields a route takes from its path).
    pub fn object(&mut self, message: &MessageDescriptor, skip: &[&str]) -> Result<Value, String> {
        let mut properties = Map::new();
        for field in message.fields() {
            if skip.contains(&field.name()) {
                continue;
            }
            properties.insert(field.json_name().to_owned(), self.field(&field)?);
        }
        Ok(json!({
            "type": "object",
            "properties": properties,
            // pbjson refuses fields the message does not have.
            "additionalProperties": false,
        }))
    }

    /// One field's schema, with its proto comment as the description.
    pub fn field(&mut self, field: &FieldDescriptor) -> Result<Value, String> {
        let item = self.kind(&field.kind())?;
        let mut schema = if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                return Err(format!("map field {} has no entry type", field.full_name()));
            };
            let value = entry.map_entry_value_field();
            json!({"type": "object", "additionalProperties": self.kind(&value.kind())?})
        } else if field.is_list() {
            json!({"type": "array", "items": item})
        } else {
            item
        };
        let mut text = comment(&field.parent_file(), field.path());
        if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) {
            let members: Vec<String> = oneof.fields().map(|f| f.json_name().to_owned()).collect();
            let rule = format!("At most one of {}.", members.join(", "));
            text = Some(text.map_or(rule.clone(), |t| format!("{t} ({rule})")));
        }
        describe(&mut schema, text);
        Ok(schema)
    }

    fn kind(&mut self, kind: &Kind) -> Result<Value, String> {
        Ok(match kind {
            Kind::Double | Kind::Float => json!({
                "oneOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]
            }),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                json!({"type": "integer", "format": "int32"})
            }
            Kind::Uint32 | Kind::Fixed32 => {
                json!({"type": "integer", "minimum": 0, "maximum": u32::MAX})
            }
            // Written as a string (JSON numbers lose precision past 2^53); read as either.
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => json!({
                "type": ["string", "integer"],
                "format": "int64",
                "pattern": "^-?[0-9]{1,19}$",
                "minimum": i64::MIN,
                "maximum": i64::MAX,
            }),
            Kind::Uint64 | Kind::Fixed64 => json!({
                "type": ["string", "integer"],
                "pattern": "^[0-9]{1,20}$",
                "minimum": 0,
                "maximum": u64::MAX,
            }),
            Kind::Bool => json!({"type": "boolean"}),
            Kind::String => json!({"type": "string"}),
            Kind::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
            Kind::Enum(e) => self.enumeration(e)?,
            Kind::Message(m) => self.message(m)?,
        })
    }

    fn enumeration(&mut self, e: &EnumDescriptor) -> Result<Value, String> {
        let name = self.claim(e.name(), e.full_name())?;
        if !self.components.contains_key(&name) {
            let names: Vec<String> = e.values().map(|v| v.name().to_owned()).collect();
            let mut schema = json!({"type": "string", "enum": names});
            describe(&mut schema, comment(&e.parent_file(), e.path()));
            self.components.insert(name.clone(), schema);
        }
        Ok(reference(&name))
    }

    /// The component name of a type: its short name, unless another type has it.
    fn claim(&mut self, short: &str, full: &str) -> Result<String, String> {
        match self.owners.get(short) {
            Some(owner) if owner != full => Err(format!(
                "{full} and {owner} would share the schema name {short}"
            )),
            Some(_) => Ok(short.to_owned()),
            None => {
                self.owners.insert(short.to_owned(), full.to_owned());
                Ok(short.to_owned())
            }
        }
    }

    /// Adds a hand-written component (the error body, the readiness report).
    pub fn insert(&mut self, name: &str, schema: Value) {
        self.components.insert(name.to_owned(), schema);
    }

    pub fn into_components(self) -> Map<String, Value> {
        self.components.into_iter().collect()
    }
}

/// The JSON form of a well-known type the contract uses, if `full` is one.
fn well_known(full: &str) -> Result<Option<Value>, String> {
    match full {
        "google.protobuf.Timestamp" => Ok(Some(json!({
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339, UTC (written with a Z and 0, 3, 6 or 9 fractional digits)",
        }))),
        other if other.starts_with("google.protobuf.") => Err(format!(
            "{other}: its JSON form is not described yet (see openapi/schema.rs)"
        )),
        _ => Ok(None),
    }
}

pub fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn describe(schema: &mut Value, text: Option<String>) {
    let Some(text) = text else { return };
    if let Some(object) = schema.as_object_mut() {
        if object.contains_key("$ref") {
            // 3.1 allows siblings of $ref; tools show them as the field's description.
            object.insert("description".into(), Value::String(text));
        } else {
            object.entry("description").or_insert(Value::String(text));
        }
    }
}
