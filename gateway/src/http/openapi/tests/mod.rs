//! The document against what the facade really does: every public RPC has a route and
//! every route an RPC, and each route's request and answer, filled in every field
//! (of the descriptor) and written by the very serde impls the facade uses, fit the
//! document's schemas exactly: a field on one side only fails here.

mod fill;

use std::collections::BTreeSet;

use prost::Message;
use serde_json::{Value, json};

use super::document;
use crate::http::{descriptors, route::Target, routes::table};
use fill::{all_paths, collect_refs, filled, resolve, seen_paths, valid};

fn doc() -> Value {
    document(&table()).unwrap()
}

#[test]
fn every_public_rpc_has_one_route_and_every_route_an_rpc() {
    let mut rpcs = BTreeSet::new();
    for service in [
        "shop.gateway.v1.ShopService",
        "shop.gateway.v1.AdminService",
    ] {
        let service = descriptors::pool().get_service_by_name(service).unwrap();
        rpcs.extend(service.methods().map(|m| m.full_name().to_owned()));
    }
    let mut routed = BTreeSet::new();
    for route in table() {
        if let Target::Rpc(rpc) = &route.target {
            assert!(
                routed.insert(rpc.descriptor.full_name().to_owned()),
                "{} has two routes",
                rpc.descriptor.full_name()
            );
        }
    }
    assert_eq!(
        rpcs, routed,
        "an RPC without a route, or a route without an RPC"
    );
}

#[test]
fn the_document_has_every_route_and_only_those() {
    let doc = doc();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_ascii_uppercase()));
        }
    }
    let mut expected = BTreeSet::new();
    for route in table() {
        let described = match &route.target {
            Target::Rpc(_) => true,
            Target::Plain { doc } => doc.is_some(),
        };
        if described {
            expected.insert(format!("{} {}", route.method, route.path));
        }
    }
    assert_eq!(documented, expected);
    for pinned in [
        "GET /v1/products",
        "POST /v1/checkout",
        "GET /v1/admin/sagas",
        "GET /healthz",
        "GET /readyz",
        "GET /v1/openapi.json",
    ] {
        assert!(documented.contains(pinned), "{pinned}");
    }
}

#[test]
fn every_reference_resolves() {
    let doc = doc();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 50, "{}", refs.len());
    for r in refs {
        let pointer = r.strip_prefix('#').unwrap();
        assert!(doc.pointer(pointer).is_some(), "dangling {r}");
    }
}

