//! The Dockerfile, parsed (no Docker daemon runs here): one small non-root image per
//! binary with the binary's default ports, its health check and `shopctl`, built by
//! the pinned toolchain through `scripts/build-release.sh`, the project's one release
//! build, which bench.sh and up.sh run too.

use std::collections::{BTreeMap, BTreeSet};

use dockerfile_parser::{Dockerfile, Instruction, Stage, StageParent};

use crate::{
    env::{BINARIES, names},
    tools::{read, repo, run},
};

fn dockerfile() -> Dockerfile {
    Dockerfile::parse(&read("Dockerfile")).unwrap_or_else(|e| panic!("Dockerfile: {e}"))
}

/// A stage's instructions after those of the stages it is built `FROM`.
fn chain<'a>(stages: &'a [Stage<'a>], stage: &'a Stage<'a>) -> Vec<&'a Instruction> {
    let mut out = match stage.parent {
        StageParent::Stage(parent) => chain(stages, &stages[parent]),
        _ => Vec::new(),
    };
    out.extend(stage.instructions.iter().copied());
    out
}

/// The arguments of every `NAME` instruction (USER, EXPOSE, HEALTHCHECK, ...).
fn misc(instructions: &[&Instruction], name: &str) -> Vec<String> {
    instructions
        .iter()
        .filter_map(|i| i.as_misc())
        .filter(|m| m.instruction.content.eq_ignore_ascii_case(name))
        .map(|m| m.arguments.to_string().trim().to_owned())
        .collect()
}

fn copied_from_builder(instructions: &[&Instruction]) -> Vec<String> {
    instructions
        .iter()
        .filter_map(|i| i.as_copy())
        .filter(|c| {
            c.flags
                .iter()
                .any(|f| f.name.content == "from" && f.value.content == "builder")
        })
        .flat_map(|c| c.sources.iter().map(|s| s.content.clone()))
        .collect()
}

fn runs(instructions: &[&Instruction]) -> Vec<String> {
    instructions
        .iter()
        .filter_map(|i| i.as_run())
        .map(|r| match r.expr.as_shell() {
            Some(shell) => shell.to_string().trim().to_owned(),
            None => format!("{:?}", r.expr),
        })
        .collect()
}

#[test]
fn every_binary_has_a_small_non_root_image_with_its_ports_and_a_health_check() {
    let file = dockerfile();
    let stages = file.stages().stages;
    for binary in BINARIES {
        let stage = stages
            .iter()
            .find(|s| s.name.as_deref() == Some(binary.name))
            .unwrap_or_else(|| panic!("no Dockerfile stage named {}", binary.name));
        let all = chain(&stages, stage);
        let name = binary.name;

        let user = misc(&all, "USER").pop().unwrap_or_default();
        let uid: u32 = user
            .split(':')
            .next()
            .unwrap_or("")
            .parse()
            .unwrap_or_else(|_| {
                panic!(
                    "{name}: USER must be numeric (Kubernetes runAsNonRoot checks it), got {user:?}"
                )
            });
        assert_ne!(uid, 0, "{name}: runs as root");

        let exposed: BTreeSet<u16> = misc(&stage.instructions, "EXPOSE")
            .iter()
            .flat_map(|args| args.split_whitespace().map(|p| p.parse::<u16>().unwrap()))
            .collect();
        let defaults: BTreeSet<u16> = binary.default_ports().into_iter().collect();
        assert_eq!(
            exposed, defaults,
            "{name}: EXPOSE is not the binary's ports"
        );

        // ENV: only variables the binary reads, and they keep it on the exposed ports.
        let env: BTreeMap<String, String> = all
            .iter()
            .filter_map(|i| i.as_env())
            .flat_map(|e| e.vars.iter())
            .map(|v| (v.key.content.clone(), v.value.to_string()))
            .collect();
        let (ports, read) = binary.with_samples(&env).unwrap();
        let unread: Vec<_> = env.keys().filter(|k| !read.contains(*k)).collect();
        assert!(unread.is_empty(), "{name}: ENV sets {unread:?}, never read");
        assert_eq!(
            ports.into_iter().collect::<BTreeSet<_>>(),
            exposed,
            "{name}: ENV ports"
        );
        assert!(
            env.get("LISTEN_ADDR")
                .is_some_and(|a| a.starts_with("0.0.0.0:")),
            "{name}: the default loopback address is unreachable from outside a container"
        );

        let health = misc(&all, "HEALTHCHECK").pop().unwrap_or_default();
        assert!(
            health.contains("CMD") && health.contains(r#"["shopctl", "health"]"#),
            "{name}: HEALTHCHECK must run `shopctl health`, got {health:?}"
        );
        let entrypoint = stage
            .instructions
            .iter()
            .filter_map(|i| i.as_entrypoint())
            .filter_map(|e| e.expr.as_exec())
            .map(|a| {
                a.elements
                    .iter()
                    .map(|s| s.content.clone())
                    .collect::<Vec<_>>()
            })
            .next_back();
        assert_eq!(
            entrypoint,
            Some(vec![name.to_owned()]),
            "{name}: ENTRYPOINT"
        );

        let copied = copied_from_builder(&all);
        for wanted in [name, "shopctl"] {
            assert!(
                copied.contains(&format!("/src/target/release/{wanted}")),
                "{name}: image lacks {wanted} from the release build: {copied:?}"
            );
        }
        let StageParent::Image(base) = &stage.root else {
            panic!("{name}: built from scratch")
        };
        assert!(
            !base.image.contains("rust"),
            "{name}: the runtime image carries the toolchain ({base})"
        );
    }
}

#[test]
fn the_final_stages_are_exactly_the_binaries() {
    let file = dockerfile();
    let stages = file.stages().stages;
    let mut used = BTreeSet::new();
    for stage in &stages {
        if let StageParent::Stage(parent) = stage.parent {
            used.insert(stages[parent].name.clone().unwrap_or_default());
        }
        for copy in stage.instructions.iter().filter_map(|i| i.as_copy()) {
            for flag in copy.flags.iter().filter(|f| f.name.content == "from") {
                used.insert(flag.value.content.clone());
            }
        }
    }
    let finals: BTreeSet<&str> = stages
        .iter()
        .filter_map(|s| s.name.as_deref())
        .filter(|n| !used.contains(*n))
        .collect();
    assert_eq!(finals, names());
}

#[test]
fn the_builder_is_the_pinned_toolchain_running_the_one_release_build() {
    let file = dockerfile();
    let stages = file.stages().stages;
    let toolchain = read("rust-toolchain.toml");
    let channel = toolchain
        .lines()
        .find_map(|l| l.trim().strip_prefix("channel = "))
        .map(|c| c.trim_matches('"'))
        .expect("rust-toolchain.toml has a channel");
    let StageParent::Image(rust) = &stages[0].root else {
        panic!("the first stage is not FROM an image")
    };
    assert_eq!(rust.image, "rust");
    let tag = rust.tag.clone().unwrap_or_default();
    assert!(
        tag.starts_with(&format!("{channel}-")) || tag == channel,
        "rust:{tag} is not rust-toolchain.toml's {channel}"
    );

    let builder = stages
        .iter()
        .find(|s| s.name.as_deref() == Some("builder"))
        .expect("a builder stage");
    assert_eq!(
        runs(&builder.instructions),
        [
            "scripts/build-release.sh --deps-only recipe.json",
            "scripts/build-release.sh"
        ],
        "the builder's RUN steps"
    );
    let all_runs: Vec<String> = stages.iter().flat_map(|s| runs(&s.instructions)).collect();
    for run in &all_runs {
        assert!(
            !run.contains("cargo build") && !run.contains("chef cook"),
            "the Dockerfile spells out a build of its own: {run}"
        );
    }
}

/// The one definition of the release build is scripts/build-release.sh; every other
/// script that builds for release calls it.
#[test]
fn no_script_spells_out_its_own_release_build() {
    let script = read("scripts/build-release.sh");
    assert_eq!(
        script.matches("exec cargo build \"${SHIPPED[@]}\"").count(),
        1
    );
    assert_eq!(
        script
            .matches("exec cargo chef cook --recipe-path \"$2\" \"${SHIPPED[@]}\"")
            .count(),
        1
    );
    for caller in ["scripts/bench.sh", "scripts/up.sh"] {
        assert!(
            read(caller).contains("scripts/build-release.sh"),
            "{caller} does not use scripts/build-release.sh"
        );
    }
    for dir in ["scripts", ".ci"] {
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let relative = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            if relative == "scripts/build-release.sh" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
                assert!(
                    !(line.contains("cargo build") && line.contains("--release")),
                    "{relative} has a release build of its own: {line}"
                );
            }
        }
    }
}

