//! GraphQL at `/graphql`, through real HTTP: the viewer, agent CRUD and versions, the
//! `node` interface, organisation isolation, error codes, scopes, GraphQL over HTTP
//! (GET, 405 for mutations over GET, media types and their status codes), the depth and
//! complexity limits, and authentication.

mod agents;
mod auth;
mod http;
mod isolation;
mod limits;

use crate::common::calls::{data, AGENT_FIELDS};
use crate::common::*;
use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::{json, Value};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// Sends a request and returns status, headers and the JSON body (`null` when empty).
async fn raw(req: reqwest::RequestBuilder) -> (StatusCode, HeaderMap, Value) {
    let res = req.send().await.expect("request sent");
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("body is not JSON: {text}"))
    };
    (status, headers, body)
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// A full agent input for `createAgent`.
fn full_input(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Books haircuts",
        "model": "mock/echo",
        "modelSettings": { "temperature": 0.2, "max_tokens": 256 },
        "instructions": "Be brief, {{ user }}.",
        "tools": [{
            "type": "http",
            "name": "calendar",
            "url": "https://calendar.example/api",
            "description": "Looks up free slots",
            "parameters": { "type": "object", "properties": { "day": { "type": "string" } } }
        }],
        "knowledgeIds": [],
        "channels": ["whatsapp", "web"],
        "metadata": { "team": "salon", "tier": 2 }
    })
}

async fn create(api: &Api, input: Value) -> Value {
    let body = api
        .gql(
            &format!(
                "mutation($input: CreateAgentInput!) {{ createAgent(input: $input) {{ {AGENT_FIELDS} }} }}"
            ),
            json!({ "input": input }),
        )
        .await;
    data(&body)["createAgent"].clone()
}

async fn update(api: &Api, id: &str, input: Value) -> Value {
    let body = api
        .gql(
            &format!(
                "mutation($id: ID!, $input: UpdateAgentInput!) {{ updateAgent(id: $id, input: $input) {{ {AGENT_FIELDS} }} }}"
            ),
            json!({ "id": id, "input": input }),
        )
        .await;
    data(&body)["updateAgent"].clone()
}

async fn agent_ids(api: &Api) -> Vec<String> {
    let body = api
        .gql("{ agents(first: 100) { nodes { id } } }", json!({}))
        .await;
    data(&body)["agents"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Asserts every field but the listed ones is equal in `a` and `b`.
fn same_except(a: &Value, b: &Value, except: &[&str]) {
    let (a, b) = (
        a.as_object().expect("object"),
        b.as_object().expect("object"),
    );
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the two objects have different fields"
    );
    for (k, v) in a {
        if !except.contains(&k.as_str()) {
            assert_eq!(v, &b[k], "field `{k}` changed");
        }
    }
}

fn is_rfc3339_millis_utc(s: &str) -> bool {
    // e.g. 2026-11-29T03:08:54.123Z
    s.len() == 24
        && s.ends_with('Z')
        && s.as_bytes()[10] == b'T'
        && s.as_bytes()[19] == b'.'
        && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}
