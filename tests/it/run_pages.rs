//! A page of runs with their agents (issue 11): the page's agents are read with the page
//! in one query, whichever shape the page is asked in (`nodes` or `edges`), each run
//! gets its own agent (a deleted one too: a run still names it), and another
//! organisation's agents never appear.

use crate::common::calls::trigger;
use crate::common::run_support::*;
use crate::common::*;
use serde_json::{json, Value};
use std::collections::HashMap;

#[tokio::test]
async fn a_page_of_runs_asked_through_nodes_carries_each_runs_own_agent_in_two_statements() {
    // No worker: nothing else touches the database while the page is measured.
    let s = TestServer::start_with(|c| c.worker.enabled = false).await;
    let api = s.api();
    // Another organisation, with an agent and a run, in the same database.
    let (_, other_key) = s.new_org("enterprise").await;
    let other = s.api_with(Some(&other_key));
    let foreign = agent(&other, "mock/echo", json!({})).await;
    trigger(
        &other,
        &foreign,
        json!({ "input": "x", "mode": "async" }),
        202,
    )
    .await;

    let mut agents = Vec::new();
    for _ in 0..4 {
        agents.push(agent(&api, "mock/echo", json!({})).await);
    }
    let mut owner = HashMap::new();
    for i in 0..20 {
        let body = json!({ "input": words(2), "mode": "async" });
        let run = trigger(&api, &agents[i % 4], body, 202).await;
        owner.insert(str_of(&run, "run_id").to_owned(), agents[i % 4].clone());
    }
    // A deleted agent still names its runs' agent.
    api.delete(&format!("/v1/agents/{}", agents[3]), 200).await;

    let query = "{ runs(first: 50) { nodes { id agentId agent { id name } } } }";
    api.gql(query, json!({})).await; // warm: key verified and cached
    let before = s.state.db_stats.statements();
    let body = api.gql(query, json!({})).await;
    let used = s.state.db_stats.statements() - before;

    let nodes = body["data"]["runs"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes: {body}"));
    assert_eq!(nodes.len(), 20, "{body}");
    for node in nodes {
        let id = node["id"].as_str().unwrap_or_default();
        let agent: &Value = &node["agent"];
        assert_eq!(agent["id"], node["agentId"], "{node}");
        assert_eq!(agent["id"], owner[id].as_str(), "{node}");
        assert_ne!(agent["id"], foreign.as_str(), "{node}");
        assert!(agent["name"].is_string(), "{node}");
    }
    assert!(used >= 1, "the statement counter counted nothing");
    assert!(
        used <= 2,
        "20 runs with their agents took {used} SQL statements (the page and one agent lookup)"
    );
}

/// Without `agent` in the selection, the page reads no agent at all.
#[tokio::test]
async fn a_page_of_runs_without_agents_reads_no_agent() {
    let s = TestServer::start_with(|c| c.worker.enabled = false).await;
    let api = s.api();
    let agent_id = agent(&api, "mock/echo", json!({})).await;
    for _ in 0..5 {
        trigger(
            &api,
            &agent_id,
            json!({ "input": "x", "mode": "async" }),
            202,
        )
        .await;
    }
    let query = "{ runs(first: 50) { nodes { id status } } }";
    api.gql(query, json!({})).await;
    let before = s.state.db_stats.statements();
    let body = api.gql(query, json!({})).await;
    let used = s.state.db_stats.statements() - before;
    assert_eq!(
        body["data"]["runs"]["nodes"].as_array().map(Vec::len),
        Some(5),
        "{body}"
    );
    assert_eq!(
        used, 1,
        "a page of runs without agents took {used} statements"
    );
}

/// A key that may read runs but not agents still gets its runs; each `agent` is refused
/// on its own (as before the page read agents itself), not the whole page.
#[tokio::test]
async fn a_key_without_agents_read_gets_its_runs_and_a_refusal_per_agent() {
    let s = TestServer::start_with(|c| c.worker.enabled = false).await;
    let api = s.api();
    let agent_id = agent(&api, "mock/echo", json!({})).await;
    for _ in 0..2 {
        trigger(
            &api,
            &agent_id,
            json!({ "input": "x", "mode": "async" }),
            202,
        )
        .await;
    }
    let key = s.key(&s.org_id, &["runs:read"], false).await;
    let runs_only = s.api_with(Some(&key));
    let body = runs_only
        .gql(
            "{ runs(first: 10) { nodes { id agent { name } } } }",
            json!({}),
        )
        .await;
    let nodes = body["data"]["runs"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("the page itself was refused: {body}"));
    assert_eq!(nodes.len(), 2, "{body}");
    assert!(
        nodes
            .iter()
            .all(|n| n["id"].is_string() && n["agent"].is_null()),
        "{body}"
    );
    let errors = body["errors"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(errors, 2, "one refusal per run's agent: {body}");
}
