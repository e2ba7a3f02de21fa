//! GraphQL over HTTP: GET for queries, 405 for mutations over GET, and the status codes
//! of request errors per media type.

use super::*;
use crate::common::calls::{data, gql_code as code};
use crate::common::*;
use reqwest::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn get_requests_run_queries() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = create(&api, full_input("over get")).await;
    let id = agent["id"].as_str().unwrap();

    let (status, headers, body) = raw(api
        .request(Method::GET, "/graphql")
        .query(&[("query", "{ viewer { organization { id } } }")]))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        content_type(&headers).starts_with("application/json"),
        "content-type {:?}",
        content_type(&headers)
    );
    assert_eq!(data(&body)["viewer"]["organization"]["id"], json!(s.org_id));

    // Variables as URL-encoded JSON, an operation name, and graphql-response+json.
    let (status, headers, body) = raw(api
        .request(Method::GET, "/graphql")
        .header(ACCEPT, GRAPHQL_RESPONSE_JSON)
        .query(&[
            (
                "query",
                "query A { viewer { testMode } } query B($id: ID!) { agent(id: $id) { id name } }",
            ),
            ("operationName", "B"),
            ("variables", &json!({ "id": id }).to_string()),
        ]))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        content_type(&headers).starts_with(GRAPHQL_RESPONSE_JSON),
        "content-type {:?}",
        content_type(&headers)
    );
    assert_eq!(
        data(&body)["agent"],
        json!({ "id": id, "name": "over get" })
    );
}