/// The packages scripts/build-release.sh builds have exactly the binaries the images
/// copy (cargo's own view of the workspace).
#[tokio::test]
async fn the_release_build_makes_the_binaries_the_images_copy() {
    let script = read("scripts/build-release.sh");
    let shipped = script
        .lines()
        .find(|l| l.starts_with("SHIPPED=("))
        .expect("SHIPPED in scripts/build-release.sh");
    let packages: BTreeSet<&str> = shipped
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0] == "-p")
        .map(|w| w[1].trim_end_matches(')'))
        .collect();
    let built: BTreeSet<String> = workspace_binaries()
        .await
        .into_iter()
        .filter(|(_, package)| packages.contains(package.as_str()))
        .map(|(bin, _)| bin)
        .collect();

    let file = dockerfile();
    let stages = file.stages().stages;
    let copied: BTreeSet<String> = stages
        .iter()
        .flat_map(|s| copied_from_builder(&s.instructions))
        .map(|p| p.trim_start_matches("/src/target/release/").to_owned())
        .collect();
    assert_eq!(built, copied, "built by {packages:?} vs copied into images");
    let mut expected: BTreeSet<String> = names().iter().map(|n| (*n).to_owned()).collect();
    expected.insert("shopctl".into());
    assert_eq!(copied, expected);
}

