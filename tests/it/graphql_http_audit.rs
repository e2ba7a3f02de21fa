//! The GraphQL over HTTP conformance audits of the `graphql-http` npm package
//! (`serverAudits`), run by `tests/graphql-http/audit.mjs` against a real server.
//! Every MUST and SHOULD audit has to pass. Needs Node.js: without it the test fails.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;
use tokio::process::Command;

fn audit_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/graphql-http")
}

fn show(output: &Output) -> String {
    format!(
        "exit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs a command to completion (without blocking the runtime the server serves on).
async fn run(cmd: &mut Command, what: &str, limit: Duration) -> Output {
    let child = cmd.kill_on_drop(true).output();
    match tokio::time::timeout(limit, child).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => panic!("could not run {what}: {e} (is it installed and on PATH?)"),
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

/// Installs the audit's npm dependencies when `node_modules` is missing (it is gitignored).
async fn ensure_node_modules(dir: &Path) {
    if dir.join("node_modules/graphql-http/package.json").exists()
        && dir.join("node_modules/graphql/package.json").exists()
    {
        return;
    }
    let args: &[&str] = if dir.join("package-lock.json").exists() {
        &["ci", "--no-audit", "--no-fund"]
    } else {
        &["install", "--no-audit", "--no-fund"]
    };
    let output = run(
        Command::new("npm").args(args).current_dir(dir),
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

#[tokio::test]
async fn graphql_http_server_audits_pass() {
    let dir = audit_dir();
    let version = run(
        Command::new("node").arg("--version"),
        "node (Node.js is required for this test)",
        Duration::from_secs(30),
    )
    .await;
    assert!(
        version.status.success(),
        "`node --version` failed\n{}",
        show(&version)
    );
    ensure_node_modules(&dir).await;

    let s = TestServer::start().await;
    let url = format!("{}/graphql", s.base);
    let output = run(
        Command::new("node")
            .arg(dir.join("audit.mjs"))
            .arg(&url)
            .arg(&s.admin_key)
            .current_dir(&dir),
        "node tests/graphql-http/audit.mjs",
        Duration::from_secs(120),
    )
    .await;
    let report = show(&output);
    assert!(
        output.status.success(),
        "graphql-http audits failed against {url}\n{report}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        stdout.contains("every MUST and SHOULD audit passed"),
        "the audit script did not report completion\n{report}"
    );
}
