//! GraphQL over HTTP: the same budget, refused with a GraphQL error `RATE_LIMITED`, and a
//! document costs its complexity over `graphql_cost_unit` (100), at least 1.

use super::*;
use crate::common::calls::{gql_code, AGENT_SCALAR_FIELDS as AGENT_FIELDS};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

/// POSTs a GraphQL document, whatever the status.
async fn gql(api: &Api, query: &str) -> Reply {
    call(
        api.request(Method::POST, "/graphql")
            .json(&json!({ "query": query })),
    )
    .await
}

const CHEAP: &str = "{ viewer { organization { id } } }";

#[tokio::test]
async fn graphql_past_the_budget_gets_429_with_a_rate_limited_error() {
    let s = start_real().await;
    let (_, key) = s.new_org("free").await;
    let api = s.api_with(Some(&key));
    let burst = futures::future::join_all((0..20).map(|_| gql(&api, CHEAP))).await;
    assert_eq!(statuses(&burst), vec![200; 20]);
    let refused = gql(&api, CHEAP).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(gql_code(&refused.body), "RATE_LIMITED");
    assert!(refused.body.get("data").is_none(), "{}", refused.body);
    assert!(expect_header(&refused, "content-type").starts_with("application/json"));
    assert_eq!(retry_after(&refused), 1);
    assert_eq!(budget(&refused).remaining, 0);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(gql(&api, CHEAP).await.status, 200);
}

#[tokio::test]
async fn a_graphql_document_costs_its_complexity_over_the_cost_unit() {
    let s = start_real().await;
    // 20 at once, one more a minute: every spent request stays spent during the test.
    let api = org_with(&s, "free", 1, 20).await;
    // 1 + 100 × (1 + 2) = 301: 3 requests.
    let page = gql(&api, "{ agents(first: 100) { nodes { id name } } }").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(budget(&page).remaining, 17);
    // 3: below one unit, still 1.
    assert_eq!(budget(&gql(&api, CHEAP).await).remaining, 16);
    // 1 + 100 × (1 + 13) = 1,401: 14 requests.
    let big = format!("{{ agents(first: 100) {{ nodes {{ {AGENT_FIELDS} }} }} }}");
    let costly = gql(&api, &big).await;
    assert_eq!(costly.status, 200, "{}", costly.body);
    assert_eq!(budget(&costly).remaining, 2);
    // Again: 14 do not fit in 2. Refused before execution, with the wait for the 12
    // missing (a minute each).
    let refused = gql(&api, &big).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(gql_code(&refused.body), "RATE_LIMITED");
    assert!(refused.body.get("data").is_none(), "{}", refused.body);
    assert_eq!(retry_after(&refused), 12 * 60);
    // The one request that charged up front is spent; the one left still fits.
    assert_eq!(budget(&refused).remaining, 1);
    assert_eq!(gql(&api, CHEAP).await.status, 200);
    assert_eq!(gql(&api, CHEAP).await.status, 429);
}

#[tokio::test]
async fn a_document_costlier_than_the_whole_burst_spends_the_burst() {
    let s = start_real().await;
    let api = org_with(&s, "free", 1, 5).await;
    // 14 requests' worth against a burst of 5: it could never fit, so it costs the
    // burst rather than being refused for ever.
    let big = format!("{{ agents(first: 100) {{ nodes {{ {AGENT_FIELDS} }} }} }}");
    let r = gql(&api, &big).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(budget(&r).remaining, 0);
    assert_eq!(gql(&api, CHEAP).await.status, 429);
}

#[tokio::test]
async fn rest_calls_cost_one_request_whatever_their_stored_document_costs() {
    let s = start_real().await;
    let api = org_with(&s, "free", 1, 20).await;
    // The list route's stored document pages 100 agents (far over one unit).
    let r = get(&api, "/v1/agents?limit=100").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(budget(&r).remaining, 19);
}

/// POSTs a GraphQL batch (a JSON array), whatever the status.
async fn gql_batch(api: &Api, queries: &[&str]) -> Reply {
    let items: Vec<_> = queries.iter().map(|q| json!({ "query": q })).collect();
    call(api.request(Method::POST, "/graphql").json(&items)).await
}

#[tokio::test]
async fn a_graphql_batch_costs_the_sum_of_its_parts_and_over_the_budget_runs_nothing() {
    let s = start_real().await;
    let api = org_with(&s, "free", 1, 20).await;
    // 1 + 1 + 3 (a page of 100 agents costs 3).
    let page = "{ agents(first: 100) { nodes { id name } } }";
    let mixed = gql_batch(&api, &[CHEAP, CHEAP, page]).await;
    assert_eq!(mixed.status, 200, "{}", mixed.body);
    assert_eq!(
        mixed.body.as_array().map(Vec::len),
        Some(3),
        "{}",
        mixed.body
    );
    assert_eq!(budget(&mixed).remaining, 15);
    // 16 requests do not fit in 15: refused whole, before any of them ran.
    let create = "mutation { createAgent(input: { name: \"x\", model: \"mock/echo\" }) { id } }";
    let mut items = vec![CHEAP; 15];
    items.push(create);
    let refused = gql_batch(&api, &items).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    let agents = gql(&api, "{ agents(first: 5) { nodes { id } } }").await;
    assert_eq!(agents.status, 200, "{}", agents.body);
    assert_eq!(
        agents.body["data"]["agents"]["nodes"],
        json!([]),
        "nothing ran"
    );
}
