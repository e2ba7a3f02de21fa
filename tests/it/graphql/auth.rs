//! The caller over GraphQL: `viewer`, 401s with GraphQL errors, and API keys created
//! over GraphQL that work until revoked.

use super::*;
use crate::common::calls::{data, gql_code as code};
use crate::common::*;
use reqwest::header::{ACCEPT, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn viewer_describes_the_caller() {
    let s = TestServer::start().await;
    let body = s
        .api()
        .gql(
            "{ viewer { organization { id name tier createdAt } apiKeyId scopes testMode } }",
            json!({}),
        )
        .await;
    let viewer = &data(&body)["viewer"];
    assert_eq!(viewer["organization"]["id"], json!(s.org_id));
    assert_eq!(viewer["organization"]["name"], json!("test org"));
    assert_eq!(viewer["organization"]["tier"], json!("ENTERPRISE"));
    let created = viewer["organization"]["createdAt"]
        .as_str()
        .expect("createdAt");
    assert!(is_rfc3339_millis_utc(created), "createdAt {created}");
    assert_eq!(viewer["scopes"], json!(["*"]));
    assert_eq!(viewer["testMode"], json!(false));
    let key_id = viewer["apiKeyId"].as_str().expect("apiKeyId");
    assert!(key_id.starts_with("key_"), "apiKeyId {key_id}");

    // The key id is the id of the key in use: it is in the organisation's key list.
    let keys = s
        .api()
        .gql("{ apiKeys(first: 100) { nodes { id } } }", json!({}))
        .await;
    assert!(
        data(&keys)["apiKeys"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == json!(key_id)),
        "viewer.apiKeyId {key_id} is not among the org's keys: {keys}"
    );

    // Another key: its own scopes, test mode, a different key id; same organisation.
    let test_key = s.key(&s.org_id, &["agents:read"], true).await;
    let body = s
        .api_with(Some(&test_key))
        .gql(
            "{ viewer { organization { id tier } apiKeyId scopes testMode } }",
            json!({}),
        )
        .await;
    let other = &data(&body)["viewer"];
    assert_eq!(other["organization"]["id"], json!(s.org_id));
    assert_eq!(other["scopes"], json!(["agents:read"]));
    assert_eq!(other["testMode"], json!(true));
    assert_ne!(other["apiKeyId"], json!(key_id));

    // A free organisation's key sees its own organisation.
    let (free_org, free_key) = s.new_org("free").await;
    let body = s
        .api_with(Some(&free_key))
        .gql("{ viewer { organization { id tier } } }", json!({}))
        .await;
    assert_eq!(data(&body)["viewer"]["organization"]["id"], json!(free_org));
    assert_eq!(data(&body)["viewer"]["organization"]["tier"], json!("FREE"));
}

#[tokio::test]
async fn unauthenticated_requests_are_401_with_graphql_errors() {
    let s = TestServer::start().await;
    let anonymous = s.api_with(None);
    let bogus = s.api_with(Some("os_live_thisisnotarealkeyatall0000000000"));
    let garbage = s.api_with(Some("hello"));
    let query = json!({ "query": "{ viewer { testMode } }" });

    for (who, api) in [
        ("no key", &anonymous),
        ("unknown key", &bogus),
        ("garbage key", &garbage),
    ] {
        for get in [false, true] {
            let req = if get {
                api.request(Method::GET, "/graphql")
                    .query(&[("query", "{ viewer { testMode } }")])
            } else {
                api.request(Method::POST, "/graphql").json(&query)
            };
            let (status, headers, body) = raw(req).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{who} get={get}: {body}");
            let www = headers
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{who}: no WWW-Authenticate header"));
            assert!(www.starts_with("Bearer"), "{who}: WWW-Authenticate {www}");
            assert_eq!(code(&body), "UNAUTHENTICATED", "{who}: {body}");
            assert!(body.get("data").is_none(), "{who}: {body}");
            assert!(
                content_type(&headers).starts_with("application/json"),
                "{who}: content-type {:?}",
                content_type(&headers)
            );
        }
    }

    // With graphql-response+json accepted, the error body is in that media type.
    let (status, headers, body) = raw(anonymous
        .request(Method::POST, "/graphql")
        .header(ACCEPT, GRAPHQL_RESPONSE_JSON)
        .json(&query))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(content_type(&headers).starts_with(GRAPHQL_RESPONSE_JSON));
    assert_eq!(code(&body), "UNAUTHENTICATED");

    // A non-Bearer scheme is refused too.
    let (status, headers, body) = raw(s
        .api_with(None)
        .request(Method::POST, "/graphql")
        .header("authorization", format!("Basic {}", s.admin_key))
        .json(&query))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key(WWW_AUTHENTICATE));
    assert_eq!(code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn api_keys_created_over_graphql_work_until_revoked() {
    let s = TestServer::start().await;
    let api = s.api();
    let body = api
        .gql(
            "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { id secret name scopes mode } }",
            json!({ "input": { "name": "ci", "scopes": ["agents:read"] } }),
        )
        .await;
    let created = &data(&body)["createApiKey"];
    let secret = created["secret"].as_str().expect("secret");
    assert!(secret.starts_with("os_live_"), "secret {secret}");
    assert_eq!(created["scopes"], json!(["agents:read"]));
    assert_eq!(created["mode"], json!("LIVE"));
    let key_id = created["id"].as_str().unwrap();

    let new_api = s.api_with(Some(secret));
    let body = new_api
        .gql("{ viewer { apiKeyId scopes } }", json!({}))
        .await;
    assert_eq!(
        data(&body)["viewer"],
        json!({ "apiKeyId": key_id, "scopes": ["agents:read"] })
    );

    // The secret is never shown again.
    let body = api
        .gql(
            "query($id: ID!) { apiKey(id: $id) { id name revokedAt } }",
            json!({ "id": key_id }),
        )
        .await;
    assert_eq!(data(&body)["apiKey"]["revokedAt"], Value::Null);
    assert!(!body.to_string().contains(secret));

    let body = api
        .gql(
            "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }",
            json!({ "id": key_id }),
        )
        .await;
    assert!(
        data(&body)["revokeApiKey"]["revokedAt"].is_string(),
        "{body}"
    );

    // At once: 401.
    let (status, headers, body) = raw(new_api
        .request(Method::POST, "/graphql")
        .json(&json!({ "query": "{ viewer { scopes } }" })))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(headers.contains_key(WWW_AUTHENTICATE));
    assert_eq!(code(&body), "UNAUTHENTICATED");
}