#[test]
fn requests_and_answers_fit_the_document_field_for_field() {
    let doc = doc();
    for route in table() {
        let Target::Rpc(rpc) = &route.target else {
            continue;
        };
        let name = format!("{} {}", route.method, route.path);
        let operation = &doc["paths"][route.path][route.method.as_str().to_ascii_lowercase()];
        let path_keys: Vec<String> = rpc
            .path_fields
            .iter()
            .map(|(_, f)| {
                rpc.descriptor
                    .input()
                    .get_field_by_name(f)
                    .unwrap()
                    .json_name()
                    .to_owned()
            })
            .collect();

        // The request: what pbjson writes of a request filled in every field, less
        // what the path gives, is what the document describes.
        let mut seen = BTreeSet::new();
        for variant in 0..2 {
            let bytes = filled(&rpc.descriptor.input(), variant, 0).encode_to_vec();
            let mut json = (rpc.codec.request_json)(&bytes).unwrap();
            let object = json.as_object_mut().unwrap();
            for key in &path_keys {
                assert!(
                    object.remove(key).is_some(),
                    "{name}: {key} is not in the request"
                );
            }
            if rpc.has_body(&route.method) {
                let body = &operation["requestBody"]["content"]["application/json"]["schema"];
                let body = if body.is_null() {
                    &json!({"type": "object", "properties": {}, "additionalProperties": false})
                } else {
                    body
                };
                valid(&doc, body, &json, &format!("{name} request"));
                seen_paths(&doc, body, &json, "", &mut seen);
            } else {
                for (key, value) in json.as_object().unwrap() {
                    let param = operation["parameters"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|p| p["in"] == "query" && p["name"] == *key)
                        .unwrap_or_else(|| {
                            panic!("{name}: the request has {key}, no query parameter does")
                        });
                    valid(&doc, &param["schema"], value, &format!("{name} ?{key}"));
                    seen.insert(format!("/{key}"));
                }
            }
            // And the facade reads back what it wrote.
            let mut back = (rpc.codec.request_json)(&bytes).unwrap();
            let again = (rpc.codec.request_from_json)(back.take()).unwrap();
            assert_eq!(
                again, bytes,
                "{name}: the request does not survive its JSON"
            );
        }
        let mut described = BTreeSet::new();
        if rpc.has_body(&route.method) {
            let body = &operation["requestBody"]["content"]["application/json"]["schema"];
            if !body.is_null() {
                all_paths(&doc, body, "", 0, &mut described);
            }
        } else {
            for p in operation["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["in"] == "query")
            {
                described.insert(format!("/{}", p["name"].as_str().unwrap()));
            }
        }
        assert_eq!(described, seen, "{name}: request fields described vs sent");

        // The answer.
        let ok = rpc.ok.as_u16().to_string();
        let schema = &operation["responses"][&ok]["content"]["application/json"]["schema"];
        let mut seen = BTreeSet::new();
        for variant in 0..2 {
            let bytes = filled(&rpc.descriptor.output(), variant, 0).encode_to_vec();
            let json = (rpc.codec.response_json)(&bytes).unwrap();
            valid(&doc, schema, &json, &format!("{name} answer"));
            seen_paths(&doc, schema, &json, "", &mut seen);
        }
        let mut described = BTreeSet::new();
        all_paths(&doc, schema, "", 0, &mut described);
        assert_eq!(
            described, seen,
            "{name}: answer fields described vs written"
        );
    }
}

#[test]
fn routes_answer_their_documented_statuses() {
    let doc = doc();
    for route in table() {
        let Target::Rpc(rpc) = &route.target else {
            continue;
        };
        let responses =
            &doc["paths"][route.path][route.method.as_str().to_ascii_lowercase()]["responses"];
        let mut expected: Vec<u16> = super::rpc_errors(&route, rpc);
        expected.push(rpc.ok.as_u16());
        expected.sort_unstable();
        let declared: Vec<u16> = responses
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.parse().unwrap())
            .collect();
        let mut declared = declared;
        declared.sort_unstable();
        assert_eq!(declared, expected, "{} {}", route.method, route.path);
        assert!(
            declared.contains(&400) && declared.contains(&503),
            "{}",
            route.path
        );
    }
    // Every status the code mapping can answer a client has a response object.
    let mapped: BTreeSet<u16> = [400, 401, 403, 404, 409, 429, 500, 503, 504].into();
    let objects: BTreeSet<u16> = doc["components"]["responses"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.parse().unwrap())
        .collect();
    assert!(mapped.is_subset(&objects));
}

#[test]
fn keyed_routes_take_the_idempotency_key() {
    let doc = doc();
    let keyed: BTreeSet<String> = table()
        .iter()
        .filter_map(|r| match &r.target {
            Target::Rpc(rpc) if rpc.keyed => Some(rpc.descriptor.name().to_owned()),
            _ => None,
        })
        .collect();
    let expected: BTreeSet<String> = [
        "PlaceOrder",
        "PayOrder",
        "Checkout",
        "CreateProduct",
        "AdjustStock",
        "TopUpPoints",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(keyed, expected);
    let place = &doc["paths"]["/v1/orders"]["post"];
    assert!(
        place["parameters"]
            .as_array()
            .unwrap()
            .contains(&json!({"$ref": "#/components/parameters/IdempotencyKey"}))
    );
    assert_eq!(
        place["responses"]["201"]["headers"]["Idempotent-Replayed"]["$ref"],
        "#/components/headers/IdempotentReplayed"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["paths"]["/healthz"]["get"]["security"], json!([]));
}

#[test]
fn links_lead_to_operations_that_take_the_id() {
    let doc = doc();
    let mut operations = std::collections::BTreeMap::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            operations.insert(
                operation["operationId"].as_str().unwrap().to_owned(),
                operation.clone(),
            );
        }
    }
    let mut count = 0;
    for operation in operations.values() {
        for response in operation["responses"].as_object().unwrap().values() {
            let Some(links) = response["links"].as_object() else {
                continue;
            };
            let schema = &response["content"]["application/json"]["schema"];
            for link in links.values() {
                count += 1;
                let target = &operations[link["operationId"].as_str().unwrap()];
                for (param, expression) in link["parameters"].as_object().unwrap() {
                    assert!(
                        target["parameters"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|p| p["in"] == "path" && p["name"] == *param),
                        "{link}"
                    );
                    let pointer = expression
                        .as_str()
                        .unwrap()
                        .strip_prefix("$response.body#/")
                        .unwrap();
                    let first = pointer.split('/').next().unwrap();
                    assert!(
                        resolve(&doc, schema)["properties"].get(first).is_some(),
                        "{link}: no {first} in the answer"
                    );
                }
            }
        }
    }
    assert!(count >= 15, "{count}");
}
