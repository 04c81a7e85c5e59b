//! Helpers of the document tests: messages with every field set, and walking
//! schemas and instances side by side.

use std::collections::BTreeSet;

use prost_reflect::{DynamicMessage, Kind, MapKey, MessageDescriptor, Value as Field};
use serde_json::{Value, json};

/// A message with every field set (for each oneof, member `variant`), `depth` deep.
pub fn filled(message: &MessageDescriptor, variant: usize, depth: usize) -> DynamicMessage {
    let mut out = DynamicMessage::new(message.clone());
    if message.full_name() == "google.protobuf.Timestamp" {
        out.set_field_by_name("seconds", Field::I64(1_700_000_000));
        out.set_field_by_name("nanos", Field::I32(120_000_000));
        return out;
    }
    for field in message.fields() {
        if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) {
            let members: Vec<_> = oneof.fields().collect();
            if members[variant % members.len()].name() != field.name() {
                continue;
            }
        }
        let value = if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                unreachable!()
            };
            let key = match entry.map_entry_key_field().kind() {
                Kind::String => MapKey::String("k".into()),
                Kind::Bool => MapKey::Bool(true),
                _ => MapKey::I64(7),
            };
            Field::Map(
                [(
                    key,
                    single(&entry.map_entry_value_field().kind(), variant, depth),
                )]
                .into(),
            )
        } else if field.is_list() {
            Field::List(vec![single(&field.kind(), variant, depth)])
        } else {
            single(&field.kind(), variant, depth)
        };
        out.set_field(&field, value);
    }
    out
}

fn single(kind: &Kind, variant: usize, depth: usize) -> Field {
    match kind {
        Kind::Double => Field::F64(1.5),
        Kind::Float => Field::F32(1.5),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Field::I32(7),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Field::I64(7),
        Kind::Uint32 | Kind::Fixed32 => Field::U32(7),
        Kind::Uint64 | Kind::Fixed64 => Field::U64(7),
        Kind::Bool => Field::Bool(true),
        Kind::String => Field::String("s".into()),
        Kind::Bytes => Field::Bytes(b"b".to_vec().into()),
        Kind::Enum(e) => Field::EnumNumber(
            e.values()
                .map(|v| v.number())
                .find(|n| *n != 0)
                .unwrap_or(0),
        ),
        Kind::Message(m) => {
            assert!(depth < 6, "{} nests too deep", m.full_name());
            Field::Message(filled(m, variant, depth + 1))
        }
    }
}

/// Validates `instance` against `schema` (which may refer into the document).
pub fn valid(doc: &Value, schema: &Value, instance: &Value, what: &str) {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": doc["components"],
        "allOf": [schema],
    });
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("{what}: the schema does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: {instance} does not fit: {errors:#?}"
    );
}

pub fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or(&Value::Null),
        None => schema,
    }
}

/// The property paths of `instance` under `schema` (`/lines/productId`).
pub fn seen_paths(
    doc: &Value,
    schema: &Value,
    instance: &Value,
    prefix: &str,
    out: &mut BTreeSet<String>,
) {
    let schema = resolve(doc, schema);
    match (schema.get("properties"), instance) {
        (Some(properties), Value::Object(fields)) => {
            for (key, value) in fields {
                let path = format!("{prefix}/{key}");
                out.insert(path.clone());
                seen_paths(doc, &properties[key], value, &path, out);
            }
        }
        _ => {
            if let (Some(items), Value::Array(values)) = (schema.get("items"), instance) {
                for value in values {
                    seen_paths(doc, items, value, prefix, out);
                }
            }
        }
    }
}

/// Every property path `schema` describes.
pub fn all_paths(
    doc: &Value,
    schema: &Value,
    prefix: &str,
    depth: usize,
    out: &mut BTreeSet<String>,
) {
    assert!(depth < 8, "schema at {prefix} nests too deep");
    let schema = resolve(doc, schema);
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (key, property) in properties {
            let path = format!("{prefix}/{key}");
            out.insert(path.clone());
            all_paths(doc, property, &path, depth + 1, out);
        }
    } else if let Some(items) = schema.get("items") {
        all_paths(doc, items, prefix, depth + 1, out);
    }
}

pub fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "$ref" {
                    out.extend(v.as_str().map(str::to_owned));
                } else {
                    collect_refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
