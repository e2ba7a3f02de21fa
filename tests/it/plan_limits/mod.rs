//! Issue 10, plan limits: the agent cap of each tier, with the limit in the 403 body,
//! exact under concurrent creates (one instance, and two on one PostgreSQL), and a tier
//! change by the operator (`orchstack orgs update`) honoured by every instance.
//!
//! The race helpers take the create as a closure, so the same check runs whatever
//! carries the create: REST ([`create_over_rest`]) today; a `POST /v1/batch` of one
//! operation, once batches exist, is one more closure returning that operation's
//! `(status, body)` from `results[0]`.

mod body;
mod cli;
mod race;
mod tier_change;

use crate::common::calls::call;
use crate::common::{Api, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use std::future::Future;

/// One create's answer: its status and body.
pub type Answer = (u16, Value);

/// A second instance on the first one's database (PostgreSQL: the same schema), with
/// `adjust` applied to its configuration too.
pub async fn second_instance(
    first: &TestServer,
    adjust: impl FnOnce(&mut orchstack::config::Config),
) -> TestServer {
    let schema = first.state.config.database_schema.clone();
    TestServer::start_with(move |c| {
        c.database_schema = schema;
        adjust(c);
    })
    .await
}

/// Fails unless the suite runs on PostgreSQL (`DATABASE_URL=postgres://...`).
pub fn require_postgres() {
    let url = std::env::var("DATABASE_URL").unwrap_or_default();
    assert!(
        url.starts_with("postgres"),
        "this test needs DATABASE_URL=postgres://..."
    );
}

/// Asks for one agent over REST and keeps whatever comes back.
pub async fn create_over_rest(api: &Api, name: String) -> Answer {
    let reply = call(
        api.request(Method::POST, "/v1/agents")
            .json(&json!({ "name": name, "model": "mock/echo" })),
    )
    .await;
    (reply.status, reply.body)
}

/// Sends `n` creates at once (`send(i)` is the i-th) and returns their answers.
pub async fn race<F, Fut>(n: usize, send: F) -> Vec<Answer>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Answer>,
{
    futures::future::join_all((0..n).map(send)).await
}

/// Checks a 403 that refused an agent over the plan's limit: the problem document with
/// the limit's members.
pub fn assert_refused(body: &Value, tier: &str, limit: u64) {
    assert_eq!(body["code"], "plan_limit_exceeded", "{body}");
    assert_eq!(body["status"], 403, "{body}");
    assert_eq!(body["limit"], limit, "{body}");
    assert_eq!(body["tier"], tier, "{body}");
    assert_eq!(body["resource"], "agents", "{body}");
    assert_eq!(
        body["detail"],
        format!("the {tier} plan allows {limit} agents; delete one or upgrade"),
        "{body}"
    );
}

/// Checks that a race ended with exactly `limit` agents: that many 201s, every other
/// answer a 403 naming the limit, and the organisation's list agreeing.
pub async fn assert_exact(answers: &[Answer], list_with: &Api, tier: &str, limit: u64) {
    let mut created = 0;
    for (status, body) in answers {
        match status {
            201 => created += 1,
            403 => assert_refused(body, tier, limit),
            other => panic!("unexpected answer {other}: {body}"),
        }
    }
    assert_eq!(
        created,
        limit,
        "{} creates on {tier} made {created} agents",
        answers.len()
    );
    assert_eq!(agent_count(list_with).await, limit, "the list disagrees");
}

/// How many live agents the organisation of `api` has.
pub async fn agent_count(api: &Api) -> u64 {
    let list = api.get("/v1/agents?limit=100", 200).await;
    assert_eq!(list["has_more"], false, "{list}");
    list["data"].as_array().expect("data").len() as u64
}

/// Creates agents one by one until the organisation has `n`.
pub async fn fill(api: &Api, n: u64) {
    for i in agent_count(api).await..n {
        api.create_agent(&format!("filler {i}")).await;
    }
}
