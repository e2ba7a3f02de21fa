//! The `runUpdates` subscription: status changes of the own organisation's runs only.

use super::*;
use crate::common::calls::trigger_async as trigger;
use crate::common::*;
use serde_json::{json, Value};
use std::time::Duration;

/// `(run id, status, output)` of the `runUpdates` payloads of subscription `id` read so
/// far, appended to `into`; returns once `until` says so.
async fn read_updates(
    ws: &mut Gws,
    into: &mut Vec<(String, Value)>,
    until: impl Fn(&[(String, Value)]) -> bool,
) {
    while !until(into) {
        let msg = ws.recv().await;
        assert_eq!(msg["type"], "next", "unexpected message: {msg}");
        let payload = &msg["payload"];
        assert!(payload.get("errors").is_none(), "errors: {payload}");
        into.push((
            msg["id"].as_str().expect("id").to_owned(),
            payload["data"]["runUpdates"].clone(),
        ));
    }
}

fn has_completed(updates: &[(String, Value)], sub: &str, run_id: &str) -> bool {
    updates
        .iter()
        .any(|(id, run)| id == sub && run["id"] == run_id && run["status"] == "COMPLETED")
}

/// `runUpdates` delivers the organisation's own run going through `running` to
/// `completed` (with its output), honours `filter`, and never delivers another
/// organisation's runs.
#[tokio::test]
async fn ws_run_updates_streams_own_org_status_changes_only() {
    let s = TestServer::start().await;
    let api = s.api();
    let reader_key = s.key(&s.org_id, &["runs:read"], false).await;
    let (_, other_key) = s.new_org("enterprise").await;
    let other = s.api_with(Some(&other_key));
    let agent = echo_agent(&api, "mine", 30).await;
    let other_agent = echo_agent(&other, "theirs", 0).await;

    let mut mine = Gws::connect(&s).await;
    mine.init(&reader_key).await;
    mine.subscribe("all", UPDATES_SUB, json!({})).await;
    mine.subscribe(
        "completed",
        UPDATES_SUB,
        json!({ "filter": { "status": ["COMPLETED"] } }),
    )
    .await;
    mine.settle().await;
    let mut theirs = Gws::connect(&s).await;
    theirs.init(&other_key).await;
    theirs.subscribe("all", UPDATES_SUB, json!({})).await;
    theirs.settle().await;

    // The other organisation's run, followed to its end on its own socket.
    let their_run = trigger(&other, &other_agent, "not for you").await;
    let mut their_updates = Vec::new();
    read_updates(&mut theirs, &mut their_updates, |u| {
        has_completed(u, "all", &their_run)
    })
    .await;

    // Our run.
    let input = sentence(8);
    let my_run = trigger(&api, &agent, &input).await;
    let mut my_updates = Vec::new();
    read_updates(&mut mine, &mut my_updates, |u| {
        has_completed(u, "all", &my_run) && has_completed(u, "completed", &my_run)
    })
    .await;
    // Anything late would show up here.
    while let Some(msg) = mine.recv_within(Duration::from_millis(300)).await {
        my_updates.push((
            msg["id"].as_str().unwrap_or_default().to_owned(),
            msg["payload"]["data"]["runUpdates"].clone(),
        ));
    }
    while let Some(msg) = theirs.recv_within(Duration::from_millis(300)).await {
        their_updates.push((
            msg["id"].as_str().unwrap_or_default().to_owned(),
            msg["payload"]["data"]["runUpdates"].clone(),
        ));
    }
    println!("my updates: {my_updates:?}\ntheir updates: {their_updates:?}");

    assert!(
        my_updates
            .iter()
            .all(|(_, run)| run["id"] != their_run.as_str()),
        "another organisation's run was delivered: {my_updates:?}"
    );
    assert!(
        their_updates
            .iter()
            .all(|(_, run)| run["id"] != my_run.as_str()),
        "another organisation's run was delivered: {their_updates:?}"
    );
    let statuses: Vec<&str> = my_updates
        .iter()
        .filter(|(sub, run)| sub == "all" && run["id"] == my_run.as_str())
        .map(|(_, run)| run["status"].as_str().expect("status"))
        .collect();
    assert!(
        statuses.contains(&"RUNNING"),
        "statuses of the run: {statuses:?}"
    );
    assert_eq!(
        statuses.last(),
        Some(&"COMPLETED"),
        "statuses of the run: {statuses:?}"
    );
    let running = statuses
        .iter()
        .position(|s| *s == "RUNNING")
        .expect("running");
    let completed = statuses
        .iter()
        .position(|s| *s == "COMPLETED")
        .expect("completed");
    assert!(
        running < completed,
        "running before completed: {statuses:?}"
    );
    let completed_run = my_updates
        .iter()
        .find(|(sub, run)| {
            sub == "all" && run["id"] == my_run.as_str() && run["status"] == "COMPLETED"
        })
        .map(|(_, run)| run)
        .expect("completed update");
    assert_eq!(completed_run["output"], input.as_str(), "{completed_run}");
    assert_eq!(completed_run["agentId"], agent.as_str(), "{completed_run}");
    let filtered: Vec<&Value> = my_updates
        .iter()
        .filter(|(sub, _)| sub == "completed")
        .map(|(_, run)| run)
        .collect();
    assert!(
        filtered.iter().all(|run| run["status"] == "COMPLETED"),
        "filter status [completed] let other statuses through: {filtered:?}"
    );
    assert_eq!(filtered.len(), 1, "one completed update: {filtered:?}");
}
