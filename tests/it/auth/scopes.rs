//! Scopes: every route needs its scope, checked before existence, in GraphQL too.

use super::*;
use crate::common::calls::{call, expect_header as header};
use crate::common::*;
use reqwest::header::WWW_AUTHENTICATE;
use reqwest::Method;
use serde_json::json;

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