/// Binaries of the workspace that are not deployed: the benchmark's load generator,
/// and (for now) the event exporter, which needs a broker the manifests do not have
/// yet. (`shopctl` ships inside every image.)
const NOT_DEPLOYED: &[&str] = &["loadgen", "exporter"];

/// Every binary target of the workspace, with its package (cargo's own view).
async fn workspace_binaries() -> BTreeMap<String, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let args = [
        "metadata",
        "--no-deps",
        "--format-version",
        "1",
        "--offline",
    ];
    let out = run(std::path::Path::new(&cargo), &args, &repo()).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut bins = BTreeMap::new();
    for package in metadata["packages"].as_array().unwrap() {
        for target in package["targets"].as_array().unwrap() {
            if target["kind"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k == "bin")
            {
                let name = target["name"].as_str().unwrap().to_owned();
                bins.insert(name, package["name"].as_str().unwrap().to_owned());
            }
        }
    }
    bins
}

/// A new server binary (say an event exporter) fails here until it is in
/// `env::BINARIES`, which makes every other check here require its image, compose
/// service and Deployment.
#[tokio::test]
async fn every_server_binary_of_the_workspace_is_deployed() {
    let servers: BTreeSet<String> = workspace_binaries()
        .await
        .into_keys()
        .filter(|b| b != "shopctl" && !NOT_DEPLOYED.contains(&b.as_str()))
        .collect();
    let deployed: BTreeSet<String> = names().iter().map(|n| (*n).to_owned()).collect();
    assert_eq!(servers, deployed);
}

#[test]
fn the_build_context_leaves_out_build_output_history_and_manifests() {
    let ignore = read(".dockerignore");
    let lines: BTreeSet<&str> = ignore.lines().map(str::trim).collect();
    for wanted in ["target", ".git", ".run", "deploy"] {
        assert!(lines.contains(wanted), ".dockerignore lacks {wanted}");
    }
}
