//! Typed statuses, kinds and modes (issue 8 §2): GraphQL shows and filters by enum
//! values (`COMPLETED`), REST keeps its lower-case strings (`completed`, `run.created`)
//! through the translation layer, and `node(id:)` finds runs.

use crate::common::calls::trigger;
use crate::common::run_support::{agent, str_of};
use crate::common::*;
use serde_json::{json, Value};

/// A completed run of a new mock agent; its id.
async fn completed_run(api: &Api) -> String {
    let agent = agent(api, "mock/echo", json!({})).await;
    let run = trigger(api, &agent, json!({ "input": "hi there" }), 200).await;
    assert_eq!(run["status"], "completed", "{run}");
    str_of(&run, "run_id").to_owned()
}

fn data(res: &Value) -> &Value {
    assert!(res.get("errors").is_none(), "{res}");
    &res["data"]
}

#[tokio::test]
async fn graphql_answers_enum_values_and_filters_by_them() {
    let s = TestServer::start().await;
    let api = s.api();
    let id = completed_run(&api).await;
    let q = "query($s: [RunStatus!]) { runs(filter: { status: $s }) { nodes { id status steps { type status } } } }";
    let res = api.gql(q, json!({ "s": ["COMPLETED"] })).await;
    let nodes = &data(&res)["runs"]["nodes"];
    assert_eq!(nodes[0]["id"], id, "{res}");
    assert_eq!(nodes[0]["status"], "COMPLETED", "{res}");
    assert_eq!(nodes[0]["steps"][0]["type"], "LLM", "{res}");
    assert_eq!(nodes[0]["steps"][0]["status"], "COMPLETED", "{res}");
    let res = api.gql(q, json!({ "s": ["FAILED", "QUEUED"] })).await;
    assert_eq!(data(&res)["runs"]["nodes"], json!([]), "{res}");
    // The stored spelling is no GraphQL value.
    let res = api.gql(q, json!({ "s": ["completed"] })).await;
    let message = res["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("RunStatus"), "{res}");
    assert_eq!(res["data"], Value::Null, "{res}");

    let res = api
        .gql(
            "{ viewer { organization { tier } } apiKeys { nodes { mode } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&res)["viewer"]["organization"]["tier"], "ENTERPRISE");
    assert_eq!(data(&res)["apiKeys"]["nodes"][0]["mode"], "LIVE");
}

#[tokio::test]
async fn rest_answers_lower_case_and_filters_by_lower_case() {
    let s = TestServer::start().await;
    let api = s.api();
    let id = completed_run(&api).await;
    let list = api.get("/v1/runs?status=completed", 200).await;
    assert_eq!(list["data"][0]["id"], id, "{list}");
    assert_eq!(list["data"][0]["status"], "completed", "{list}");
    let list = api
        .get("/v1/runs?status=failed,waiting_for_approval", 200)
        .await;
    assert_eq!(list["data"], json!([]), "{list}");
    let run = api.get(&format!("/v1/runs/{id}"), 200).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["steps"][0]["type"], "llm", "{run}");
    assert_eq!(run["steps"][0]["status"], "completed", "{run}");
    let keys = api.get("/v1/api-keys", 200).await;
    assert_eq!(keys["data"][0]["mode"], "live", "{keys}");

    // Event names are the stored, dotted kinds.
    let text = api
        .request(reqwest::Method::GET, &format!("/v1/runs/{id}/events"))
        .send()
        .await
        .expect("events")
        .text()
        .await
        .expect("events body");
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event:"))
        .map(str::trim)
        .collect();
    assert_eq!(names.first(), Some(&"run.created"), "{text}");
    assert!(names.contains(&"step.started"), "{text}");
    assert!(names.contains(&"token"), "{text}");
    assert_eq!(names.last(), Some(&"run.completed"), "{text}");
}

#[tokio::test]
async fn an_unknown_rest_status_is_a_bad_request_naming_it() {
    let s = TestServer::start().await;
    let problem = s.api().get("/v1/runs?status=finished", 400).await;
    assert_eq!(problem["code"], "bad_request", "{problem}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("finished"), "{problem}");
    assert!(detail.contains("waiting_for_approval"), "{problem}");
}

#[tokio::test]
async fn node_finds_a_run_and_not_another_organisations() {
    let s = TestServer::start().await;
    let api = s.api();
    let id = completed_run(&api).await;
    let q = "query($id: ID!) { node(id: $id) { __typename id ... on Run { status } } }";
    let res = api.gql(q, json!({ "id": id })).await;
    assert_eq!(
        data(&res)["node"],
        json!({ "__typename": "Run", "id": id, "status": "COMPLETED" })
    );
    let (_, other_key) = s.new_org("free").await;
    let res = s
        .api_with(Some(&other_key))
        .gql(q, json!({ "id": id }))
        .await;
    assert_eq!(data(&res)["node"], Value::Null, "{res}");
}
