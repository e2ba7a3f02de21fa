//! The GraphQL over HTTP conformance audits of the `graphql-http` npm package
//! (`serverAudits`), run by `tests/graphql-http/audit.mjs` against a real server.
//! Every MUST and SHOULD audit has to pass. Needs Node.js: without it the test fails.

use crate::common::*;
use crate::node::{ensure_node_modules, node_dir, run, show};
use std::time::Duration;
use tokio::process::Command;

#[tokio::test]
async fn graphql_http_server_audits_pass() {
    let dir = node_dir();
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
    ensure_node_modules().await;

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
