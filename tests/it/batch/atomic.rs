//! Atomic batches: all changes in one transaction; the first failure rolls everything
//! back, names the operation and leaves the rest unattempted; runs triggered there are
//! queued when the batch commits, and never if it rolls back.

use super::{agent_count, batch, create, op, require_postgres, statuses};
use crate::common::run_support::{agent, get_run, str_of, time, wait_end};
use crate::common::*;
use serde_json::{json, Value};

async fn failed_batch_keeps_nothing(s: &TestServer) {
    let (_org, key) = s.new_org("free").await;
    let api = s.api_with(Some(&key));
    let problem = batch(
        &api,
        json!({ "atomic": true, "operations": [
            create("one"), create("two"), create("three"), create("four"), create("five"),
        ] }),
        422,
    )
    .await;
    assert_eq!(problem["code"], "batch_rolled_back", "{problem}");
    assert_eq!(problem["failed_operation"], 3, "{problem}");
    let results = problem["results"].as_array().expect("results");
    assert_eq!(results.len(), 4, "the fifth was not attempted: {problem}");
    for r in &results[..3] {
        assert_eq!(r["status"], 201, "{r}");
        assert_eq!(r["rolled_back"], true, "{r}");
    }
    assert_eq!(results[3]["status"], 403);
    assert_eq!(results[3]["body"]["code"], "plan_limit_exceeded");
    let detail = str_of(&problem, "detail");
    assert!(
        detail.contains("operation 3") && detail.contains("rolled back"),
        "{detail}"
    );
    assert_eq!(
        agent_count(&api).await,
        0,
        "nothing of a rolled-back batch is kept"
    );
    // The organisation's room is untouched: three creates fit afterwards.
    let answer = batch(
        &api,
        json!({ "atomic": true, "operations": [create("a"), create("b"), create("c")] }),
        200,
    )
    .await;
    assert_eq!(statuses(&answer), [201, 201, 201]);
    assert_eq!(agent_count(&api).await, 3);
}

#[tokio::test]
async fn an_atomic_batch_that_fails_keeps_nothing_and_names_the_failed_operation() {
    failed_batch_keeps_nothing(&TestServer::start().await).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: DATABASE_URL=postgres://... (CI runs it with --include-ignored)"]
async fn an_atomic_batch_that_fails_keeps_nothing_on_postgresql() {
    require_postgres();
    failed_batch_keeps_nothing(&TestServer::start().await).await;
}

#[tokio::test]
async fn an_atomic_batch_that_succeeds_keeps_everything_and_sees_its_own_changes() {
    let s = TestServer::start().await;
    let api = s.api();
    let answer = batch(
        &api,
        json!({ "atomic": true, "operations": [
            create("one"),
            create("two"),
            op("GET", "/v1/agents?fields=name&sort=name", None),
        ] }),
        200,
    )
    .await;
    assert_eq!(statuses(&answer), [201, 201, 200], "{answer}");
    assert_eq!(
        answer["results"][2]["body"]["data"],
        json!([{ "name": "one" }, { "name": "two" }])
    );
    assert_eq!(agent_count(&api).await, 2);
    // A refused operation fails an atomic batch like any other failure.
    let problem = batch(
        &api,
        json!({ "atomic": true, "operations": [create("three"), op("GET", "/v1/runs/run_01jabcdefghjkmnpqrstvwxyz0/events", None)] }),
        422,
    )
    .await;
    assert_eq!(problem["failed_operation"], 1, "{problem}");
    assert_eq!(problem["results"][1]["status"], 400, "{problem}");
    assert_eq!(agent_count(&api).await, 2);
}

#[tokio::test]
async fn a_run_triggered_in_an_atomic_batch_starts_only_after_the_commit() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    // The reads between the trigger and the last create give a worker ample time to
    // start a run it could see.
    let mut ops = vec![op(
        "POST",
        &format!("/v1/agents/{agent}/run"),
        Some(json!({ "input": "hello" })),
    )];
    ops.extend((0..30).map(|_| op("GET", &format!("/v1/agents/{agent}"), None)));
    ops.push(op("GET", &format!("/v1/runs?agent_id={agent}"), None));
    ops.push(create("last"));
    let answer = batch(&api, json!({ "atomic": true, "operations": ops }), 200).await;
    let results = answer["results"].as_array().expect("results");
    // A synchronous trigger inside the transaction does not wait: its run is queued.
    assert_eq!(results[0]["status"], 202, "{answer}");
    assert_eq!(results[0]["body"]["status"], "queued");
    let run_id = str_of(&results[0]["body"], "run_id").to_owned();
    let listed = &results[31]["body"]["data"];
    assert_eq!(listed[0]["id"], run_id.as_str(), "{listed}");
    assert_eq!(listed[0]["status"], "queued", "{listed}");
    let last = &results[32]["body"];
    let run = wait_end(&api, &run_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert!(
        time(&run["started_at"]) >= time(&last["created_at"]),
        "the run started ({}) before the batch's last write ({})",
        run["started_at"],
        last["created_at"]
    );
}

#[tokio::test]
async fn a_run_triggered_in_a_rolled_back_batch_never_exists() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let trigger = |input: &str| {
        op(
            "POST",
            &format!("/v1/agents/{agent}/run"),
            Some(json!({ "input": input, "mode": "async" })),
        )
    };
    let problem = batch(
        &api,
        json!({ "atomic": true, "operations": [trigger("never"), op("POST", "/v1/agents", Some(json!({ "name": "" })))] }),
        422,
    )
    .await;
    assert_eq!(problem["failed_operation"], 1, "{problem}");
    let ghost = str_of(&problem["results"][0]["body"], "run_id").to_owned();
    api.get(&format!("/v1/runs/{ghost}"), 404).await;
    // A run triggered afterwards is the only one the agent ever has.
    let run = api
        .post(
            &format!("/v1/agents/{agent}/run"),
            json!({ "input": "real" }),
            200,
        )
        .await;
    let runs = api.get(&format!("/v1/runs?agent_id={agent}"), 200).await;
    let ids: Vec<&Value> = runs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["id"])
        .collect();
    assert_eq!(ids, [&run["run_id"]], "{runs}");
    get_run(&api, str_of(&run, "run_id")).await;
}
