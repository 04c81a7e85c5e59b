//! The rendered NetworkPolicies, evaluated the way the API defines them (a pod is
//! isolated for ingress once a policy selects it; it then admits the union of those
//! policies' `from` peers): who can open a connection to whom.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::manifests::{OVERLAYS, of_kind, render};

/// A pod template's labels, by workload name (CloudNativePG instances carry
/// `cnpg.io/cluster: <name>`).
fn workloads(docs: &[Value]) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = of_kind(docs, "Deployment")
        .chain(of_kind(docs, "StatefulSet"))
        .map(|w| {
            let name = w["metadata"]["name"].as_str().unwrap().to_owned();
            (name, w["spec"]["template"]["metadata"]["labels"].clone())
        })
        .collect();
    for cluster in of_kind(docs, "Cluster") {
        let name = cluster["metadata"]["name"].as_str().unwrap().to_owned();
        let labels = serde_json::json!({ "cnpg.io/cluster": name });
        out.push((name, labels));
    }
    out
}

/// `matchLabels` and `matchExpressions` (In, NotIn, Exists, DoesNotExist).
fn selects(selector: &Value, labels: &Value) -> bool {
    let by_label = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| &labels[k] == v);
    let by_expression = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let value = &labels[e["key"].as_str().unwrap()];
            let listed = e["values"].as_array().is_some_and(|vs| vs.contains(value));
            match e["operator"].as_str().unwrap() {
                "In" => listed,
                "NotIn" => !listed,
                "Exists" => !value.is_null(),
                "DoesNotExist" => value.is_null(),
                other => panic!("unknown selector operator {other}"),
            }
        });
    by_label && by_expression
}

/// Who may connect to `labels`: workload names of this namespace, `namespace:<labels>`
/// for other namespaces, or `anyone`.
fn admitted(docs: &[Value], labels: &Value) -> BTreeSet<String> {
    let policies: Vec<&Value> = of_kind(docs, "NetworkPolicy")
        .filter(|p| {
            let types = p["spec"]["policyTypes"].as_array();
            types.is_none_or(|t| t.iter().any(|t| t == "Ingress"))
        })
        .filter(|p| selects(&p["spec"]["podSelector"], labels))
        .collect();
    if policies.is_empty() {
        return BTreeSet::from(["anyone".to_owned()]);
    }
    let all = workloads(docs);
    let mut peers = BTreeSet::new();
    for rule in policies
        .iter()
        .flat_map(|p| p["spec"]["ingress"].as_array().into_iter().flatten())
    {
        let from = rule["from"].as_array().filter(|f| !f.is_empty());
        let Some(from) = from else {
            peers.insert("anyone".to_owned());
            continue;
        };
        for peer in from {
            assert!(peer["ipBlock"].is_null(), "ipBlock peers are not expected");
            if peer["namespaceSelector"].is_object() {
                assert!(
                    peer["podSelector"].is_null(),
                    "combined selectors are not expected"
                );
                peers.insert(format!(
                    "namespace:{}",
                    peer["namespaceSelector"]["matchLabels"]
                ));
                continue;
            }
            for (name, pod) in &all {
                if selects(&peer["podSelector"], pod) {
                    peers.insert(name.clone());
                }
            }
        }
    }
    peers
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

#[tokio::test]
async fn only_the_gateway_reaches_the_services_and_only_delivery_reaches_redis() {
    for overlay in OVERLAYS {
        let docs = &render(overlay).await.docs;
        let deny_all = of_kind(docs, "NetworkPolicy").any(|p| {
            p["spec"]["podSelector"]
                .as_object()
                .is_some_and(|s| s.is_empty())
                && p["spec"]["ingress"].is_null()
        });
        assert!(deny_all, "{overlay}: no default-deny ingress policy");
        let operator = r#"namespace:{"kubernetes.io/metadata.name":"cnpg-system"}"#;
        for (name, labels) in workloads(docs) {
            let expected = match name.as_str() {
                "gateway" => set(&["anyone"]),
                "order-svc" | "payment-svc" | "delivery-svc" => set(&["gateway"]),
                "redis" => set(&["delivery-svc", "redis"]),
                "order-db" => set(&["order-svc", "order-db", operator]),
                "payment-db" => set(&["payment-svc", "payment-db", operator]),
                "delivery-db" => set(&["delivery-svc", "delivery-db", operator]),
                "gateway-db" => set(&["gateway", "gateway-db", operator]),
                other => panic!("{overlay}: no expectation for workload {other}"),
            };
            assert_eq!(
                admitted(docs, &labels),
                expected,
                "{overlay}: who reaches {name}"
            );
        }
    }
}

#[test]
fn the_evaluation_sees_an_unselected_pod_as_open_to_anyone() {
    let docs = vec![serde_json::json!({
        "kind": "NetworkPolicy",
        "spec": { "podSelector": { "matchLabels": { "app": "a" } }, "ingress": [] }
    })];
    let a = serde_json::json!({ "app": "a" });
    let b = serde_json::json!({ "app": "b" });
    assert!(admitted(&docs, &a).is_empty());
    assert_eq!(admitted(&docs, &b), set(&["anyone"]));
}
