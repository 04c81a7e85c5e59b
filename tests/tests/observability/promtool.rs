//! The Prometheus files in `deploy/prometheus/` as Prometheus itself reads them:
//! `promtool check config` / `check rules`, and the rule unit tests of `tests.yml`
//! (every alert both fires on its input and stays quiet without it).
//! promtool is Debian's `prometheus` package; `scripts/test.sh` installs it.

use std::{path::PathBuf, process::Command};

fn deploy() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/prometheus"))
}

fn promtool(args: &[&str]) {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(deploy())
        .output()
        .unwrap_or_else(|err| {
            panic!("cannot run promtool ({err}): install Debian's prometheus package (scripts/test.sh does)")
        });
    assert!(
        output.status.success(),
        "promtool {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_scrape_config_and_the_rules_are_valid() {
    promtool(&["check", "config", "prometheus.yml"]);
    promtool(&["check", "rules", "alerts.yml"]);
}

#[test]
fn the_alerts_fire_when_they_should_and_only_then() {
    promtool(&["test", "rules", "tests.yml"]);
}