#[tokio::test]
async fn mutations_over_get_are_405() {
    let s = TestServer::start().await;
    let api = s.api();
    let mutation =
        "mutation { createAgent(input: { name: \"via get\", model: \"mock/echo\" }) { id } }";
    for accept in [None, Some(GRAPHQL_RESPONSE_JSON)] {
        let mut req = api
            .request(Method::GET, "/graphql")
            .query(&[("query", mutation)]);
        if let Some(a) = accept {
            req = req.header(ACCEPT, a);
        }
        let (status, headers, body) = raw(req).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
        assert_eq!(
            headers.get(ALLOW).and_then(|v| v.to_str().ok()),
            Some("POST")
        );
        assert!(
            body["errors"].as_array().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
    }

    // Chosen by operationName among several operations.
    let (status, headers, _) = raw(api.request(Method::GET, "/graphql").query(&[
        (
            "query",
            "query Q { viewer { testMode } } mutation M { deleteAgent(id: \"agt_x\") }",
        ),
        ("operationName", "M"),
    ]))
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        headers.get(ALLOW).and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    // ... and the query of that same document is fine over GET.
    let (status, _, body) = raw(api.request(Method::GET, "/graphql").query(&[
        (
            "query",
            "query Q { viewer { testMode } } mutation M { deleteAgent(id: \"agt_x\") }",
        ),
        ("operationName", "Q"),
    ]))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(data(&body)["viewer"]["testMode"], json!(false));

    // Nothing was created.
    assert!(agent_ids(&api).await.is_empty());
}

#[tokio::test]
async fn graphql_response_json_request_errors_are_400_without_data() {
    let s = TestServer::start().await;
    let api = s.api();
    let cases = [
        ("{ viewer { ", "GRAPHQL_PARSE_FAILED"),
        ("{ viewer { noSuchField } }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "query($first: Int) { agents(first: $first) { nodes { id } } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ];
    for (query, expected) in cases {
        // The last case has a variable of the wrong type (variable coercion failure).
        let (status, headers, body) = raw(api
            .request(Method::POST, "/graphql")
            .header(ACCEPT, GRAPHQL_RESPONSE_JSON)
            .json(&json!({ "query": query, "variables": { "first": "many" } })))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(
            content_type(&headers).starts_with(GRAPHQL_RESPONSE_JSON),
            "{query}: content-type {:?}",
            content_type(&headers)
        );
        assert!(body.get("data").is_none(), "{query}: has data: {body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{query}: {body}"
        );
        assert_eq!(code(&body), expected, "{query}: {body}");
    }

    // A field error during execution is still 200 with data under graphql-response+json.
    let (status, _, body) = raw(api
        .request(Method::POST, "/graphql")
        .header(ACCEPT, GRAPHQL_RESPONSE_JSON)
        .json(&json!({ "query": "{ agent(id: \"agt_01jabcdefghjkmnpqrstvwxyz0\") { id } }" })))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("data").is_some(), "{body}");
    assert_eq!(code(&body), "NOT_FOUND");
}

/// A missing value for a required (non-null, no default) variable is a variable
/// coercion failure: a request error (GraphQL spec, CoerceVariableValues), so no `data`,
/// and 400 under graphql-response+json (GraphQL over HTTP), 200 under application/json.
#[tokio::test]
async fn missing_required_variable_is_a_request_error() {
    let s = TestServer::start().await;
    let api = s.api();
    for (accept, expected) in [
        (GRAPHQL_RESPONSE_JSON, StatusCode::BAD_REQUEST),
        ("application/json", StatusCode::OK),
    ] {
        for (query, variables) in [
            ("query($id: ID!) { agent(id: $id) { id } }", json!({})),
            ("query($id: ID!) { agent(id: $id) { id } }", Value::Null),
            (
                "mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }",
                json!({ "other": 1 }),
            ),
        ] {
            let (status, _, body) = raw(api
                .request(Method::POST, "/graphql")
                .header(ACCEPT, accept)
                .json(&json!({ "query": query, "variables": variables })))
            .await;
            assert_eq!(status, expected, "{accept} {query} {variables}: {body}");
            assert!(
                body.get("data").is_none(),
                "{accept} {query} {variables}: a request error must not have `data`: {body}"
            );
            assert!(
                body["errors"][0].get("path").is_none(),
                "{accept} {query}: a request error is not a field error: {body}"
            );
            assert!(
                matches!(code(&body), "GRAPHQL_VALIDATION_FAILED" | "BAD_USER_INPUT"),
                "{accept} {query}: {body}"
            );
        }
    }
    // And nothing ran.
    assert!(agent_ids(&api).await.is_empty());
}

#[tokio::test]
async fn application_json_request_errors_are_200() {
    let s = TestServer::start().await;
    let api = s.api();
    for (query, expected) in [
        ("{ viewer { noSuchField } }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "{ agents(first: \"many\") { nodes { id } } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ("{ viewer { ", "GRAPHQL_PARSE_FAILED"),
    ] {
        let (status, headers, body) = raw(api
            .request(Method::POST, "/graphql")
            .header(ACCEPT, "application/json")
            .json(&json!({ "query": query })))
        .await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert!(
            content_type(&headers).starts_with("application/json"),
            "{query}: content-type {:?}",
            content_type(&headers)
        );
        assert_eq!(code(&body), expected, "{query}: {body}");
        assert!(body.get("data").is_none(), "{query}: {body}");
    }
}

#[tokio::test]
async fn malformed_http_requests_are_rejected() {
    let s = TestServer::start().await;
    let api = s.api();

    // No Content-Type: 415.
    let (status, _, body) = raw(api
        .request(Method::POST, "/graphql")
        .body(json!({ "query": "{ viewer { testMode } }" }).to_string()))
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert!(
        body["errors"].as_array().is_some_and(|e| !e.is_empty()),
        "{body}"
    );

    // A wrong Content-Type: 415.
    let (status, _, _) = raw(api
        .request(Method::POST, "/graphql")
        .header(CONTENT_TYPE, "text/plain")
        .body("{ viewer { testMode } }"))
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Invalid JSON, a missing query, a non-string query: 400 BAD_REQUEST.
    for raw_body in [
        "{ not json",
        "{}",
        r#"{"query": 5}"#,
        r#"{"query": "{ viewer { testMode } }", "variables": "x"}"#,
    ] {
        let (status, _, body) = raw(api
            .request(Method::POST, "/graphql")
            .header(CONTENT_TYPE, "application/json")
            .body(raw_body))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw_body}: {body}");
        assert_eq!(code(&body), "BAD_REQUEST", "{raw_body}: {body}");
    }

    // An Accept the server cannot produce: 406.
    let (status, _, _) = raw(api
        .request(Method::POST, "/graphql")
        .header(ACCEPT, "text/html")
        .json(&json!({ "query": "{ viewer { testMode } }" })))
    .await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);

    // Content-Type with charset=utf-8 is fine.
    let (status, _, body) = raw(api
        .request(Method::POST, "/graphql")
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .body(json!({ "query": "{ viewer { testMode } }" }).to_string()))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(data(&body)["viewer"]["testMode"], json!(false));
}
