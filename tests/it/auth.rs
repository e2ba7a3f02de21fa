//! Authentication and authorisation over HTTP: 401s with `WWW-Authenticate`, revoked
//! keys, scopes per route, tenancy (another organisation's resources are 404 / null),
//! and API keys (secret shown once, test keys, no escalation).

use crate::common::*;
use reqwest::header::{HeaderMap, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::Method;
use serde_json::{json, Value};

/// Status, headers and JSON body (or the text as a JSON string) of one request.
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

async fn call(req: reqwest::RequestBuilder) -> Reply {
    let res = req.send().await.expect("request sent");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply {
        status,
        headers,
        body,
    }
}

fn header<'a>(r: &'a Reply, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header; status {}, body {}", r.status, r.body))
}

/// A REST 401: problem+json, `unauthenticated`, a Bearer challenge, a request id.
fn assert_unauthenticated(r: &Reply) {
    assert_eq!(r.status, 401, "body: {}", r.body);
    assert!(
        header(r, CONTENT_TYPE.as_str()).starts_with("application/problem+json"),
        "content type {:?}",
        r.headers.get(CONTENT_TYPE)
    );
    assert!(
        header(r, WWW_AUTHENTICATE.as_str()).starts_with("Bearer"),
        "challenge: {:?}",
        r.headers.get(WWW_AUTHENTICATE)
    );
    assert_eq!(r.body["code"], "unauthenticated", "{}", r.body);
    assert_eq!(r.body["status"], 401);
    let id = header(r, "x-request-id");
    assert_eq!(r.body["request_id"], id);
}

fn assert_insufficient_scope(r: &Reply, scope: &str) {
    assert_eq!(r.status, 403, "body: {}", r.body);
    assert!(header(r, CONTENT_TYPE.as_str()).starts_with("application/problem+json"));
    assert_eq!(r.body["code"], "insufficient_scope", "{}", r.body);
    assert!(
        r.body["detail"].as_str().unwrap_or("").contains(scope),
        "detail should name {scope}: {}",
        r.body
    );
}

fn a_key_that_does_not_exist() -> String {
    format!("os_live_{}", "Zq7".repeat(11))
}

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

/// One scope-protected REST call.
struct Route {
    method: Method,
    path: String,
    body: Option<Value>,
    scope: &'static str,
    success: u16,
}

/// The organisation's agents and keys (without the `last_used_at` that use changes).
async fn org_state(admin: &Api) -> (Value, Value) {
    let agents = admin.get("/v1/agents?limit=100", 200).await["data"].clone();
    let mut keys = admin.get("/v1/api-keys?limit=100", 200).await["data"].clone();
    for k in keys.as_array_mut().unwrap() {
        k.as_object_mut().unwrap().remove("last_used_at");
    }
    (agents, keys)
}

