//! API keys: the secret shown once, test keys, no escalation, input validation,
//! revocation over GraphQL, and use recorded.

use super::*;
use crate::common::calls::call;
use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn api_key_secret_is_shown_once() {
    let s = TestServer::start().await;
    let admin = s.api();
    let created = admin
        .post(
            "/v1/api-keys",
            json!({ "name": "  ci deploys ", "scopes": ["agents:read", "agents:write"] }),
            201,
        )
        .await;
    let secret = created["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("os_live_"), "{secret}");
    assert!(secret.len() >= 8 + 24, "{secret}");
    assert!(secret[8..].bytes().all(|b| b.is_ascii_alphanumeric()));
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("key_"), "{id}");
    assert_eq!(created["name"], "ci deploys");
    assert_eq!(created["scopes"], json!(["agents:read", "agents:write"]));
    assert_eq!(created["mode"], "live");
    let prefix = created["prefix"].as_str().unwrap();
    assert!(
        secret.starts_with(prefix) && prefix.len() < secret.len() / 2,
        "{prefix}"
    );

    // Never again: not in GET, not in the list, not anywhere in their text.
    let got = admin.get(&format!("/v1/api-keys/{id}"), 200).await;
    assert!(got.get("secret").is_none(), "{got}");
    assert_eq!(got["prefix"], prefix);
    assert_eq!(got["scopes"], created["scopes"]);
    assert_eq!(got["revoked_at"], Value::Null);
    assert!(!got.to_string().contains(&secret));
    let list = admin.get("/v1/api-keys?limit=100", 200).await;
    assert_eq!(list["object"], "list");
    assert!(!list.to_string().contains(&secret));
    let items = list["data"].as_array().unwrap();
    assert!(items.iter().any(|k| k["id"] == id.as_str()));
    assert!(items.iter().all(|k| k.get("secret").is_none()));
    let body = admin
        .gql(
            "query($id: ID!) { apiKey(id: $id) { id prefix } }",
            json!({ "id": id }),
        )
        .await;
    assert!(!body.to_string().contains(&secret));

    // The secret works, with exactly its scopes.
    let user = s.api_with(Some(&secret));
    user.create_agent("made by ci").await;
    user.get("/v1/agents", 200).await;
    let r = call(user.request(Method::GET, "/v1/api-keys")).await;
    assert_insufficient_scope(&r, "keys:write");
    let viewer = user
        .gql("{ viewer { scopes testMode apiKeyId } }", json!({}))
        .await;
    assert_eq!(viewer["data"]["viewer"]["testMode"], false);
    assert_eq!(viewer["data"]["viewer"]["apiKeyId"], id.as_str());
}

#[tokio::test]
async fn test_keys_start_with_os_test() {
    let s = TestServer::start().await;
    let created = s
        .api()
        .post(
            "/v1/api-keys",
            json!({ "name": "sandbox", "scopes": ["agents:read"], "test": true }),
            201,
        )
        .await;
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("os_test_"), "{secret}");
    assert_eq!(created["mode"], "test");
    let user = s.api_with(Some(secret));
    user.get("/v1/agents", 200).await;
    let viewer = user.gql("{ viewer { testMode } }", json!({})).await;
    assert_eq!(viewer["data"]["viewer"]["testMode"], true, "{viewer}");
    let live = s
        .api()
        .post(
            "/v1/api-keys",
            json!({ "name": "live", "scopes": ["agents:read"], "test": false }),
            201,
        )
        .await;
    assert!(live["secret"].as_str().unwrap().starts_with("os_live_"));
}

