//! The refusal names its limit, over REST and GraphQL alike; only live agents count.

use super::{agent_count, assert_refused, create_over_rest, fill};
use crate::common::TestServer;
use serde_json::json;

const CREATE: &str = "mutation($i: CreateAgentInput!) { createAgent(input: $i) { id } }";

#[tokio::test]
async fn the_403_names_the_limit_tier_and_resource_on_rest_and_graphql() {
    let s = TestServer::start().await;
    let (_org, key) = s.new_org("free").await;
    let api = s.api_with(Some(&key));
    fill(&api, 3).await;

    let (status, body) = create_over_rest(&api, "fourth".into()).await;
    assert_eq!(status, 403, "{body}");
    assert_refused(&body, "free", 3);
    assert_eq!(body["type"], "about:blank");
    assert_eq!(body["title"], "Forbidden");
    assert!(
        body["request_id"].as_str().is_some_and(|r| !r.is_empty()),
        "{body}"
    );

    // Every member is one the OpenAPI `Problem` schema documents, with its type.
    let doc: serde_json::Value =
        serde_json::from_str(&orchstack::rest::openapi_document().unwrap()).unwrap();
    let documented = &doc["components"]["schemas"]["Problem"]["properties"];
    for (name, value) in body.as_object().unwrap() {
        let ty = documented[name]["type"].clone();
        let matches = match ty.as_str() {
            Some("integer") => value.is_u64(),
            Some("string") => value.is_string(),
            _ => ty.as_array().is_some(), // `request_id`: string or null
        };
        assert!(matches, "`{name}` ({value}) is not documented as {ty}");
    }
    for name in ["limit", "tier", "resource"] {
        let allowed = &documented[name]["enum"];
        assert!(
            allowed.is_null() || allowed.as_array().unwrap().contains(&body[name]),
            "{name} = {} not in {allowed}",
            body[name]
        );
    }

    let gql = api
        .gql(
            CREATE,
            json!({ "i": { "name": "fourth", "model": "mock/echo" } }),
        )
        .await;
    let err = &gql["errors"][0];
    assert_eq!(gql["data"], json!(null), "{gql}");
    assert_eq!(
        err["extensions"],
        json!({ "code": "PLAN_LIMIT_EXCEEDED", "limit": 3, "tier": "free", "resource": "agents" }),
        "{gql}"
    );
    assert_eq!(
        err["message"],
        "the free plan allows 3 agents; delete one or upgrade"
    );
    assert_eq!(agent_count(&api).await, 3);
}

#[tokio::test]
async fn a_deleted_agent_frees_its_slot_and_stays_out_of_the_count() {
    let s = TestServer::start().await;
    let (_org, key) = s.new_org("free").await;
    let api = s.api_with(Some(&key));
    fill(&api, 3).await;
    let list = api.get("/v1/agents", 200).await;
    let first = list["data"][0]["id"].as_str().unwrap().to_owned();
    let second = list["data"][1]["id"].as_str().unwrap().to_owned();

    // Over REST, then over GraphQL: each delete makes room for exactly one more.
    api.delete(&format!("/v1/agents/{first}"), 200).await;
    api.create_agent("in the freed slot").await;
    assert_eq!(create_over_rest(&api, "no room".into()).await.0, 403);

    let gone = api
        .gql(
            "mutation($id: ID!) { deleteAgent(id: $id) }",
            json!({ "id": second }),
        )
        .await;
    assert_eq!(gone["data"]["deleteAgent"], second.as_str(), "{gone}");
    let created = api
        .gql(
            CREATE,
            json!({ "i": { "name": "again", "model": "mock/echo" } }),
        )
        .await;
    assert!(
        created["data"]["createAgent"]["id"].is_string(),
        "{created}"
    );
    let (status, body) = create_over_rest(&api, "still no room".into()).await;
    assert_eq!(status, 403, "{body}");
    assert_refused(&body, "free", 3);
    // Two agents deleted, five made: the deleted ones are not counted.
    assert_eq!(agent_count(&api).await, 3);
}
