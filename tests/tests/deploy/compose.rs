//! deploy/compose.yaml through Docker Compose's own `config` (schema, interpolation,
//! profiles; no daemon needed): every binary's variables as its `Config` reads them,
//! the wiring between services, PostgreSQL's databases, Redis with Sentinel.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    time::Duration,
};

use delivery_svc::Redis;
use serde_json::Value;

use crate::{
    env::{binary, names},
    tools::{read, repo, run, secret, tool},
};

const FILE: &str = "deploy/compose.yaml";

/// `docker compose config` of the file with the given profiles and variables (from an
/// env file of the test's own, so a developer's deploy/.env plays no part).
async fn config(profiles: &[&str], vars: &[(&str, String)]) -> Result<Value, String> {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("env");
    let lines: String = vars.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(&env_file, lines).unwrap();
    let mut args: Vec<String> = vec!["-f".into(), FILE.into(), "--env-file".into()];
    args.push(env_file.display().to_string());
    for profile in profiles {
        args.extend(["--profile".into(), (*profile).into()]);
    }
    args.extend(["config".into(), "--format".into(), "json".into()]);
    let out = run(&tool("docker-compose").await, &args, &repo()).await;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

fn secrets() -> Vec<(&'static str, String)> {
    vec![
        ("POSTGRES_PASSWORD", secret()),
        ("JWT_SECRET", secret()),
        ("INTERNAL_TOKEN", secret()),
    ]
}

fn environment(service: &Value) -> BTreeMap<String, String> {
    service["environment"]
        .as_object()
        .map(|vars| {
            vars.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Services built from this repository's Dockerfile: the binaries.
fn ours(config: &Value) -> BTreeMap<String, &Value> {
    let root = repo();
    config["services"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, s)| s["build"]["context"].as_str().map(Path::new) == Some(root.as_path()))
        .map(|(name, s)| (name.clone(), s))
        .collect()
}

#[tokio::test]
async fn every_binary_gets_exactly_the_variables_it_reads() {
    let config = config(&["events", "monitoring"], &secrets()).await.unwrap();
    let services = ours(&config);
    let found: BTreeSet<&str> = services.keys().map(String::as_str).collect();
    assert_eq!(found, names(), "services built from the Dockerfile");
    let mut listens = BTreeMap::new();
    for (name, service) in &services {
        let bin = binary(name).unwrap();
        assert_eq!(
            service["build"]["target"], **name,
            "{name}: Dockerfile target"
        );
        assert!(
            service["image"]
                .as_str()
                .unwrap()
                .contains(&format!("/{name}:")),
            "{name}: image {}",
            service["image"]
        );
        let ports = bin
            .check(FILE, &environment(service))
            .unwrap_or_else(|e| panic!("{e}"));
        listens.insert(name.clone(), ports);
    }

    // The gateway reaches each service at the port that service listens on.
    let gateway = environment(services["gateway"]);
    for (var, target) in [
        ("ORDER_SVC_URL", "order-svc"),
        ("PAYMENT_SVC_URL", "payment-svc"),
        ("DELIVERY_SVC_URL", "delivery-svc"),
    ] {
        assert_eq!(
            gateway[var],
            format!("http://{target}:{}", listens[target][0]),
            "{var}"
        );
    }
    // Only the gateway is published, on the ports it serves clients on; /metrics
    // (the last port of every binary) stays inside, for the Prometheus beside it.
    for (name, service) in &services {
        let published: Vec<u64> = service["ports"]
            .as_array()
            .map(|p| p.iter().filter_map(|p| p["target"].as_u64()).collect())
            .unwrap_or_default();
        let expected: Vec<u64> = match name.as_str() {
            "gateway" => {
                let ports = &listens[name];
                ports[..ports.len() - 1]
                    .iter()
                    .map(|p| u64::from(*p))
                    .collect()
            }
            _ => Vec::new(),
        };
        assert_eq!(published, expected, "{name}: published ports");
    }
}

#[tokio::test]
async fn each_service_has_its_own_database_created_at_first_start() {
    let config = config(&[], &secrets()).await.unwrap();
    let init = read("deploy/compose/postgres-init.sql");
    let mounted = config["services"]["postgres"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| {
            v["source"]
                .as_str()
                .unwrap_or("")
                .ends_with("compose/postgres-init.sql")
                && v["target"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("/docker-entrypoint-initdb.d/")
        });
    assert!(mounted, "the init script is not mounted into postgres");
    let mut databases = BTreeSet::new();
    for (name, service) in ours(&config) {
        let url = environment(service)["DATABASE_URL"].clone();
        let (rest, database) = url.rsplit_once('/').unwrap();
        assert!(rest.ends_with("@postgres:5432"), "{name}: {url}");
        assert!(
            init.contains(&format!("CREATE DATABASE \"{database}\";"))
                || init.contains(&format!("CREATE DATABASE {database};")),
            "{name}: database {database} is not created by postgres-init.sql"
        );
        assert!(
            databases.insert(database.to_owned()),
            "{database} is shared"
        );
    }
}

#[tokio::test]
async fn delivery_holds_go_through_sentinels_watching_a_replicated_redis() {
    let config = config(&[], &secrets()).await.unwrap();
    let services = config["services"].as_object().unwrap();
    let url = environment(&services["delivery-svc"])["REDIS_URL"].clone();
    let (hosts, master) = url
        .strip_prefix("redis+sentinel://")
        .and_then(|rest| rest.split_once('/'))
        .unwrap_or_else(|| panic!("REDIS_URL is not a Sentinel URL: {url}"));
    // delivery-svc's own parser takes it (without connecting).
    Redis::connect_lazily(&url, Duration::from_secs(1)).unwrap();
    let sentinels: Vec<&str> = hosts.split(',').collect();
    assert!(
        sentinels.len() >= 3,
        "a quorum needs three Sentinels: {url}"
    );
    let script = read("deploy/compose/sentinel.sh");
    assert!(script.contains(&format!("sentinel monitor {master} redis 6379 2")));
    for sentinel in sentinels {
        let (host, port) = sentinel.split_once(':').unwrap();
        assert_eq!(port, "26379");
        assert!(
            services[host]["command"][1] == "/etc/shop/sentinel.sh",
            "{host}"
        );
    }
    let replica = services["redis-replica"]["command"].as_array().unwrap();
    let replicaof = replica.iter().position(|a| a == "--replicaof").unwrap();
    assert_eq!(replica[replicaof + 1], "redis");
}

#[tokio::test]
async fn rabbitmq_and_prometheus_come_only_with_their_profiles() {
    let plain = config(&[], &secrets()).await.unwrap();
    let events = config(&["events"], &secrets()).await.unwrap();
    let monitoring = config(&["monitoring"], &secrets()).await.unwrap();
    let has = |c: &Value, s: &str| c["services"].get(s).is_some();
    assert!(!has(&plain, "rabbitmq") && !has(&plain, "prometheus"));
    assert!(has(&events, "rabbitmq") && !has(&events, "prometheus"));
    assert!(has(&monitoring, "prometheus") && !has(&monitoring, "rabbitmq"));
}

#[tokio::test]
async fn a_missing_secret_is_refused_by_name() {
    let mut vars = secrets();
    vars.retain(|(k, _)| *k != "JWT_SECRET");
    let err = config(&[], &vars).await.unwrap_err();
    assert!(err.contains("JWT_SECRET"), "{err}");
}

/// The scripts the containers run (Sentinel and Redis start-up) are valid shell.
#[tokio::test]
async fn the_container_scripts_parse() {
    for dir in ["deploy/compose", "deploy/k8s/base/redis"] {
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "sh") {
                let out = run(Path::new("sh"), &[Path::new("-n"), &path], &repo()).await;
                assert!(
                    out.status.success(),
                    "{}: {}",
                    path.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}
