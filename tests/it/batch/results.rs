//! Non-atomic batches: every operation answers what it would alone, in order; failed
//! ones keep nothing, the others are kept; what a batch may not hold is refused per
//! operation; a malformed batch is refused as a whole.

use super::{agent_count, batch, create, op, send, statuses};
use crate::common::calls::call;
use crate::common::run_support::{agent, pointers};
use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn each_operation_answers_as_it_would_alone_in_order() {
    let s = TestServer::start().await;
    let api = s.api();
    let missing = "/v1/agents/agt_01jabcdefghjkmnpqrstvwxyz0";
    let answer = api
        .send(
            api.request(Method::POST, "/v1/batch")
                .header("x-request-id", "batch-test-1")
                .json(&json!({ "operations": [
                    create("kept"),
                    op("GET", missing, None),
                    op("PUT", "/v1/agents", None),
                    op("POST", "/v1/agents", Some(json!({ "name": "" }))),
                    op("GET", "/v1/nothing-here", None),
                    op("get", "/v1/agents?fields=id,name", None),
                    op("FROB", "/v1/agents", None),
                    op("GE T", "/v1/agents", None),
                ] })),
            200,
        )
        .await;
    assert_eq!(
        statuses(&answer),
        [201, 404, 405, 422, 404, 200, 405, 400],
        "{answer}"
    );
    let results = &answer["results"];
    let created = results[0]["body"]["id"].as_str().expect("agent id");
    // Later operations see what earlier ones did.
    assert_eq!(
        results[5]["body"]["data"],
        json!([{ "id": created, "name": "kept" }])
    );
    assert_eq!(results[2]["body"]["code"], "method_not_allowed");
    // The same problems as alone, each under the batch's request id and its index.
    let alone = api.get(missing, 404).await;
    assert_eq!(results[1]["body"]["detail"], alone["detail"]);
    assert_eq!(results[1]["body"]["request_id"], "batch-test-1.1");
    let alone = api.post("/v1/agents", json!({ "name": "" }), 422).await;
    assert_eq!(results[3]["body"]["errors"], alone["errors"]);
    assert_eq!(results[3]["body"]["request_id"], "batch-test-1.3");
    // The failed create kept nothing; the good one is kept.
    assert_eq!(agent_count(&api).await, 1);
}

#[tokio::test]
async fn each_operation_needs_its_own_scope() {
    let s = TestServer::start().await;
    let reader = s.key(&s.org_id, &["agents:read"], false).await;
    let api = s.api_with(Some(&reader));
    let answer = batch(
        &api,
        json!({ "operations": [op("GET", "/v1/agents", None), create("not allowed"), op("GET", "/v1/runs", None)] }),
        200,
    )
    .await;
    assert_eq!(statuses(&answer), [200, 403, 403], "{answer}");
    assert_eq!(answer["results"][1]["body"]["code"], "insufficient_scope");
    assert_eq!(answer["results"][2]["body"]["code"], "insufficient_scope");
    assert_eq!(agent_count(&s.api()).await, 0);
    // The batch itself needs credentials.
    let anonymous = s.api_with(None);
    let (status, body) = send(
        &anonymous,
        json!({ "operations": [op("GET", "/v1/agents", None)] }),
    )
    .await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn a_batch_holds_at_most_one_hundred_operations() {
    let s = TestServer::start().await;
    let api = s.api();
    let ops: Vec<Value> = (0..101).map(|i| create(&format!("a{i}"))).collect();
    let body = batch(&api, json!({ "operations": ops }), 400).await;
    assert_eq!(body["code"], "batch_too_large", "{body}");
    assert_eq!(
        agent_count(&api).await,
        0,
        "nothing of a refused batch is done"
    );
    let ops: Vec<Value> = (0..100).map(|i| create(&format!("a{i}"))).collect();
    let answer = batch(&api, json!({ "operations": ops }), 200).await;
    assert_eq!(statuses(&answer), vec![201; 100]);
    assert_eq!(agent_count(&api).await, 100);
}

#[tokio::test]
async fn a_batch_cannot_hold_a_batch_a_stream_or_foreign_headers() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let run = format!("/v1/agents/{agent}/run");
    let mut accept_stream = op("POST", &run, Some(json!({ "input": "hi" })));
    accept_stream["headers"] = json!({ "Accept": "text/event-stream" });
    let mut credentials = op("GET", "/v1/agents", None);
    credentials["headers"] = json!({ "Authorization": "Bearer os_live_someoneelse000000000000" });
    let answer = batch(
        &api,
        json!({ "operations": [
            op("POST", "/v1/batch", Some(json!({ "operations": [op("GET", "/v1/agents", None)] }))),
            op("GET", "/v1/runs/run_01jabcdefghjkmnpqrstvwxyz0/events", None),
            op("POST", &run, Some(json!({ "input": "hi", "stream": true }))),
            accept_stream,
            credentials,
            op("POST", "/graphql", Some(json!({ "query": "{ viewer { organization { name } } }" }))),
            op("GET", "/v1/agents", None),
        ] }),
        200,
    )
    .await;
    assert_eq!(
        statuses(&answer),
        [400, 400, 400, 400, 400, 400, 200],
        "{answer}"
    );
    for result in &answer["results"].as_array().unwrap()[..6] {
        assert_eq!(result["body"]["code"], "bad_request", "{result}");
    }
    // No run was started by the refused stream requests.
    let runs = api.get("/v1/runs", 200).await;
    assert_eq!(runs["data"], json!([]), "{runs}");
}

