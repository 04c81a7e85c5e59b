//! The external tools of these tests (schemathesis, openapi-spec-validator, node with
//! playwright-core, chromium), installed by `scripts/lib.sh` `ensure_web_tools`, and
//! running them with a deadline.

use std::{
    path::{Path, PathBuf},
    process::{Output, Stdio},
    time::Duration,
};

use tokio::{process::Command, sync::OnceCell};

/// A first installation (chromium from Debian, the PyPI and npm tools) takes about a
/// minute and a half here.
const INSTALL_DEADLINE: Duration = Duration::from_secs(400);

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// Where screenshots and reports go (`target/tmp/web`).
pub fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The folder `ensure_web_tools` installs into (`bin/`, `node/node_modules/`).
pub async fn dir() -> &'static Path {
    static DIR: OnceCell<PathBuf> = OnceCell::const_new();
    DIR.get_or_init(|| async {
        if let Some(dir) = std::env::var_os("SHOP_WEB_TOOLS") {
            return PathBuf::from(dir);
        }
        let script = "source scripts/lib.sh && ensure_web_tools >&2 && echo \"$SHOP_WEB_TOOLS\"";
        let mut command = Command::new("bash");
        command.args(["-c", script]).current_dir(repo());
        let out = run(command, INSTALL_DEADLINE).await;
        assert!(
            out.status.success(),
            "ensure_web_tools failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
    .await
}

pub async fn bin(name: &str) -> PathBuf {
    let path = dir().await.join("bin").join(name);
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// Runs `command` (no stdin); panics when it does not end within `deadline`.
pub async fn run(mut command: Command, deadline: Duration) -> Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(deadline, child).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => panic!("cannot run {command:?}: {e}"),
        Err(_) => panic!("{command:?} did not finish within {deadline:?}"),
    }
}
