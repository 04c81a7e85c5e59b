//! deploy/k8s validated offline against the Kubernetes schemas by
//! kubernetes-validate, then checked as the cluster would run it: every binary's
//! variables through its `Config` (Secrets resolved), probes on the ports it listens
//! on, resources, hardening, the gateway's PodDisruptionBudget and autoscaler, Redis
//! with Sentinel, PostgreSQL from CloudNativePG.

use std::{collections::BTreeSet, time::Duration};

use delivery_svc::Redis;

use serde_json::Value;

use crate::{
    env::{binary, names},
    manifests::{
        CRDS, OVERLAYS, VERSIONS, container, environment, example_secret_keys, named, of_kind,
        render, shop_deployments,
    },
    tools::{read, repo, run, tool},
};

#[tokio::test]
async fn overlays_render_and_pass_the_kubernetes_schemas() {
    let validate = tool("kubernetes-validate").await;
    for overlay in OVERLAYS {
        let rendered = render(overlay).await;
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &rendered.yaml).unwrap();
        for version in VERSIONS {
            let args = ["--strict", "-k", version, file.path().to_str().unwrap()];
            let out = run(&validate, &args, &repo()).await;
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.status.success(), "{overlay} against {version}:\n{text}");
            for warning in text.lines().filter(|l| l.starts_with("WARN")) {
                assert!(
                    CRDS.iter().any(|(kind, api)| {
                        warning.contains(&format!("kind {kind} with api version {api}"))
                    }),
                    "{overlay} against {version}: {warning}"
                );
            }
        }
    }
}

/// The validator as invoked above does catch a mistake (a misspelt field).
#[tokio::test]
async fn the_validation_catches_a_misspelt_field() {
    let rendered = render("dev").await;
    let broken = rendered
        .yaml
        .replacen("readinessProbe:", "readinesProbe:", 1);
    assert_ne!(broken, rendered.yaml);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), broken).unwrap();
    let args = ["--strict", "-k", VERSIONS[0], file.path().to_str().unwrap()];
    let out = run(&tool("kubernetes-validate").await, &args, &repo()).await;
    assert!(!out.status.success(), "a misspelt field passed");
}

#[tokio::test]
async fn every_binary_gets_exactly_the_variables_it_reads_and_probes_its_ports() {
    for overlay in OVERLAYS {
        let docs = &render(overlay).await.docs;
        let deployments = shop_deployments(docs);
        let found: BTreeSet<&str> = deployments.keys().map(String::as_str).collect();
        assert_eq!(found, names(), "{overlay}: Deployments of shop/ images");
        let mut databases = BTreeSet::new();
        for (name, deployment) in &deployments {
            let c = container(deployment);
            assert_eq!(c["name"], **name);
            let file = format!("{overlay}/{name}");
            let vars = environment(docs, c);
            let ports = binary(name)
                .unwrap()
                .check(&file, &vars)
                .unwrap_or_else(|e| panic!("{e}"));
            let declared: Vec<u64> = c["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["containerPort"].as_u64().unwrap())
                .collect();
            let ports: Vec<u64> = ports.into_iter().map(u64::from).collect();
            assert_eq!(declared, ports, "{file}: containerPorts");
            if *name == "gateway" {
                let http = c["ports"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["name"] == "http")
                    .unwrap();
                assert_eq!(
                    http["containerPort"].as_u64(),
                    Some(ports[1]),
                    "{file}: http port"
                );
                assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz", "{file}");
                assert_eq!(c["readinessProbe"]["httpGet"]["port"], "http", "{file}");
                assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz", "{file}");
            } else {
                for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
                    assert_eq!(
                        c[probe]["grpc"]["port"].as_u64(),
                        Some(ports[0]),
                        "{file}: {probe}"
                    );
                }
            }
            let db = &c["env"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == "DATABASE_URL")
                .unwrap()["valueFrom"]["secretKeyRef"]["name"];
            assert!(
                databases.insert(db.to_string()),
                "{file}: database {db} is shared"
            );
            let service =
                named(docs, "Service", name).unwrap_or_else(|| panic!("{file}: no Service"));
            let labels = &deployment["spec"]["template"]["metadata"]["labels"];
            for (k, v) in service["spec"]["selector"].as_object().unwrap() {
                assert_eq!(&labels[k], v, "{file}: the Service selects other pods");
            }
        }
        // The gateway reaches each service through its Service's port.
        let gateway = environment(docs, container(deployments["gateway"]));
        for (var, target) in [
            ("ORDER_SVC_URL", "order-svc"),
            ("PAYMENT_SVC_URL", "payment-svc"),
            ("DELIVERY_SVC_URL", "delivery-svc"),
        ] {
            let port = &named(docs, "Service", target).unwrap()["spec"]["ports"][0]["port"];
            assert_eq!(
                gateway[var],
                format!("http://{target}:{port}"),
                "{overlay}: {var}"
            );
        }
    }
}