#[tokio::test]
async fn every_route_needs_its_scope() {
    let s = TestServer::start().await;
    let admin = s.api();
    let org = s.org_id.clone();
    let agent = admin.create_agent("scoped").await;
    let aid = agent["id"].as_str().unwrap().to_owned();
    // A key the `keys:write`-only caller may revoke: one whose scopes it holds.
    let spare_key = admin
        .post(
            "/v1/api-keys",
            json!({ "name": "spare", "scopes": ["keys:write"] }),
            201,
        )
        .await;
    let kid = spare_key["id"].as_str().unwrap().to_owned();
    let routes = vec![
        Route {
            method: Method::GET,
            path: "/v1/agents".into(),
            body: None,
            scope: "agents:read",
            success: 200,
        },
        Route {
            method: Method::GET,
            path: format!("/v1/agents/{aid}"),
            body: None,
            scope: "agents:read",
            success: 200,
        },
        Route {
            method: Method::GET,
            path: format!("/v1/agents/{aid}/versions"),
            body: None,
            scope: "agents:read",
            success: 200,
        },
        Route {
            method: Method::POST,
            path: "/v1/agents".into(),
            body: Some(json!({ "name": "new", "model": "mock/echo" })),
            scope: "agents:write",
            success: 201,
        },
        Route {
            method: Method::PATCH,
            path: format!("/v1/agents/{aid}"),
            body: Some(json!({ "instructions": "changed" })),
            scope: "agents:write",
            success: 200,
        },
        Route {
            method: Method::POST,
            path: "/v1/api-keys".into(),
            body: Some(json!({ "name": "k", "scopes": ["keys:write"] })),
            scope: "keys:write",
            success: 201,
        },
        Route {
            method: Method::GET,
            path: "/v1/api-keys".into(),
            body: None,
            scope: "keys:write",
            success: 200,
        },
        Route {
            method: Method::GET,
            path: format!("/v1/api-keys/{kid}"),
            body: None,
            scope: "keys:write",
            success: 200,
        },
        // The destructive ones last, so the resources exist for the calls above.
        Route {
            method: Method::DELETE,
            path: format!("/v1/api-keys/{kid}"),
            body: None,
            scope: "keys:write",
            success: 200,
        },
        Route {
            method: Method::DELETE,
            path: format!("/v1/agents/{aid}"),
            body: None,
            scope: "agents:write",
            success: 200,
        },
    ];
    let all = ["agents:read", "agents:write", "keys:write"];
    for route in &routes {
        let others: Vec<&str> = all.iter().copied().filter(|s| *s != route.scope).collect();
        let without = s.api_with(Some(&s.key(&org, &others, false).await));
        let only = s.api_with(Some(&s.key(&org, &[route.scope], false).await));
        let build = |api: &Api| {
            let mut req = api.request(route.method.clone(), &route.path);
            if let Some(b) = &route.body {
                req = req.json(b);
            }
            req
        };
        let before = org_state(&admin).await;
        let denied = call(build(&without)).await;
        assert_insufficient_scope(&denied, route.scope);
        assert!(
            header(&denied, WWW_AUTHENTICATE.as_str()).contains("insufficient_scope"),
            "{} {}",
            route.method,
            route.path
        );
        // The refused call changed nothing.
        assert_eq!(
            org_state(&admin).await,
            before,
            "{} {} without {} changed something",
            route.method,
            route.path,
            route.scope
        );
        let allowed = call(build(&only)).await;
        assert_eq!(
            allowed.status, route.success,
            "{} {} with {}: {}",
            route.method, route.path, route.scope, allowed.body
        );
    }
    // The allowed calls did their work.
    admin.get(&format!("/v1/agents/{aid}"), 404).await;
    let key = admin.get(&format!("/v1/api-keys/{kid}"), 200).await;
    assert!(key["revoked_at"].is_string());
}

#[tokio::test]
async fn scope_is_checked_before_existence() {
    let s = TestServer::start().await;
    let reader = s.api_with(Some(&s.key(&s.org_id, &["agents:read"], false).await));
    let missing = "agt_01jbz0000000000000000000zz";
    for r in [
        call(
            reader
                .request(Method::PATCH, &format!("/v1/agents/{missing}"))
                .json(&json!({ "name": "x" })),
        )
        .await,
        call(reader.request(Method::DELETE, &format!("/v1/agents/{missing}"))).await,
    ] {
        assert_insufficient_scope(&r, "agents:write");
    }
    let writer = s.api_with(Some(&s.key(&s.org_id, &["agents:write"], false).await));
    let r = call(writer.request(Method::GET, &format!("/v1/agents/{missing}"))).await;
    assert_insufficient_scope(&r, "agents:read");
}

#[tokio::test]
async fn graphql_checks_scopes_too() {
    let s = TestServer::start().await;
    let writer = s.api_with(Some(&s.key(&s.org_id, &["agents:write"], false).await));
    let body = writer
        .gql("{ agents(first: 5) { nodes { id } } }", json!({}))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "INSUFFICIENT_SCOPE",
        "{body}"
    );
    let reader = s.api_with(Some(&s.key(&s.org_id, &["agents:read"], false).await));
    let body = reader
        .gql(
            "mutation($i: CreateAgentInput!) { createAgent(input: $i) { id } }",
            json!({ "i": { "name": "n", "model": "mock/echo" } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "INSUFFICIENT_SCOPE",
        "{body}"
    );
    assert_eq!(s.api().get("/v1/agents", 200).await["data"], json!([]));
}

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
