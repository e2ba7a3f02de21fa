//! Idempotency keys through HTTP: replays, reuse, in-flight requests, failures that
//! leave no record, GraphQL mutations, runs, and retries racing across two instances.

mod runs;

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// Sends `body` to `path` with `key`; returns (status, replayed header, body).
pub async fn keyed(
    api: &Api,
    method: Method,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, Option<String>, Value) {
    let mut req = api.request(method, path).header("Idempotency-Key", key);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.expect("sent");
    let status = res.status().as_u16();
    let replayed = res
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    let text = res.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, replayed, body)
}

fn agent_body(name: &str) -> Value {
    json!({ "name": name, "model": "mock/echo", "instructions": "Be brief." })
}

async fn agent_count(api: &Api) -> usize {
    let list = api.get("/v1/agents?limit=100", 200).await;
    list["data"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn the_same_key_and_request_replays_the_first_answer_without_doing_it_again() {
    let s = TestServer::start().await;
    let api = s.api();
    let (status, replayed, first) = keyed(
        &api,
        Method::POST,
        "/v1/agents",
        "k-1",
        Some(agent_body("A")),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(replayed, None, "a first answer is not a replay");
    // The same JSON with other key order and spacing is the same request.
    let reordered = json!({ "instructions": "Be brief.", "model": "mock/echo", "name": "A" });
    let (status, replayed, again) =
        keyed(&api, Method::POST, "/v1/agents", "k-1", Some(reordered)).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(again, first, "the stored body replays");
    assert_eq!(agent_count(&api).await, 1, "no second agent");
}

#[tokio::test]
async fn a_key_reused_with_a_different_request_is_refused() {
    let s = TestServer::start().await;
    let api = s.api();
    let (status, _, _) = keyed(
        &api,
        Method::POST,
        "/v1/agents",
        "k-2",
        Some(agent_body("A")),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _, body) = keyed(
        &api,
        Method::POST,
        "/v1/agents",
        "k-2",
        Some(agent_body("B")),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "idempotency_key_reused", "{body}");
    // Another route with the same key is a different request too.
    let id = s.api().create_agent("C").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/agents/{id}");
    let (status, _, body) = keyed(&api, Method::PATCH, &path, "k-2", Some(agent_body("A"))).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(agent_count(&api).await, 2);
}

#[tokio::test]
async fn keys_are_per_organisation() {
    let s = TestServer::start().await;
    let (_, other_key) = s.new_org("enterprise").await;
    let other = s.api_with(Some(&other_key));
    let (a, _, _) = keyed(
        &s.api(),
        Method::POST,
        "/v1/agents",
        "shared",
        Some(agent_body("A")),
    )
    .await;
    let (b, replayed, body) = keyed(
        &other,
        Method::POST,
        "/v1/agents",
        "shared",
        Some(agent_body("A")),
    )
    .await;
    assert_eq!((a, b), (201, 201), "{body}");
    assert_eq!(
        replayed, None,
        "another organisation's key is not this one's"
    );
    assert_eq!(agent_count(&other).await, 1);
}

#[tokio::test]
async fn a_request_that_failed_leaves_no_record_so_its_retry_runs() {
    let s = TestServer::start().await;
    let (_, free_key) = s.new_org("free").await;
    let api = s.api_with(Some(&free_key));
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            api.create_agent(&format!("a{n}")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // The fourth agent is over the plan: refused, nothing changed, nothing stored.
    let (status, _, body) = keyed(
        &api,
        Method::POST,
        "/v1/agents",
        "k-3",
        Some(agent_body("D")),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    api.delete(&format!("/v1/agents/{}", ids[0]), 200).await;
    // The retry does the work this time.
    let (status, replayed, body) = keyed(
        &api,
        Method::POST,
        "/v1/agents",
        "k-3",
        Some(agent_body("D")),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(replayed, None);
    // Validation errors are not stored either.
    let bad = json!({ "name": "" , "model": "mock/echo" });
    let (status, _, _) = keyed(&api, Method::POST, "/v1/agents", "k-4", Some(bad.clone())).await;
    assert_eq!(status, 422);
    let (status, replayed, _) = keyed(&api, Method::POST, "/v1/agents", "k-4", Some(bad)).await;
    assert_eq!((status, replayed), (422, None));
}

#[tokio::test]
async fn malformed_keys_are_refused_and_reads_ignore_keys() {
    let s = TestServer::start().await;
    let api = s.api();
    let long = "x".repeat(256);
    let (status, _, body) = keyed(
        &api,
        Method::POST,
        "/v1/agents",
        &long,
        Some(agent_body("A")),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "bad_request");
    let res = api
        .request(Method::POST, "/v1/agents")
        .header(
            "Idempotency-Key",
            reqwest::header::HeaderValue::from_bytes(b"tab\there").unwrap(),
        )
        .json(&agent_body("A"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let max = "k".repeat(255);
    let (status, _, _) = keyed(
        &api,
        Method::POST,
        "/v1/agents",
        &max,
        Some(agent_body("A")),
    )
    .await;
    assert_eq!(status, 201, "255 characters is allowed");
    assert_eq!(
        agent_count(&api).await,
        1,
        "the refused requests did nothing"
    );
    let (status, replayed, _) = keyed(&api, Method::GET, "/v1/agents", "k-5", None).await;
    assert_eq!((status, replayed), (200, None));
    let (status, replayed, _) = keyed(&api, Method::GET, "/v1/agents", "k-5", None).await;
    assert_eq!((status, replayed), (200, None), "a GET is never replayed");
}

#[tokio::test]
async fn a_key_on_a_graphql_mutation_replays_and_queries_ignore_it() {
    let s = TestServer::start().await;
    let api = s.api();
    let create = json!({
        "query": "mutation New($input: CreateAgentInput!) { createAgent(input: $input) { id name } }",
        "variables": { "input": { "name": "G", "model": "mock/echo" } },
        "operationName": "New",
    });
    let (status, replayed, first) =
        keyed(&api, Method::POST, "/graphql", "g-1", Some(create.clone())).await;
    assert_eq!((status, replayed), (200, None), "{first}");
    assert!(first["errors"].is_null(), "{first}");
    let (status, replayed, again) =
        keyed(&api, Method::POST, "/graphql", "g-1", Some(create)).await;
    assert_eq!((status, replayed.as_deref()), (200, Some("true")));
    assert_eq!(again, first);
    assert_eq!(agent_count(&api).await, 1);
    let other = json!({
        "query": "mutation New($input: CreateAgentInput!) { createAgent(input: $input) { id } }",
        "variables": { "input": { "name": "H", "model": "mock/echo" } },
    });
    let (status, _, body) = keyed(&api, Method::POST, "/graphql", "g-1", Some(other)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "IDEMPOTENCY_KEY_REUSED",
        "{body}"
    );
    let query = json!({ "query": "{ agents(first: 5) { edges { cursor } } }" });
    let (_, replayed, _) = keyed(&api, Method::POST, "/graphql", "g-1", Some(query)).await;
    assert_eq!(replayed, None, "a query is not keyed");
}

#[tokio::test]
async fn keys_expire_after_their_ttl_and_the_sweep_prunes_them() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let s = TestServer::start_with(|c| {
        c.idempotency.ttl = std::time::Duration::from_secs(1);
        c.idempotency.sweep_interval = std::time::Duration::from_millis(50);
    })
    .await;
    let api = s.api();
    let (status, _, _) = keyed(
        &api,
        Method::POST,
        "/v1/agents",
        "old",
        Some(agent_body("A")),
    )
    .await;
    assert_eq!(status, 201);
    let rows = || entity::idempotency_keys::Entity::find().count(&s.state.db);
    assert_eq!(rows().await.unwrap(), 1);
    let mut waited = 0;
    while rows().await.unwrap() > 0 {
        waited += 1;
        assert!(waited < 100, "the sweep never pruned the expired key");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // An expired key is free again: the same request now does the work again.
    let (status, replayed, _) = keyed(
        &api,
        Method::POST,
        "/v1/agents",
        "old",
        Some(agent_body("A")),
    )
    .await;
    assert_eq!((status, replayed), (201, None));
    assert_eq!(agent_count(&api).await, 2);
}
