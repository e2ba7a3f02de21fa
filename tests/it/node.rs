//! Node.js test clients (tests/graphql-http: the graphql-http audit, the graphql-ws
//! client): running them, and installing their npm packages on first use. Node.js is
//! required; a test that needs it fails without it.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;
use tokio::process::Command;

/// The npm packages the scripts use (package.json lists them).
const PACKAGES: &[&str] = &["graphql", "graphql-http", "graphql-ws", "ws"];

/// Where the scripts and their node_modules live.
pub fn node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/graphql-http")
}

/// A command's exit status and output, for assertion messages.
pub fn show(output: &Output) -> String {
    format!(
        "exit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs a command to completion without blocking the runtime the server serves on.
pub async fn run(cmd: &mut Command, what: &str, limit: Duration) -> Output {
    let child = cmd.kill_on_drop(true).output();
    match tokio::time::timeout(limit, child).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => panic!("could not run {what}: {e} (is it installed and on PATH?)"),
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

/// Installs the npm packages when `node_modules` lacks any (it is gitignored).
pub async fn ensure_node_modules() {
    let dir = node_dir();
    if PACKAGES.iter().all(|p| {
        dir.join("node_modules")
            .join(p)
            .join("package.json")
            .exists()
    }) {
        return;
    }
    let args: &[&str] = if dir.join("package-lock.json").exists() {
        &["ci", "--no-audit", "--no-fund"]
    } else {
        &["install", "--no-audit", "--no-fund"]
    };
    let output = run(
        Command::new("npm").args(args).current_dir(&dir),
        "npm (Node.js's package manager)",
        Duration::from_secs(300),
    )
    .await;
    assert!(
        output.status.success(),
        "npm {} failed in {}\n{}",
        args.join(" "),
        dir.display(),
        show(&output)
    );
}