#[tokio::test]
async fn a_key_cannot_grant_scopes_it_lacks() {
    let s = TestServer::start().await;
    let limited = s.api_with(Some(
        &s.key(&s.org_id, &["keys:write", "agents:read"], false)
            .await,
    ));
    for scopes in [
        json!(["agents:write"]),
        json!(["*"]),
        json!(["agents:read", "agents:write"]),
        json!(["runs:read"]),
    ] {
        let body = limited
            .post(
                "/v1/api-keys",
                json!({ "name": "escalate", "scopes": scopes }),
                403,
            )
            .await;
        assert_eq!(body["code"], "forbidden", "{scopes}: {body}");
    }
    // Subsets of its own scopes are fine.
    for scopes in [
        json!(["agents:read"]),
        json!(["keys:write"]),
        json!(["keys:write", "agents:read"]),
    ] {
        let body = limited
            .post(
                "/v1/api-keys",
                json!({ "name": "ok", "scopes": scopes }),
                201,
            )
            .await;
        assert_eq!(body["scopes"], scopes);
    }
    // No forbidden key was made: the org has the limited key and the three above.
    let list = s.api().get("/v1/api-keys?limit=100", 200).await;
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"escalate"), "{names:?}");
    assert_eq!(names.iter().filter(|n| **n == "ok").count(), 3);
    // A `*` key can grant anything.
    s.api()
        .post(
            "/v1/api-keys",
            json!({ "name": "all", "scopes": ["*"] }),
            201,
        )
        .await;
}

#[tokio::test]
async fn api_key_input_is_validated() {
    let s = TestServer::start().await;
    let api = s.api();
    let body = api
        .post(
            "/v1/api-keys",
            json!({ "name": "k", "scopes": ["agents:read", "agents:fly"] }),
            422,
        )
        .await;
    assert_eq!(body["code"], "validation_failed");
    assert_eq!(body["errors"][0]["pointer"], "/scopes/1", "{body}");
    let body = api
        .post("/v1/api-keys", json!({ "name": "k", "scopes": [] }), 422)
        .await;
    assert_eq!(body["errors"][0]["pointer"], "/scopes", "{body}");
    let body = api
        .post("/v1/api-keys", json!({ "scopes": ["agents:read"] }), 422)
        .await;
    assert_eq!(body["errors"][0]["pointer"], "/name", "{body}");
    let body = api
        .post(
            "/v1/api-keys",
            json!({ "name": " ", "scopes": ["agents:read"] }),
            422,
        )
        .await;
    assert_eq!(body["errors"][0]["pointer"], "/name", "{body}");
    let body = api
        .post(
            "/v1/api-keys",
            json!({ "name": "k", "scopes": "agents:read" }),
            422,
        )
        .await;
    assert_eq!(body["errors"][0]["pointer"], "/scopes", "{body}");
    let body = api
        .post(
            "/v1/api-keys",
            json!({ "name": "k", "scopes": ["agents:read"], "test": "yes" }),
            422,
        )
        .await;
    assert_eq!(body["errors"][0]["pointer"], "/test", "{body}");
}

#[tokio::test]
async fn revoking_over_graphql_is_immediate_too() {
    let s = TestServer::start().await;
    let created = s
        .api()
        .post(
            "/v1/api-keys",
            json!({ "name": "gql", "scopes": ["agents:read"] }),
            201,
        )
        .await;
    let user = s.api_with(created["secret"].as_str());
    user.get("/v1/agents", 200).await;
    let body = s
        .api()
        .gql(
            "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }",
            json!({ "id": created["id"] }),
        )
        .await;
    assert!(
        body["data"]["revokeApiKey"]["revokedAt"].is_string(),
        "{body}"
    );
    assert_unauthenticated(&call(user.request(Method::GET, "/v1/agents")).await);
}

#[tokio::test]
async fn key_use_is_recorded() {
    let s = TestServer::start().await;
    let admin = s.api();
    let created = admin
        .post(
            "/v1/api-keys",
            json!({ "name": "used", "scopes": ["agents:read"] }),
            201,
        )
        .await;
    let path = format!("/v1/api-keys/{}", created["id"].as_str().unwrap());
    assert_eq!(admin.get(&path, 200).await["last_used_at"], Value::Null);
    s.api_with(created["secret"].as_str())
        .get("/v1/agents", 200)
        .await;
    // Recorded off the request path, so allow it a moment.
    let mut last_used = Value::Null;
    for _ in 0..50 {
        last_used = admin.get(&path, 200).await["last_used_at"].clone();
        if !last_used.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let at = last_used.as_str().expect("last_used_at set after use");
    assert!(at >= created["created_at"].as_str().unwrap(), "{at}");
}
