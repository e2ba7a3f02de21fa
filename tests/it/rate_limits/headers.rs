//! The budget's headers on every kind of limited response (2xx, 4xx, GraphQL, both
//! streams) and on none of the unlimited ones (health, readiness, OpenAPI).

use super::*;
use crate::common::calls::{header, trigger_async};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::Method;
use serde_json::{json, Value};

/// Sends a request and keeps its status and headers, leaving the body unread (a stream
/// that has not ended yet).
async fn head_of(req: reqwest::RequestBuilder) -> Reply {
    let res = req.send().await.expect("request sent");
    Reply {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: Value::Null,
    }
}

#[tokio::test]
async fn each_tier_reports_its_budget_in_both_header_forms() {
    let s = start_real().await;
    // Enterprise (the server's own organisation): 1,000 at once, refilled at 10,000 a
    // minute, so an empty budget is full again in 6 s; after one request 999 are left,
    // and the budget is full again within a second.
    let ok = get(&s.api(), "/v1/agents").await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        expect_header(&ok, "ratelimit-policy"),
        "\"default\";q=1000;w=6"
    );
    assert_eq!(expect_header(&ok, "ratelimit"), "\"default\";r=999;t=1");
    assert_eq!(
        budget(&ok),
        Budget {
            quota: 1000,
            window: 6,
            remaining: 999,
            reset: 1,
        }
    );
    assert!(
        header(&ok, "retry-after").is_none(),
        "no Retry-After on a 200"
    );
    for (tier, quota, window) in [("free", 20, 12), ("pro", 100, 6)] {
        let (_, key) = s.new_org(tier).await;
        let r = get(&s.api_with(Some(&key)), "/v1/agents").await;
        assert_eq!(r.status, 200);
        let expected = Budget {
            quota,
            window,
            remaining: quota - 1,
            reset: 1,
        };
        assert_eq!(budget(&r), expected, "{tier}");
    }
}

#[tokio::test]
async fn error_responses_carry_the_budget_too() {
    let s = start_real().await;
    // 100 at once, one more a minute: nothing comes back while the test runs, so each
    // request leaves exactly one less, and each spent one takes a minute to return.
    let api = org_with(&s, "pro", 1, 100).await;
    let ok = get(&api, "/v1/agents").await;
    assert_eq!(ok.status, 200);
    let full_in = |remaining: u64| (100 - remaining) * 60;
    assert_eq!(
        budget(&ok),
        Budget {
            quota: 100,
            window: 6000,
            remaining: 99,
            reset: full_in(99),
        }
    );

    let missing = get(&api, "/v1/agents/agt_01jbz0000000000000000000zz").await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(budget(&missing).remaining, 98);
    assert_eq!(budget(&missing).reset, full_in(98));

    let invalid = call(
        api.request(Method::POST, "/v1/agents")
            .json(&json!({ "name": "" })),
    )
    .await;
    assert!(
        (400..500).contains(&invalid.status),
        "a refused body: {}",
        invalid.body
    );
    assert_eq!(budget(&invalid).remaining, 97);

    let gql = call(
        api.request(Method::POST, "/graphql")
            .json(&json!({ "query": "{ viewer { organization { id } } }" })),
    )
    .await;
    assert_eq!(gql.status, 200, "{}", gql.body);
    assert_eq!(budget(&gql).remaining, 96);
}

#[tokio::test]
async fn streaming_responses_carry_the_budget_in_their_headers() {
    let s = start_real().await;
    let api = org_with(&s, "pro", 1, 100).await;
    let agent = api.create_agent("streamer").await;
    let run = trigger_async(&api, agent["id"].as_str().expect("id"), "one two three").await;

    let rest = head_of(
        api.request(Method::GET, &format!("/v1/runs/{run}/events"))
            .header(ACCEPT, "text/event-stream"),
    )
    .await;
    assert_eq!(rest.status, 200);
    assert!(expect_header(&rest, "content-type").starts_with("text/event-stream"));
    // Three requests so far: the agent, the run, and this one.
    assert_eq!(budget(&rest).remaining, 97);

    let sse = head_of(
        api.request(Method::POST, "/graphql/stream")
            .header(ACCEPT, "text/event-stream")
            .header(CONTENT_TYPE, "application/json")
            .json(&json!({ "query": "subscription { runUpdates { id status } }" })),
    )
    .await;
    assert_eq!(sse.status, 200);
    assert!(expect_header(&sse, "content-type").starts_with("text/event-stream"));
    assert_eq!(budget(&sse).remaining, 96);
}

#[tokio::test]
async fn health_readiness_and_the_openapi_document_are_not_limited() {
    let s = start_real().await;
    let api = org_with(&s, "free", 1, 1).await;
    // The organisation's whole budget (one request, one more a minute) is spent...
    assert_eq!(get(&api, "/v1/agents").await.status, 200);
    assert_eq!(get(&api, "/v1/agents").await.status, 429);
    // ...and these still answer, with its key or without one, and carry no budget.
    for anonymous in [false, true] {
        let client = if anonymous {
            s.api_with(None)
        } else {
            api.clone()
        };
        for path in ["/healthz", "/readyz", "/openapi.json"] {
            for _ in 0..25 {
                let r = get(&client, path).await;
                assert_eq!(r.status, 200, "{path}: {}", r.body);
                assert!(
                    header(&r, "ratelimit").is_none() && header(&r, "x-ratelimit-limit").is_none(),
                    "{path} is not limited and reports no budget"
                );
            }
        }
    }
}