#[tokio::test]
async fn a_malformed_batch_is_refused_whole_with_pointers() {
    let s = TestServer::start().await;
    let api = s.api();
    let cases = [
        (json!([create("a")]), vec!["/"]),
        (json!({}), vec!["/operations"]),
        (json!({ "operations": [] }), vec!["/operations"]),
        (json!({ "operations": {} }), vec!["/operations"]),
        (
            json!({ "operations": [create("a"), { "path": "/v1/agents" }, { "method": "GET" }, 7], "atomic": "yes", "extra": 1 }),
            vec![
                "/extra",
                "/atomic",
                "/operations/1/method",
                "/operations/2/path",
                "/operations/3",
            ],
        ),
        (
            json!({ "operations": [{ "method": "GET", "path": "/v1/agents", "headers": { "Accept": 1 }, "query": "x" }] }),
            vec!["/operations/0/query", "/operations/0/headers/Accept"],
        ),
    ];
    for (body, expected) in cases {
        let problem = batch(&api, body.clone(), 422).await;
        assert_eq!(pointers(&problem), expected, "{body}: {problem}");
    }
    let res = call(
        api.request(Method::POST, "/v1/batch")
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(res.status, 400, "{}", res.body);
    let res = call(
        api.request(Method::POST, "/v1/batch")
            .header("content-type", "text/plain")
            .body("{}"),
    )
    .await;
    assert_eq!(res.status, 415, "{}", res.body);
    let res = call(api.request(Method::GET, "/v1/batch")).await;
    assert_eq!(res.status, 405, "{}", res.body);
    assert_eq!(
        res.headers.get("allow").map(|v| v.to_str().unwrap()),
        Some("POST")
    );
    assert_eq!(
        agent_count(&api).await,
        0,
        "nothing of a refused batch is done"
    );
}

#[tokio::test]
async fn a_synchronous_run_in_a_batch_waits_for_its_answer_as_alone() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let answer = batch(
        &api,
        json!({ "operations": [
            create("before"),
            op("POST", &format!("/v1/agents/{agent}/run"), Some(json!({ "input": "hello there" }))),
            op("POST", &format!("/v1/agents/{agent}/run"), Some(json!({ "input": "later", "mode": "async" }))),
            create("after"),
        ] }),
        200,
    )
    .await;
    assert_eq!(statuses(&answer), [201, 200, 202, 201], "{answer}");
    let run = &answer["results"][1]["body"];
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["output"], "hello there", "{run}");
    assert_eq!(answer["results"][2]["body"]["status"], "queued");
    assert_eq!(agent_count(&api).await, 3);
}
