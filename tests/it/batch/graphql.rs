//! GraphQL batch requests: a JSON array of requests is answered with an array, in
//! order, each as if it came alone; at most 100.

use super::agent_count;
use crate::common::calls::call;
use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

const CREATE: &str = "mutation($name: String!) { createAgent(input: { name: $name, model: \"mock/echo\" }) { id name } }";

fn create(name: &str) -> Value {
    json!({ "query": CREATE, "variables": { "name": name } })
}

#[tokio::test]
async fn a_graphql_array_is_answered_with_an_array_in_order() {
    let s = TestServer::start().await;
    let api = s.api();
    let answer = api
        .send(
            api.request(Method::POST, "/graphql").json(&json!([
                create("one"),
                { "query": "{ agents(first: 5) { nodes { name } } }" },
                { "query": "{ nope" },
                { "variables": {} },
                create(""),
            ])),
            200,
        )
        .await;
    let answers = answer
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {answer}"));
    assert_eq!(answers.len(), 5, "{answer}");
    assert_eq!(answers[0]["data"]["createAgent"]["name"], "one", "{answer}");
    // Later requests see what earlier ones did.
    assert_eq!(
        answers[1]["data"]["agents"]["nodes"],
        json!([{ "name": "one" }])
    );
    assert_eq!(
        answers[2]["errors"][0]["extensions"]["code"],
        "GRAPHQL_PARSE_FAILED"
    );
    assert_eq!(answers[3]["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    assert_eq!(
        answers[4]["errors"][0]["extensions"]["code"],
        "VALIDATION_FAILED"
    );
    assert_eq!(agent_count(&api).await, 1);
    // Scopes apply to each request.
    let reader = s.key(&s.org_id, &["agents:read"], false).await;
    let reader = s.api_with(Some(&reader));
    let answer = reader
        .send(
            reader.request(Method::POST, "/graphql").json(&json!([
                { "query": "{ agents(first: 5) { nodes { name } } }" },
                create("refused"),
            ])),
            200,
        )
        .await;
    assert_eq!(
        answer[0]["data"]["agents"]["nodes"],
        json!([{ "name": "one" }])
    );
    assert_eq!(
        answer[1]["errors"][0]["extensions"]["code"],
        "INSUFFICIENT_SCOPE"
    );
    assert_eq!(agent_count(&api).await, 1);
}

#[tokio::test]
async fn a_graphql_array_holds_one_to_one_hundred_requests() {
    let s = TestServer::start().await;
    let api = s.api();
    let many: Vec<Value> = (0..101).map(|i| create(&format!("a{i}"))).collect();
    let res = call(api.request(Method::POST, "/graphql").json(&many)).await;
    assert_eq!(res.status, 400, "{}", res.body);
    assert_eq!(
        res.body["errors"][0]["extensions"]["code"],
        "BATCH_TOO_LARGE"
    );
    assert_eq!(
        agent_count(&api).await,
        0,
        "nothing of a refused batch is done"
    );
    let res = call(api.request(Method::POST, "/graphql").json(&json!([]))).await;
    assert_eq!(res.status, 400, "{}", res.body);
    let hundred: Vec<Value> = (0..100).map(|i| create(&format!("a{i}"))).collect();
    let res = call(api.request(Method::POST, "/graphql").json(&hundred)).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body.as_array().map(Vec::len), Some(100));
    assert_eq!(agent_count(&api).await, 100);
}
