//! Calls the test files share (after svix's `tests/it/utils/common_calls.rs`): requests
//! whose whole reply is kept, GraphQL body accessors, list helpers and run triggers. One
//! copy each; where two files had helpers of the same name that did different things,
//! both behaviours are here under distinct names.

use crate::common::run_support::str_of;
use crate::common::Api;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------
// Requests whose whole reply matters
// ---------------------------------------------------------------------------------------

/// Status, headers and JSON body (or the text as a JSON string) of one request.
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Every response header.
    pub headers: HeaderMap,
    /// The body as JSON, or the text as a JSON string when it is not JSON.
    pub body: Value,
}

/// Sends a request and keeps status, headers and body whatever the status (unlike
/// [`Api`]'s methods, which assert an expected status).
pub async fn call(req: reqwest::RequestBuilder) -> Reply {
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

/// A response header as text, or `None` when it is missing (for tests that assert its
/// absence).
pub fn header<'a>(r: &'a Reply, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

/// A response header that must be there: panics, showing status and body, when missing.
pub fn expect_header<'a>(r: &'a Reply, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header; status {}, body {}", r.status, r.body))
}

/// Percent-encodes a query parameter value (every byte but ASCII letters and digits).
pub fn url_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

// ---------------------------------------------------------------------------------------
// GraphQL
// ---------------------------------------------------------------------------------------

/// Every field of `Agent` (its scalars and its retrieval settings).
pub const AGENT_FIELDS: &str = "id name description model modelSettings instructions tools \
     knowledgeIds retrieval { topK mode minScore } channels metadata version createdAt updatedAt";

/// Every scalar field of `Agent` (13: what the cost tests count).
pub const AGENT_SCALAR_FIELDS: &str = "id name description model modelSettings instructions \
     tools knowledgeIds channels metadata version createdAt updatedAt";

/// Asserts the body is a success (no `errors`) and returns `data`.
pub fn data(body: &Value) -> &Value {
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    &body["data"]
}

/// `errors[0].extensions.code`, or a panic showing the body.
pub fn gql_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no errors[0].extensions.code in {body}"))
}

/// The whole GraphQL answer to `agent(id:)` with every scalar field ([`AGENT_FIELDS`]).
pub async fn gql_agent(api: &Api, id: &str) -> Value {
    api.gql(
        &format!("query($id: ID!) {{ agent(id: $id) {{ {AGENT_FIELDS} }} }}"),
        json!({ "id": id }),
    )
    .await
}

// ---------------------------------------------------------------------------------------
// REST lists
// ---------------------------------------------------------------------------------------

/// The `id`s of a REST list's `data`, in order.
pub fn ids_of(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data[] in {list}"))
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The agent ids `GET /v1/agents{query}` answers; asserts they fit in one page.
pub async fn list_agent_ids(api: &Api, query: &str) -> Vec<String> {
    let list = api.get(&format!("/v1/agents{query}"), 200).await;
    assert_eq!(list["has_more"], false, "expected one page: {list}");
    ids_of(&list)
}

/// The run ids of the first page of `GET /v1/runs{query}` (`object: "list"` asserted).
pub async fn list_run_ids(api: &Api, query: &str) -> Vec<String> {
    let list = api.get(&format!("/v1/runs{query}"), 200).await;
    assert_eq!(list["object"], "list", "{list}");
    list["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data in {list}"))
        .iter()
        .map(|r| str_of(r, "id").to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Triggering runs
// ---------------------------------------------------------------------------------------

/// `POST /v1/agents/{agent}/run` with any body, asserting `status`; returns the answer
/// (a run, a 202 receipt or a problem).
pub async fn trigger(api: &Api, agent: &str, body: Value, status: u16) -> Value {
    api.post(&format!("/v1/agents/{agent}/run"), body, status)
        .await
}

/// Starts an async run of `input` (asserting 202) and returns its id (`run_id` in the
/// REST answer).
pub async fn trigger_async(api: &Api, agent_id: &str, input: &str) -> String {
    let run = api
        .post(
            &format!("/v1/agents/{agent_id}/run"),
            json!({ "input": input, "mode": "async" }),
            202,
        )
        .await;
    run["run_id"]
        .as_str()
        .unwrap_or_else(|| panic!("run without run_id: {run}"))
        .to_owned()
}
