//! Plan limits on the number of agents, also under concurrent creates.

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn free_plan_allows_three_agents() {
    let s = TestServer::start().await;
    let (_org, key) = s.new_org("free").await;
    let api = s.api_with(Some(&key));
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(api.create_agent(&format!("free {i}")).await["id"].clone());
    }
    let body = api
        .post(
            "/v1/agents",
            json!({ "name": "one too many", "model": "mock/echo" }),
            403,
        )
        .await;
    assert_eq!(body["code"], "plan_limit_exceeded", "{body}");
    assert_eq!(body["status"], 403);
    let list = api.get("/v1/agents", 200).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 3);
    // Deleting one makes room again.
    api.delete(&format!("/v1/agents/{}", ids[0].as_str().unwrap()), 200)
        .await;
    api.create_agent("fits again").await;
    api.post(
        "/v1/agents",
        json!({ "name": "no room", "model": "mock/echo" }),
        403,
    )
    .await;
    // The enterprise org of the same server is not limited by it.
    for i in 0..5 {
        s.api().create_agent(&format!("ent {i}")).await;
    }
}

#[tokio::test]
async fn pro_plan_allows_twenty_five_agents() {
    let s = TestServer::start().await;
    let (_org, key) = s.new_org("pro").await;
    let api = s.api_with(Some(&key));
    for i in 0..25 {
        api.create_agent(&format!("pro {i}")).await;
    }
    let body = api
        .post(
            "/v1/agents",
            json!({ "name": "26", "model": "mock/echo" }),
            403,
        )
        .await;
    assert_eq!(body["code"], "plan_limit_exceeded");
    let list = api.get("/v1/agents?limit=100", 200).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 25);
}

#[tokio::test]
async fn concurrent_creates_cannot_exceed_the_plan_limit() {
    // Enough connections that the creates really run side by side.
    let s = TestServer::start_with(|c| c.db_max_connections = 16).await;
    let (_org, key) = s.new_org("free").await;
    let api = s.api_with(Some(&key));
    // Authenticate once so the creates are not serialised behind the key lookup.
    api.get("/v1/agents", 200).await;
    let results = futures::future::join_all((0..24).map(|i| {
        let api = api.clone();
        async move {
            let res = api
                .request(Method::POST, "/v1/agents")
                .json(&json!({ "name": format!("race {i}"), "model": "mock/echo" }))
                .send()
                .await
                .expect("sent");
            let status = res.status().as_u16();
            let body: Value = res.json().await.expect("json");
            (status, body)
        }
    }))
    .await;
    let created = results.iter().filter(|(st, _)| *st == 201).count();
    for (status, body) in &results {
        assert!(
            *status == 201 || (*status == 403 && body["code"] == "plan_limit_exceeded"),
            "unexpected answer {status}: {body}"
        );
    }
    let listed = api.get("/v1/agents", 200).await["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(listed, created, "list disagrees with the 201s");
    assert_eq!(created, 3, "free plan ended with {created} agents");
}
