//! The depth and complexity limits.

use crate::common::calls::{data, gql_code as code, AGENT_FIELDS};
use crate::common::*;
use serde_json::json;

fn nested_of_type(levels: usize) -> String {
    // __schema(1) types(2) fields(3) type(4), then `levels` ofType, then name.
    let mut q = String::from("{ __schema { types { fields { type { ");
    for _ in 0..levels {
        q.push_str("ofType { ");
    }
    q.push_str("name ");
    for _ in 0..levels {
        q.push_str("} ");
    }
    q.push_str("} } } } }");
    q
}

#[tokio::test]
async fn depth_limit_is_enforced() {
    let s = TestServer::start_with(|c| c.graphql.max_depth = 3).await;
    let api = s.api();
    // Depth 3 is allowed.
    let ok = api
        .gql("{ viewer { organization { id } } }", json!({}))
        .await;
    assert_eq!(data(&ok)["viewer"]["organization"]["id"], json!(s.org_id));
    // Deeper is refused, for the whole request.
    let deep = api
        .gql(
            "{ agents(first: 1) { edges { node { versions { nodes { id } } } } } }",
            json!({}),
        )
        .await;
    assert!(deep.get("data").is_none(), "{deep}");
    assert_eq!(code(&deep), "GRAPHQL_VALIDATION_FAILED", "{deep}");
    let message = deep["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.to_lowercase().contains("deep"), "message {message}");
    // Refused mutations do nothing.
    let body = api
        .gql(
            "mutation { createAgent(input: { name: \"deep\", model: \"mock/echo\" }) { versions { nodes { id } } } }",
            json!({}),
        )
        .await;
    assert!(body.get("data").is_none(), "{body}");
    let list = api
        .gql("{ agents(first: 5) { nodes { id } } }", json!({}))
        .await;
    assert_eq!(data(&list)["agents"]["nodes"], json!([]));
}

#[tokio::test]
async fn default_depth_limit_is_twelve() {
    let s = TestServer::start().await;
    let api = s.api();
    // 4 + 8 + 1 = 13 levels: refused. 12 levels: allowed.
    let too_deep = api.gql(&nested_of_type(8), json!({})).await;
    assert!(too_deep.get("data").is_none(), "{too_deep}");
    assert_eq!(code(&too_deep), "GRAPHQL_VALIDATION_FAILED", "{too_deep}");
    let deep_enough = api.gql(&nested_of_type(7), json!({})).await;
    assert!(
        data(&deep_enough)["__schema"]["types"].is_array(),
        "{deep_enough}"
    );
}

#[tokio::test]
async fn complexity_limit_is_enforced() {
    let s = TestServer::start_with(|c| c.graphql.max_complexity = 10).await;
    let api = s.api();
    let ok = api
        .gql("{ viewer { organization { id name } } }", json!({}))
        .await;
    assert_eq!(data(&ok)["viewer"]["organization"]["id"], json!(s.org_id));
    let complex = api
        .gql(
            &format!("{{ agents(first: 5) {{ nodes {{ {AGENT_FIELDS} }} }} }}"),
            json!({}),
        )
        .await;
    assert!(complex.get("data").is_none(), "{complex}");
    assert_eq!(code(&complex), "QUERY_TOO_COMPLEX", "{complex}");
    let message = complex["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.to_lowercase().contains("complex"),
        "message {message}"
    );

    // Aliases count too.
    let aliased: String = (0..10)
        .map(|i| format!("a{i}: viewer {{ testMode }} "))
        .collect();
    let body = api.gql(&format!("{{ {aliased} }}"), json!({})).await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
}
