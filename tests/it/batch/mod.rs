//! Issue 10, batch: `POST /v1/batch` answers each operation as it would alone (auth,
//! scopes, validation, 404/405), in order; `"atomic": true` keeps all or nothing; the
//! agent cap holds through batches; GraphQL answers a JSON array of requests. On the
//! suite's database (SQLite unless `DATABASE_URL` says otherwise); the `_on_postgresql`
//! tests insist on PostgreSQL.

mod atomic;
mod cap;
mod graphql;
mod keys;
mod results;

use crate::common::calls::call;
use crate::common::Api;
use reqwest::Method;
use serde_json::{json, Value};

/// `POST /v1/batch` with `body`, asserting `status`; the answer.
pub async fn batch(api: &Api, body: Value, status: u16) -> Value {
    api.post("/v1/batch", body, status).await
}

/// One operation.
pub fn op(method: &str, path: &str, body: Option<Value>) -> Value {
    let mut op = json!({ "method": method, "path": path });
    if let Some(body) = body {
        op["body"] = body;
    }
    op
}

/// An agent create operation.
pub fn create(name: &str) -> Value {
    op(
        "POST",
        "/v1/agents",
        Some(json!({ "name": name, "model": "mock/echo" })),
    )
}

/// The statuses of a batch answer's results, in order.
pub fn statuses(answer: &Value) -> Vec<u64> {
    answer["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {answer}"))
        .iter()
        .map(|r| r["status"].as_u64().expect("status"))
        .collect()
}

/// How many live agents the organisation of `api` has.
pub async fn agent_count(api: &Api) -> usize {
    let list = api.get("/v1/agents?limit=100", 200).await;
    assert_eq!(list["has_more"], false, "{list}");
    list["data"].as_array().expect("data").len()
}

/// Sends a batch and keeps status and body whatever they are.
pub async fn send(api: &Api, body: Value) -> (u16, Value) {
    let reply = call(api.request(Method::POST, "/v1/batch").json(&body)).await;
    (reply.status, reply.body)
}

/// Fails unless the suite runs on PostgreSQL (`DATABASE_URL=postgres://...`).
pub fn require_postgres() {
    let url = std::env::var("DATABASE_URL").unwrap_or_default();
    assert!(
        url.starts_with("postgres"),
        "this test needs DATABASE_URL=postgres://..."
    );
}
