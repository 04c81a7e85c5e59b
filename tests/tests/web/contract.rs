//! The served OpenAPI document, checked by tools that know nothing of this project:
//! openapi-spec-validator (is it valid OpenAPI 3.1?) and schemathesis (does the live
//! gateway do what it says?), which sends a bounded number of generated requests to
//! every operation, valid and invalid ones, as an admin, and fails on any 5xx, any
//! status, header, content type or body the document does not allow, and any invalid
//! request the gateway accepts. The invariants hold afterwards.

use std::time::Duration;

use serde_json::Value;
use shop_e2e::Stack;
use tokio::process::Command;

use crate::tools;

/// Generated requests per operation and phase (coverage and fuzzing).
const CASES_PER_OPERATION: &str = "25";
/// Fixed, so a failure in CI replays here; SHOP_SCHEMATHESIS_SEED explores others.
const SEED: &str = "19";
const RUN_DEADLINE: Duration = Duration::from_secs(300);

#[tokio::test]
async fn the_document_is_valid_openapi_and_the_gateway_keeps_to_it() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    // Something to find: a product and a funded wallet.
    admin.create_product("Teapot", 500, 50).await;
    admin.top_up(user.id, 100_000).await;
    admin.top_up(admin.id, 100_000).await;
    let base = format!("http://{}", stack.gateway_http);
    let document = reqwest::get(format!("{base}/v1/openapi.json"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let out_dir = tools::artifacts();
    let spec = out_dir.join("openapi.json");
    std::fs::write(&spec, &document).unwrap();

    let mut validator = Command::new(tools::bin("openapi-spec-validator").await);
    validator.arg(&spec);
    let out = tools::run(validator, Duration::from_secs(60)).await;
    assert!(
        out.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let report = out_dir.join("schemathesis");
    let _ = std::fs::remove_dir_all(&report);
    let seed = std::env::var("SHOP_SCHEMATHESIS_SEED").unwrap_or_else(|_| SEED.to_owned());
    let mut run = Command::new(tools::bin("schemathesis").await);
    run.args(["run", &format!("{base}/v1/openapi.json")])
        .args([
            "--header",
            &format!("Authorization: Bearer {}", admin.token),
        ])
        .args(["--max-examples", CASES_PER_OPERATION, "--seed", &seed])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        // Every check but one: a request that fits the schemas may still break a
        // business rule (a zero price, an empty cart), which no schema here states.
        .args([
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
        ])
        // One worker: hypothesis' lambda descriptions parse source with `ast`, which
        // CPython 3.11.7 may fail from two threads at once (SystemError).
        .args(["--workers", "1", "--request-timeout", "15"])
        .args(["--report", "ndjson", "--report-dir"])
        .arg(&report)
        .args(["--no-color"])
        .env("SCHEMATHESIS_HOOKS", "")
        .current_dir(&out_dir);
    let out = tools::run(run, RUN_DEADLINE).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = summary(&report);
    println!("schemathesis (seed {seed}): {summary}\n{stdout}");
    assert!(
        out.status.success(),
        "schemathesis found problems (seed {seed}):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !stdout.contains("No operations"),
        "schemathesis tested nothing:\n{stdout}"
    );
    // What it did to the shop is still consistent.
    stack.audit().await;
}

/// The case counts of the run, from its NDJSON events.
fn summary(report: &std::path::Path) -> String {
    let Ok(entries) = std::fs::read_dir(report) else {
        return "no report".into();
    };
    let mut cases = 0_u64;
    let mut operations = 0_u64;
    for entry in entries.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        for line in text.lines() {
            let Ok(event) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if let Some(finished) = event.get("ScenarioFinished") {
                operations += 1;
                cases += finished["recorder"]["cases"]
                    .as_object()
                    .map_or(0, |c| c.len() as u64);
            }
        }
    }
    format!("{cases} cases in {operations} scenarios")
}
