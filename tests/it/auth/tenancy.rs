//! Tenancy: another organisation's resources and keys are not found.

use crate::common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn other_organisations_resources_are_not_found() {
    let s = TestServer::start().await;
    let mine = s.api();
    let (_other_org, other_key) = s.new_org("enterprise").await;
    let theirs = s.api_with(Some(&other_key));
    let their_agent = theirs
        .post(
            "/v1/agents",
            json!({ "name": "Theirs", "model": "mock/echo", "description": "private" }),
            201,
        )
        .await;
    let tid = their_agent["id"].as_str().unwrap().to_owned();
    let their_versions = theirs.get(&format!("/v1/agents/{tid}/versions"), 200).await;
    let their_version_id = their_versions["data"][0]["id"].as_str().unwrap().to_owned();
    let my_agent = mine.create_agent("Mine").await;

    // REST: 404 on every route, with nothing about the agent in the answer.
    for r in [
        mine.get(&format!("/v1/agents/{tid}"), 404).await,
        mine.patch(
            &format!("/v1/agents/{tid}"),
            json!({ "name": "hijacked" }),
            404,
        )
        .await,
        mine.delete(&format!("/v1/agents/{tid}"), 404).await,
        mine.get(&format!("/v1/agents/{tid}/versions"), 404).await,
    ] {
        assert_eq!(r["code"], "not_found", "{r}");
        assert!(!r.to_string().contains("private"));
    }
    // Not in my list, and my agent not in theirs.
    let list = mine.get("/v1/agents?limit=100", 200).await;
    assert_eq!(list["data"], json!([my_agent]));
    let list = theirs.get("/v1/agents?limit=100", 200).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    // Their agent is untouched.
    assert_eq!(
        theirs.get(&format!("/v1/agents/{tid}"), 200).await,
        their_agent
    );

    // GraphQL: node(id:) is null for their objects, present for mine.
    let q = "query($id: ID!) { node(id: $id) { id ... on Agent { name } } }";
    for id in [tid.as_str(), their_version_id.as_str()] {
        let body = mine.gql(q, json!({ "id": id })).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body["data"]["node"], Value::Null, "{id}: {body}");
    }
    let body = mine.gql(q, json!({ "id": my_agent["id"] })).await;
    assert_eq!(body["data"]["node"]["name"], "Mine", "{body}");
    let body = theirs.gql(q, json!({ "id": tid })).await;
    assert_eq!(body["data"]["node"]["name"], "Theirs", "{body}");
    // And `agent(id:)` is NOT_FOUND.
    let body = mine
        .gql(
            "query($id: ID!) { agent(id: $id) { id } }",
            json!({ "id": tid }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{body}"
    );
    let body = mine
        .gql(
            "mutation($id: ID!) { deleteAgent(id: $id) }",
            json!({ "id": tid }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{body}"
    );
    theirs.get(&format!("/v1/agents/{tid}"), 200).await;
}

#[tokio::test]
async fn other_organisations_keys_are_not_found() {
    let s = TestServer::start().await;
    let mine = s.api();
    let (_org, other_key) = s.new_org("pro").await;
    let theirs = s.api_with(Some(&other_key));
    let their_key = theirs
        .post(
            "/v1/api-keys",
            json!({ "name": "theirs", "scopes": ["agents:read"] }),
            201,
        )
        .await;
    let kid = their_key["id"].as_str().unwrap();
    assert_eq!(
        mine.get(&format!("/v1/api-keys/{kid}"), 404).await["code"],
        "not_found"
    );
    assert_eq!(
        mine.delete(&format!("/v1/api-keys/{kid}"), 404).await["code"],
        "not_found"
    );
    let list = mine.get("/v1/api-keys?limit=100", 200).await;
    assert!(
        !list["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == kid),
        "{list}"
    );
    // Their key still works.
    s.api_with(their_key["secret"].as_str())
        .get("/v1/agents", 200)
        .await;
    let body = mine
        .gql(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": kid }),
        )
        .await;
    assert_eq!(body["data"]["node"], Value::Null, "{body}");
}
