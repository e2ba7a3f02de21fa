//! Organisations are isolated (another organisation's agent is not found, `node(id:)`
//! finds own objects only), validation error codes with pointers, and scopes.

use super::*;
use crate::common::calls::{data, gql_agent as get_agent, gql_code as code};
use crate::common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn another_organisations_agent_is_not_found() {
    let s = TestServer::start().await;
    let mine = create(&s.api(), full_input("mine")).await;
    let id = mine["id"].as_str().unwrap();
    let (_, other_key) = s.new_org("enterprise").await;
    let other = s.api_with(Some(&other_key));

    let body = get_agent(&other, id).await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    assert_eq!(body["errors"][0]["path"], json!(["agent"]));
    assert_eq!(body["data"], Value::Null);

    // Nor can it be changed or deleted from there.
    let body = other
        .gql(
            "mutation($id: ID!) { updateAgent(id: $id, input: { name: \"stolen\" }) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let body = other
        .gql(
            "mutation($id: ID!) { deleteAgent(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    // ... and it is not in that organisation's list.
    assert!(!agent_ids(&other).await.contains(&id.to_owned()));

    // The owner still sees it unchanged.
    assert_eq!(data(&get_agent(&s.api(), id).await)["agent"], mine);
}

#[tokio::test]
async fn node_finds_own_objects_only() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = create(&api, full_input("noded")).await;
    let id = agent["id"].as_str().unwrap();
    let node_query = "query($id: ID!) { node(id: $id) { __typename id ... on Agent { name version } ... on AgentVersion { agentId version } ... on ApiKey { name } } }";

    let body = api.gql(node_query, json!({ "id": id })).await;
    assert_eq!(
        data(&body)["node"],
        json!({ "__typename": "Agent", "id": id, "name": "noded", "version": 1 })
    );

    // An agent version and an API key are nodes too.
    let versions = api
        .gql(
            "query($id: ID!) { agent(id: $id) { versions(first: 1) { nodes { id } } } }",
            json!({ "id": id }),
        )
        .await;
    let version_id = data(&versions)["agent"]["versions"]["nodes"][0]["id"].clone();
    let body = api.gql(node_query, json!({ "id": version_id })).await;
    assert_eq!(
        data(&body)["node"],
        json!({ "__typename": "AgentVersion", "id": version_id, "agentId": id, "version": 1 })
    );
    let viewer = api.gql("{ viewer { apiKeyId } }", json!({})).await;
    let key_id = data(&viewer)["viewer"]["apiKeyId"].clone();
    let body = api.gql(node_query, json!({ "id": key_id })).await;
    assert_eq!(data(&body)["node"]["__typename"], json!("ApiKey"));
    assert_eq!(data(&body)["node"]["id"], key_id);

    // Another organisation gets null (not an error) for each of them.
    let (_, other_key) = s.new_org("enterprise").await;
    let other = s.api_with(Some(&other_key));
    for foreign in [json!(id), version_id.clone(), key_id.clone()] {
        let body = other.gql(node_query, json!({ "id": foreign })).await;
        assert_eq!(
            data(&body)["node"],
            Value::Null,
            "node({foreign}) from another org: {body}"
        );
    }

    // Garbage and well-formed-but-unknown ids: null.
    for garbage in [
        "nope",
        "",
        "agt_",
        "agt_00000000000000000000000000",
        "zzz_01jabcdefghjkmnpqrstvwxyz0",
        "agt_01jabcdefghjkmnpqrst'; --",
    ] {
        let body = api.gql(node_query, json!({ "id": garbage })).await;
        assert_eq!(
            data(&body)["node"],
            Value::Null,
            "node({garbage:?}): {body}"
        );
    }
}

#[tokio::test]
async fn validation_errors_carry_code_and_pointers() {
    let s = TestServer::start().await;
    let api = s.api();
    let before = agent_ids(&api).await.len();
    let body = api
        .gql(
            "mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }",
            json!({ "input": { "name": "   ", "model": "no-slash" } }),
        )
        .await;
    assert_eq!(code(&body), "VALIDATION_FAILED", "{body}");
    assert_eq!(body["errors"][0]["path"], json!(["createAgent"]));
    let field_errors = body["errors"][0]["extensions"]["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no extensions.errors: {body}"));
    let pointers: Vec<&str> = field_errors
        .iter()
        .map(|e| e["pointer"].as_str().expect("pointer"))
        .collect();
    assert!(pointers.contains(&"/name"), "pointers {pointers:?}");
    assert!(pointers.contains(&"/model"), "pointers {pointers:?}");
    for e in field_errors {
        assert!(
            e["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "field error without detail: {e}"
        );
    }
    assert_eq!(agent_ids(&api).await.len(), before, "nothing was created");

    // A tool error points into the list.
    let body = api
        .gql(
            "mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }",
            json!({ "input": { "name": "t", "model": "mock/echo", "tools": [{ "type": "http", "name": "ok", "url": "ftp://x" }] } }),
        )
        .await;
    assert_eq!(code(&body), "VALIDATION_FAILED", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["errors"][0]["pointer"],
        json!("/tools/0/url")
    );

    // Updates are validated too and change nothing when invalid.
    let agent = create(&api, json!({ "name": "valid", "model": "mock/echo" })).await;
    let id = agent["id"].as_str().unwrap();
    let body = api
        .gql(
            "mutation($id: ID!) { updateAgent(id: $id, input: { name: \"\" }) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&body), "VALIDATION_FAILED", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["errors"][0]["pointer"],
        json!("/name")
    );
    assert_eq!(data(&get_agent(&api, id).await)["agent"], agent);

    // A wrongly typed variable is a request error, not a resolver error.
    let body = api
        .gql(
            "mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }",
            json!({ "input": { "name": 5, "model": "mock/echo" } }),
        )
        .await;
    assert!(
        body["errors"].as_array().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert!(
        body.get("data").is_none(),
        "a request error has no data: {body}"
    );
}

#[tokio::test]
async fn missing_scope_is_insufficient_scope() {
    let s = TestServer::start().await;
    let agent = create(&s.api(), full_input("scoped")).await;
    let id = agent["id"].as_str().unwrap();

    // A read-only key reads but cannot write.
    let reader = s.api_with(Some(&s.key(&s.org_id, &["agents:read"], false).await));
    assert_eq!(data(&get_agent(&reader, id).await)["agent"], agent);
    let body = reader
        .gql(
            "mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }",
            json!({ "input": { "name": "nope", "model": "mock/echo" } }),
        )
        .await;
    assert_eq!(code(&body), "INSUFFICIENT_SCOPE", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["scope"],
        json!("agents:write")
    );
    for mutation in [
        "mutation($id: ID!) { updateAgent(id: $id, input: { name: \"nope\" }) { id } }",
        "mutation($id: ID!) { deleteAgent(id: $id) }",
    ] {
        let body = reader.gql(mutation, json!({ "id": id })).await;
        assert_eq!(code(&body), "INSUFFICIENT_SCOPE", "{mutation}: {body}");
    }
    assert_eq!(data(&get_agent(&s.api(), id).await)["agent"], agent);
    assert_eq!(agent_ids(&s.api()).await, vec![id.to_owned()]);

    // A key without agents:read cannot read agents.
    let keys_only = s.api_with(Some(&s.key(&s.org_id, &["runs:read"], false).await));
    let body = get_agent(&keys_only, id).await;
    assert_eq!(code(&body), "INSUFFICIENT_SCOPE", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["scope"],
        json!("agents:read")
    );
    let body = keys_only
        .gql("{ agents(first: 5) { nodes { id } } }", json!({}))
        .await;
    assert_eq!(code(&body), "INSUFFICIENT_SCOPE", "{body}");
    // ... nor list or create keys.
    let body = keys_only
        .gql("{ apiKeys(first: 5) { nodes { id } } }", json!({}))
        .await;
    assert_eq!(code(&body), "INSUFFICIENT_SCOPE", "{body}");
    // viewer needs no scope.
    let body = keys_only.gql("{ viewer { scopes } }", json!({})).await;
    assert_eq!(data(&body)["viewer"]["scopes"], json!(["runs:read"]));
}
