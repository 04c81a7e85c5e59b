//! The repository's files and the pinned external tools (kubectl with its kustomize,
//! kubernetes-validate, Docker Compose), installed by `scripts/lib.sh`
//! `ensure_deploy_tools` (scripts/test.sh calls it and exports `SHOP_DEPLOY_TOOLS`; a
//! bare `cargo test` calls it from here), each run with a deadline.

use std::{
    ffi::OsStr,
    path::{Path, PathBuf},
    process::{Output, Stdio},
    time::Duration,
};

use tokio::{process::Command, sync::OnceCell};

/// First installation included (about 25 s here); a tool's run takes a second or two.
const INSTALL_DEADLINE: Duration = Duration::from_secs(300);
const RUN_DEADLINE: Duration = Duration::from_secs(60);

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

pub fn read(relative: &str) -> String {
    let path = repo().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The folder holding `kubectl`, `kubernetes-validate` and `docker-compose`.
async fn tools_dir() -> &'static Path {
    static DIR: OnceCell<PathBuf> = OnceCell::const_new();
    DIR.get_or_init(|| async {
        if let Some(dir) = std::env::var_os("SHOP_DEPLOY_TOOLS") {
            return PathBuf::from(dir);
        }
        let script =
            "source scripts/lib.sh && ensure_deploy_tools >&2 && echo \"$SHOP_DEPLOY_TOOLS\"";
        let out = run_with(
            Path::new("bash"),
            &["-c", script],
            &repo(),
            INSTALL_DEADLINE,
        )
        .await;
        assert!(
            out.status.success(),
            "ensure_deploy_tools failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
    .await
}

pub async fn tool(name: &str) -> PathBuf {
    let path = tools_dir().await.join(name);
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// Runs `program` in `cwd`; panics when it does not end within the deadline.
pub async fn run_with<S: AsRef<OsStr>>(
    program: &Path,
    args: &[S],
    cwd: &Path,
    deadline: Duration,
) -> Output {
    let child = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(deadline, child).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => panic!("cannot run {}: {e}", program.display()),
        Err(_) => panic!("{} did not finish within {deadline:?}", program.display()),
    }
}

pub async fn run<S: AsRef<OsStr>>(program: &Path, args: &[S], cwd: &Path) -> Output {
    run_with(program, args, cwd, RUN_DEADLINE).await
}

/// Copies a directory tree (the manifests, so a test can add a file to its copy).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A fresh random secret (64 hex characters) for the rendered copies.
pub fn secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}
