//! Issue 7 §4: what a key may do is the same on every path. A test key cannot mint a
//! live key, a narrow `keys:write` key cannot revoke a wider key, a `runs:read` key
//! cannot read agents through runs, and a stream is refused before any work is done.

use crate::common::run_support::{agent, words};
use crate::common::TestServer;
use serde_json::{json, Value};

#[tokio::test]
async fn a_test_key_cannot_create_a_live_key() {
    let server = TestServer::start().await;
    let test_key = server.key(&server.org_id, &["*"], true).await;
    let api = server.api_with(Some(&test_key));

    let refused = api
        .post(
            "/v1/api-keys",
            json!({ "name": "escape", "scopes": ["*"] }),
            403,
        )
        .await;
    assert_eq!(refused["code"], "forbidden", "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("test key"),
        "the refusal says why: {refused}"
    );

    let made = api
        .post(
            "/v1/api-keys",
            json!({ "name": "sandbox", "scopes": ["runs:read"], "test": true }),
            201,
        )
        .await;
    assert!(
        made["secret"].as_str().unwrap().starts_with("os_test_"),
        "{made}"
    );
    assert_eq!(made["mode"], "test");

    // Over GraphQL the same rule holds.
    let gql = api
        .gql(
            r#"mutation { createApiKey(input: { name: "x", scopes: ["*"] }) { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(gql["errors"][0]["extensions"]["code"], "FORBIDDEN", "{gql}");
}

#[tokio::test]
async fn a_narrow_keys_write_key_cannot_revoke_a_wider_key() {
    let server = TestServer::start().await;
    let admin = server.api();
    let keys = admin.get("/v1/api-keys", 200).await;
    let admin_id = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["scopes"] == json!(["*"]))
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .expect("the admin key is listed");
    let narrow = server.key(&server.org_id, &["keys:write"], false).await;
    let api = server.api_with(Some(&narrow));

    let refused = api.delete(&format!("/v1/api-keys/{admin_id}"), 403).await;
    assert_eq!(refused["code"], "forbidden", "{refused}");
    // The admin key still works.
    admin.get("/v1/agents", 200).await;

    // A key whose scopes it holds can be revoked.
    let peer = api
        .post(
            "/v1/api-keys",
            json!({ "name": "peer", "scopes": ["keys:write"] }),
            201,
        )
        .await;
    let revoked = api
        .delete(
            &format!("/v1/api-keys/{}", peer["id"].as_str().unwrap()),
            200,
        )
        .await;
    assert!(revoked["revoked_at"].is_string(), "{revoked}");

    // A test key cannot revoke a live key, even with every scope.
    let test_key = server.key(&server.org_id, &["*"], true).await;
    server
        .api_with(Some(&test_key))
        .delete(&format!("/v1/api-keys/{admin_id}"), 403)
        .await;
}

#[tokio::test]
async fn a_runs_read_key_cannot_read_the_agent_through_a_run() {
    let server = TestServer::start().await;
    let admin = server.api();
    let secret_instructions = "The internal discount code is ZEBRA-42.";
    let agent_id = agent(
        &admin,
        "mock/echo",
        json!({ "instructions": secret_instructions,
                "tools": [{ "type": "http", "name": "lookup", "url": "http://127.0.0.1:9/internal",
                            "description": "d", "parameters": { "type": "object" } }] }),
    )
    .await;
    let run = admin
        .post(
            &format!("/v1/agents/{agent_id}/run"),
            json!({ "input": "hi", "mode": "async" }),
            202,
        )
        .await;
    let run_id = run["run_id"].as_str().unwrap();
    let key = server.key(&server.org_id, &["runs:read"], false).await;
    let api = server.api_with(Some(&key));

    // The REST agent route answers 403 ...
    api.get(&format!("/v1/agents/{agent_id}"), 403).await;
    // ... and the GraphQL path through the run is refused the same way.
    let body = api
        .gql(
            "query($id: ID!) { run(id: $id) { id agent { instructions tools versions(first: 5) { nodes { instructions } } } } }",
            json!({ "id": run_id }),
        )
        .await;
    let text = body.to_string();
    assert!(!text.contains("ZEBRA-42"), "instructions leaked: {text}");
    assert!(!text.contains("127.0.0.1:9"), "tool URL leaked: {text}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "INSUFFICIENT_SCOPE",
        "{body}"
    );
    assert_eq!(
        body["data"]["run"]["id"],
        json!(run_id),
        "the run itself is readable"
    );
    assert_eq!(body["data"]["run"]["agent"], Value::Null);

    // An agents:read key still reads the agent through the run, versions included.
    let reader = server
        .key(&server.org_id, &["runs:read", "agents:read"], false)
        .await;
    let body = server
        .api_with(Some(&reader))
        .gql(
            "query($id: ID!) { run(id: $id) { agent { instructions versions(first: 5) { nodes { version } } } } }",
            json!({ "id": run_id }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        body["data"]["run"]["agent"]["instructions"],
        secret_instructions
    );
}

#[tokio::test]
async fn a_stream_without_read_scope_is_refused_before_the_run_is_created() {
    let server = TestServer::start().await;
    let admin = server.api();
    let agent_id = agent(&admin, "mock/echo", json!({})).await;
    let key = server.key(&server.org_id, &["runs:write"], false).await;
    let api = server.api_with(Some(&key));

    let refused = api
        .post(
            &format!("/v1/agents/{agent_id}/run"),
            json!({ "input": words(3), "stream": true }),
            403,
        )
        .await;
    assert_eq!(refused["code"], "insufficient_scope", "{refused}");
    assert!(
        refused["detail"].as_str().unwrap().contains("runs:read"),
        "{refused}"
    );
    // Accept: text/event-stream asks for a stream too.
    let res = api
        .request(reqwest::Method::POST, &format!("/v1/agents/{agent_id}/run"))
        .header("accept", "text/event-stream")
        .json(&json!({ "input": "hi" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let runs = admin.get("/v1/runs", 200).await;
    assert_eq!(runs["data"], json!([]), "no run was created or executed");
    // Without a stream the same key still triggers runs.
    api.post(
        &format!("/v1/agents/{agent_id}/run"),
        json!({ "input": "hi", "mode": "async" }),
        202,
    )
    .await;
}
