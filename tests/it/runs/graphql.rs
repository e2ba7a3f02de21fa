//! Runs over GraphQL: `runAgent` returns the run with its agent and steps.

use crate::common::run_support::*;
use crate::common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn graphql_run_agent_returns_the_run_with_its_agent_and_steps() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let run_agent = "mutation($agent: ID!, $input: RunAgentInput!) {
        runAgent(agentId: $agent, input: $input) {
            id status output channel userId tokens { input output }
            agent { id name }
            steps { position type name status tokens { input output } }
        }
    }";
    let res = api
        .gql(
            run_agent,
            json!({ "agent": agent, "input": {
                "input": "Hello from GraphQL", "channel": "web", "userId": "usr_9", "mode": "SYNC",
            }}),
        )
        .await;
    assert_eq!(res["errors"], Value::Null, "{res}");
    let run = &res["data"]["runAgent"];
    assert!(str_of(run, "id").starts_with("run_"), "{run}");
    assert_eq!(run["status"], "COMPLETED", "{run}");
    assert_eq!(run["output"], "Hello from GraphQL");
    assert_eq!(run["channel"], "web");
    assert_eq!(run["userId"], "usr_9");
    assert!(run["tokens"]["output"].as_i64().unwrap() > 0, "{run}");
    assert_eq!(run["agent"], json!({ "id": agent, "name": "Booker" }));
    let steps = run["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{run}");
    assert_eq!(steps[0]["type"], "LLM");
    assert_eq!(steps[0]["status"], "COMPLETED");
    assert_eq!(steps[0]["name"], "mock/echo");
    assert!(steps[0]["tokens"]["input"].as_i64().unwrap() > 0, "{run}");
    let sync_id = str_of(run, "id").to_owned();

    let res = api
        .gql(
            run_agent,
            json!({ "agent": agent, "input": { "input": "later", "mode": "ASYNC" } }),
        )
        .await;
    assert_eq!(res["data"]["runAgent"]["status"], "QUEUED", "{res}");
    let async_id = str_of(&res["data"]["runAgent"], "id").to_owned();
    wait_end(&api, &async_id).await;

    let res = api
        .gql(
            "{ runs(first: 50) { nodes { id status agent { name } } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await;
    assert_eq!(res["errors"], Value::Null, "{res}");
    assert_eq!(
        res["data"]["runs"]["nodes"],
        json!([
            { "id": async_id, "status": "COMPLETED", "agent": { "name": "Booker" } },
            { "id": sync_id, "status": "COMPLETED", "agent": { "name": "Booker" } },
        ])
    );
    assert_eq!(res["data"]["runs"]["pageInfo"]["hasNextPage"], false);

    let res = api
        .gql(
            "query($id: ID!) { run(id: $id) { id input steps { type } } }",
            json!({ "id": sync_id }),
        )
        .await;
    assert_eq!(
        res["data"]["run"],
        json!({ "id": sync_id, "input": "Hello from GraphQL", "steps": [{ "type": "LLM" }] }),
        "{res}"
    );

    let res = api
        .gql(
            run_agent,
            json!({ "agent": agent, "input": { "input": "" } }),
        )
        .await;
    assert_eq!(
        res["errors"][0]["extensions"]["code"], "VALIDATION_FAILED",
        "{res}"
    );
}
