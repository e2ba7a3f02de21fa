//! Credentials: 401s with a `WWW-Authenticate` challenge (REST and GraphQL), and
//! revoked keys refused at once.

use super::*;
use crate::common::calls::{call, expect_header as header};
use crate::common::*;
use reqwest::header::WWW_AUTHENTICATE;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn missing_credentials_are_401_with_a_challenge() {
    let s = TestServer::start().await;
    let agent = s.api().create_agent("guarded").await;
    let id = agent["id"].as_str().unwrap();
    let anon = s.api_with(None);
    for (method, path) in [
        (Method::GET, "/v1/agents".to_owned()),
        (Method::POST, "/v1/agents".to_owned()),
        (Method::GET, format!("/v1/agents/{id}")),
        (Method::PATCH, format!("/v1/agents/{id}")),
        (Method::DELETE, format!("/v1/agents/{id}")),
        (Method::GET, format!("/v1/agents/{id}/versions")),
        (Method::GET, "/v1/api-keys".to_owned()),
        (Method::POST, "/v1/api-keys".to_owned()),
    ] {
        let mut req = anon.request(method.clone(), &path);
        if method == Method::POST || method == Method::PATCH {
            req = req.json(&json!({ "name": "x", "model": "mock/echo" }));
        }
        let r = call(req).await;
        assert_unauthenticated(&r);
    }
    // Nothing happened: the agent is still there, unchanged, and alone.
    let list = s.api().get("/v1/agents", 200).await;
    assert_eq!(list["data"], json!([agent]));
}

#[tokio::test]
async fn malformed_and_unknown_credentials_are_401() {
    let s = TestServer::start().await;
    let good = s.admin_key.clone();
    let unknown = a_key_that_does_not_exist();
    let headers = [
        format!("Basic {good}"),
        good.clone(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        "Bearer not-a-key".to_owned(),
        "Bearer os_live_short".to_owned(),
        format!("Bearer {good}x!"),
        format!("Token {good}"),
        format!("Bearer {unknown}"),
        format!("Bearer {}", unknown.replace("os_live_", "os_test_")),
    ];
    let anon = s.api_with(None);
    for value in headers {
        let r = call(
            anon.request(Method::GET, "/v1/agents")
                .header("authorization", &value),
        )
        .await;
        assert_eq!(r.status, 401, "Authorization: {value} → {}", r.body);
        assert_unauthenticated(&r);
        // The key is never echoed back.
        assert!(!r.body.to_string().contains(&good));
    }
    // The good key works, with either spelling of the scheme.
    for scheme in ["Bearer", "bearer"] {
        let r = call(
            anon.request(Method::GET, "/v1/agents")
                .header("authorization", format!("{scheme} {good}")),
        )
        .await;
        assert_eq!(r.status, 200, "{scheme}: {}", r.body);
    }
}

#[tokio::test]
async fn graphql_without_credentials_is_401() {
    let s = TestServer::start().await;
    let anon = s.api_with(None);
    let r = call(
        anon.request(Method::POST, "/graphql")
            .json(&json!({ "query": "{ viewer { scopes } }" })),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(header(&r, WWW_AUTHENTICATE.as_str()).starts_with("Bearer"));
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{}",
        r.body
    );
    assert!(r.body.get("data").is_none_or(Value::is_null), "{}", r.body);
    let r = call(
        anon.request(Method::POST, "/graphql")
            .header(
                "authorization",
                format!("Bearer {}", a_key_that_does_not_exist()),
            )
            .json(&json!({ "query": "{ viewer { scopes } }" })),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.headers.contains_key(WWW_AUTHENTICATE));
}

#[tokio::test]
async fn revoked_key_is_refused_at_once() {
    let s = TestServer::start().await;
    let admin = s.api();
    let created = admin
        .post(
            "/v1/api-keys",
            json!({ "name": "short-lived", "scopes": ["agents:read"] }),
            201,
        )
        .await;
    let key_id = created["id"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let user = s.api_with(Some(&secret));
    // Used (and so cached by the server) before revocation.
    user.get("/v1/agents", 200).await;
    user.get("/v1/agents", 200).await;

    let revoked = admin.delete(&format!("/v1/api-keys/{key_id}"), 200).await;
    assert_eq!(revoked["id"], key_id.as_str());
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    assert!(revoked.get("secret").is_none());

    let r = call(user.request(Method::GET, "/v1/agents")).await;
    assert_unauthenticated(&r);
    let r = call(
        user.request(Method::POST, "/graphql")
            .json(&json!({ "query": "{ viewer { scopes } }" })),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);

    // The key stays visible as revoked; revoking again changes nothing.
    let got = admin.get(&format!("/v1/api-keys/{key_id}"), 200).await;
    assert_eq!(got["revoked_at"], revoked["revoked_at"]);
    let again = admin.delete(&format!("/v1/api-keys/{key_id}"), 200).await;
    assert_eq!(again["revoked_at"], revoked["revoked_at"]);
    let list = admin.get("/v1/api-keys", 200).await;
    let item = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == key_id.as_str())
        .cloned()
        .expect("revoked key listed");
    assert_eq!(item["revoked_at"], revoked["revoked_at"]);
    // The admin key itself is untouched.
    admin.get("/v1/agents", 200).await;
}

#[tokio::test]
async fn a_key_can_revoke_itself() {
    let s = TestServer::start().await;
    let created = s
        .api()
        .post(
            "/v1/api-keys",
            json!({ "name": "self", "scopes": ["keys:write"] }),
            201,
        )
        .await;
    let me = s.api_with(created["secret"].as_str());
    me.delete(
        &format!("/v1/api-keys/{}", created["id"].as_str().unwrap()),
        200,
    )
    .await;
    assert_unauthenticated(&call(me.request(Method::GET, "/v1/api-keys")).await);
}
