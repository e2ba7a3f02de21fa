//! The unmodified npm `graphql-ws` client following a run to completion.

use super::*;
use crate::common::calls::trigger_async as trigger;
use crate::common::*;
use crate::node::{ensure_node_modules, node_dir, run, show};
use serde_json::Value;
use std::time::Duration;
use tokio::process::Command;

/// The unmodified `graphql-ws` client follows a slow run live: every event in order,
/// seq from 1, tokens giving the input back, and the subscription completes after
/// `run.completed`.
#[tokio::test]
async fn npm_graphql_ws_client_follows_a_run_to_completion() {
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
    let dir = node_dir();
    ensure_node_modules().await;

    let s = TestServer::start().await;
    let api = s.api();
    let agent = echo_agent(&api, "slow echo", 30).await;
    let input = sentence(40);
    let run_id = trigger(&api, &agent, &input).await;

    let output = run(
        Command::new("node")
            .arg(dir.join("ws-client.mjs"))
            .arg(ws_url(&s))
            .arg(&s.admin_key)
            .arg(&run_id)
            .current_dir(&dir),
        "node tests/graphql-http/ws-client.mjs",
        Duration::from_secs(60),
    )
    .await;
    let report = show(&output);
    assert!(
        output.status.success(),
        "the graphql-ws client did not complete the subscription\n{report}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}\n{report}")))
        .collect();
    for line in &lines {
        assert_eq!(line["runId"], run_id.as_str(), "runId of {line}");
        assert!(line["createdAt"].is_string(), "createdAt of {line}");
    }
    let events: Vec<Ev> = lines.iter().map(Ev::from_gql).collect();
    assert_whole_run(&events, &input, "graphql-ws client");
}
