//! deploy/k8s as the cluster would get it: an overlay rendered by kubectl's kustomize
//! from a copy of the tree (prod's never-committed secrets.env written into the copy),
//! parsed, and read as a kubelet would read a container's environment.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::tools::{copy_tree, read, repo, run, secret, tool};

pub const OVERLAYS: [&str; 2] = ["dev", "prod"];
/// The oldest Kubernetes these manifests are for (native gRPC probes are GA since
/// 1.27) and the newest the validator knows.
pub const VERSIONS: [&str; 2] = ["1.29.0", "1.37.0"];
/// Custom resources the validator has no schema for; checked by hand below.
pub const CRDS: &[(&str, &str)] = &[("Cluster", "postgresql.cnpg.io/v1")];

pub struct Rendered {
    pub yaml: String,
    pub docs: Vec<Value>,
}

/// An overlay rendered from a copy of deploy/k8s (prod's secrets.env, which is never
/// committed, is written into the copy from its example's keys).
pub async fn render(overlay: &str) -> &'static Rendered {
    static DEV: OnceCell<Rendered> = OnceCell::const_new();
    static PROD: OnceCell<Rendered> = OnceCell::const_new();
    let cell = if overlay == "dev" { &DEV } else { &PROD };
    cell.get_or_init(|| async {
        let dir = tempfile::tempdir().unwrap();
        let k8s = dir.path().join("k8s");
        copy_tree(&repo().join("deploy/k8s"), &k8s);
        let secrets: String = example_secret_keys()
            .iter()
            .map(|k| format!("{k}={}\n", secret()))
            .collect();
        std::fs::write(k8s.join("overlays/prod/secrets.env"), secrets).unwrap();
        let path = k8s.join("overlays").join(overlay);
        let out = run(
            &tool("kubectl").await,
            &[&"kustomize".as_ref(), &path.as_os_str()],
            &repo(),
        )
        .await;
        assert!(
            out.status.success(),
            "kustomize {overlay}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let yaml = String::from_utf8(out.stdout).unwrap();
        let docs = serde_saphyr::from_multiple::<Value>(&yaml).unwrap_or_else(|e| panic!("{e}"));
        Rendered { yaml, docs }
    })
    .await
}

pub fn example_secret_keys() -> BTreeSet<String> {
    read("deploy/k8s/overlays/prod/secrets.env.example")
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| l.split('=').next().unwrap().to_owned())
        .collect()
}

pub fn of_kind<'a>(docs: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> {
    docs.iter().filter(move |d| d["kind"] == kind)
}

pub fn named<'a>(docs: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
}

/// Deployments of our images (`shop/<binary>`), by binary.
pub fn shop_deployments(docs: &[Value]) -> BTreeMap<String, &Value> {
    of_kind(docs, "Deployment")
        .filter_map(|d| {
            let image = d["spec"]["template"]["spec"]["containers"][0]["image"].as_str()?;
            let name = image.strip_prefix("shop/")?.split(':').next()?;
            Some((name.to_owned(), d))
        })
        .collect()
}

pub fn container(deployment: &Value) -> &Value {
    &deployment["spec"]["template"]["spec"]["containers"][0]
}

/// A container's variables as the cluster would give them: literal values, and
/// Secrets (those of the render, or the `<cluster>-app` Secret CloudNativePG makes
/// for a `Cluster` of the render, whose `uri` is a stand-in URL here).
pub fn environment(docs: &[Value], container: &Value) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for entry in container["env"].as_array().into_iter().flatten() {
        let name = entry["name"].as_str().unwrap().to_owned();
        let value = if let Some(value) = entry["value"].as_str() {
            value.to_owned()
        } else {
            let key_ref = &entry["valueFrom"]["secretKeyRef"];
            let (secret, key) = (key_ref["name"].as_str(), key_ref["key"].as_str());
            let (Some(secret), Some(key)) = (secret, key) else {
                panic!("{name}: only values and secretKeyRefs are read here: {entry}")
            };
            secret_value(docs, secret, key).unwrap_or_else(|| panic!("{name}: no {secret}/{key}"))
        };
        vars.insert(name, value);
    }
    assert!(container["envFrom"].is_null(), "envFrom is not read here");
    vars
}

fn secret_value(docs: &[Value], secret: &str, key: &str) -> Option<String> {
    if let Some(s) = named(docs, "Secret", secret) {
        if let Some(v) = s["stringData"][key].as_str() {
            return Some(v.to_owned());
        }
        // kustomize breaks long values into lines, which the API server's decoder
        // (Go's) skips.
        let encoded: String = s["data"][key].as_str()?.split_whitespace().collect();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        return String::from_utf8(raw).ok();
    }
    let cluster = named(docs, "Cluster", secret.strip_suffix("-app")?)?;
    let initdb = &cluster["spec"]["bootstrap"]["initdb"];
    (key == "uri").then(|| {
        format!(
            "postgresql://{}:stand-in@{}-rw:5432/{}",
            initdb["owner"].as_str().unwrap_or_default(),
            cluster["metadata"]["name"].as_str().unwrap_or_default(),
            initdb["database"].as_str().unwrap_or_default()
        )
    })
}