#[tokio::test]
async fn every_pod_is_hardened_and_sized() {
    for overlay in OVERLAYS {
        let docs = &render(overlay).await.docs;
        let workloads = of_kind(docs, "Deployment").chain(of_kind(docs, "StatefulSet"));
        for workload in workloads {
            let name = &workload["metadata"]["name"];
            let pod = &workload["spec"]["template"]["spec"];
            assert_eq!(
                pod["securityContext"]["runAsNonRoot"], true,
                "{overlay}/{name}"
            );
            assert_eq!(
                pod["automountServiceAccountToken"], false,
                "{overlay}/{name}"
            );
            for c in pod["containers"].as_array().unwrap() {
                let what = format!("{overlay}/{name}/{}", c["name"]);
                let sc = &c["securityContext"];
                assert_eq!(sc["allowPrivilegeEscalation"], false, "{what}");
                assert_eq!(sc["readOnlyRootFilesystem"], true, "{what}");
                assert_eq!(
                    sc["capabilities"]["drop"],
                    serde_json::json!(["ALL"]),
                    "{what}"
                );
                for (kind, resource) in [
                    ("requests", "cpu"),
                    ("requests", "memory"),
                    ("limits", "memory"),
                ] {
                    assert!(
                        c["resources"][kind][resource].is_string(),
                        "{what}: no {kind}.{resource}"
                    );
                }
                assert!(
                    c["readinessProbe"].is_object() && c["livenessProbe"].is_object(),
                    "{what}: probes"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_gateway_has_a_disruption_budget_and_an_autoscaler() {
    for overlay in OVERLAYS {
        let docs = &render(overlay).await.docs;
        let gateway = shop_deployments(docs)["gateway"];
        assert!(
            gateway["spec"]["replicas"].is_null(),
            "{overlay}: the autoscaler owns replicas"
        );
        let labels = &gateway["spec"]["template"]["metadata"]["labels"];
        let pdb = of_kind(docs, "PodDisruptionBudget")
            .find(|p| {
                p["spec"]["selector"]["matchLabels"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .all(|(k, v)| &labels[k] == v)
            })
            .unwrap_or_else(|| panic!("{overlay}: no PodDisruptionBudget for the gateway"));
        assert!(
            pdb["spec"]["maxUnavailable"]
                .as_u64()
                .is_some_and(|n| n >= 1),
            "{overlay}: a drain must be possible"
        );
        let hpa = named(docs, "HorizontalPodAutoscaler", "gateway").unwrap();
        assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment");
        assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "gateway");
        let (min, max) = (
            hpa["spec"]["minReplicas"].as_u64().unwrap(),
            hpa["spec"]["maxReplicas"].as_u64().unwrap(),
        );
        assert!(min >= 1 && max > min, "{overlay}: {min}..{max}");
        if overlay == "prod" {
            assert!(min >= 2, "prod: one gateway is a single point of failure");
        }
    }
}

#[tokio::test]
async fn redis_runs_with_sentinels_and_postgres_comes_from_cloudnativepg() {
    for overlay in OVERLAYS {
        let docs = &render(overlay).await.docs;
        let delivery = environment(docs, container(shop_deployments(docs)["delivery-svc"]));
        let (hosts, master) = delivery["REDIS_URL"]
            .strip_prefix("redis+sentinel://")
            .and_then(|r| r.split_once('/'))
            .expect("a Sentinel REDIS_URL");
        // delivery-svc's own parser takes it (without connecting).
        Redis::connect_lazily(&delivery["REDIS_URL"], Duration::from_secs(1)).unwrap();
        let script = read("deploy/k8s/base/redis/sentinel.sh");
        assert!(script.contains(&format!("sentinel monitor {master} $master 6379 2")));
        let set = named(docs, "StatefulSet", "redis").expect("the redis StatefulSet");
        let replicas = set["spec"]["replicas"].as_u64().unwrap();
        let service = set["spec"]["serviceName"].as_str().unwrap();
        let expected: Vec<String> = (0..replicas)
            .map(|i| format!("redis-{i}.{service}:26379"))
            .collect();
        assert_eq!(
            hosts.split(',').collect::<Vec<_>>(),
            expected,
            "{overlay}: REDIS_URL names every Sentinel"
        );
        assert!(replicas >= 3, "{overlay}: a Sentinel quorum of 2 needs 3");
        let containers: Vec<&str> = set["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(containers, ["redis", "sentinel"]);
        assert_eq!(
            named(docs, "Service", service).unwrap()["spec"]["clusterIP"],
            "None"
        );

        let images: Vec<&str> = docs
            .iter()
            .flat_map(|d| {
                d["spec"]["template"]["spec"]["containers"]
                    .as_array()
                    .into_iter()
                    .flatten()
            })
            .filter_map(|c| c["image"].as_str())
            .collect();
        assert!(
            !images.iter().any(|i| i.contains("postgres")),
            "{overlay}: a hand-rolled PostgreSQL: {images:?}"
        );
        let clusters: Vec<&Value> = of_kind(docs, "Cluster").collect();
        assert_eq!(
            clusters.len(),
            names().len(),
            "{overlay}: one CloudNativePG Cluster per service"
        );
        for cluster in clusters {
            assert_eq!(cluster["apiVersion"], "postgresql.cnpg.io/v1");
            let instances = cluster["spec"]["instances"].as_u64().unwrap();
            assert!(
                instances >= if overlay == "prod" { 3 } else { 1 },
                "{overlay}: {instances} instances"
            );
            assert!(cluster["spec"]["storage"]["size"].is_string());
            assert!(cluster["spec"]["bootstrap"]["initdb"]["database"].is_string());
        }
    }
}

#[test]
fn the_prod_secrets_example_lists_what_the_deployments_read() {
    let example = example_secret_keys();
    let base = ["gateway", "order-svc", "payment-svc", "delivery-svc"]
        .iter()
        .map(|f| read(&format!("deploy/k8s/base/{f}.yaml")))
        .collect::<Vec<_>>()
        .join("\n---\n");
    let docs = serde_saphyr::from_multiple::<Value>(&base).unwrap();
    let mut used = BTreeSet::new();
    for d in &docs {
        for c in d["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for e in c["env"].as_array().into_iter().flatten() {
                if e["valueFrom"]["secretKeyRef"]["name"] == "shop-secrets" {
                    used.insert(
                        e["valueFrom"]["secretKeyRef"]["key"]
                            .as_str()
                            .unwrap()
                            .to_owned(),
                    );
                }
            }
        }
    }
    assert_eq!(example, used);
}
