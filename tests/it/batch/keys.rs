//! `Idempotency-Key` and batches: a key on the batch request keys the whole batch (its
//! answer is kept with its operations' changes); an operation may not carry its own.

use super::{agent_count, create, op, statuses};
use crate::common::calls::{call, header};
use crate::common::run_support::{agent, str_of};
use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn keyed(api: &Api, key: &str, body: &Value) -> crate::common::calls::Reply {
    call(
        api.request(Method::POST, "/v1/batch")
            .header("idempotency-key", key)
            .json(body),
    )
    .await
}

#[tokio::test]
async fn a_keyed_batch_replays_its_answer_and_does_nothing_again() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let body = json!({ "operations": [
        create("once"),
        op("POST", &format!("/v1/agents/{agent}/run"), Some(json!({ "input": "hi" }))),
        op("GET", "/v1/agents/agt_01jabcdefghjkmnpqrstvwxyz0", None),
    ] });
    let first = keyed(&api, "batch-key-1", &body).await;
    assert_eq!(first.status, 200, "{}", first.body);
    // Inside the key's unit of work nothing waits: the run is queued at the commit.
    assert_eq!(statuses(&first.body), [201, 202, 404], "{}", first.body);
    assert_eq!(first.body["results"][1]["body"]["status"], "queued");
    assert_eq!(header(&first, "idempotent-replayed"), None);
    let again = keyed(&api, "batch-key-1", &body).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(header(&again, "idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(agent_count(&api).await, 2, "the replay created nothing");
    let runs = api.get(&format!("/v1/runs?agent_id={agent}"), 200).await;
    assert_eq!(runs["data"].as_array().unwrap().len(), 1, "{runs}");
    let other = keyed(
        &api,
        "batch-key-1",
        &json!({ "operations": [create("other")] }),
    )
    .await;
    assert_eq!(other.status, 422, "{}", other.body);
    assert_eq!(other.body["code"], "idempotency_key_reused");
    let run_id = str_of(&first.body["results"][1]["body"], "run_id");
    api.get(&format!("/v1/runs/{run_id}"), 200).await;
}

#[tokio::test]
async fn a_rolled_back_keyed_batch_is_not_kept_and_runs_again() {
    let s = TestServer::start().await;
    let api = s.api();
    let body = json!({ "atomic": true, "operations": [
        create("never"),
        op("GET", "/v1/agents/agt_01jabcdefghjkmnpqrstvwxyz0", None),
    ] });
    for _ in 0..2 {
        let res = keyed(&api, "batch-key-2", &body).await;
        assert_eq!(res.status, 422, "{}", res.body);
        assert_eq!(res.body["code"], "batch_rolled_back");
        assert_eq!(header(&res, "idempotent-replayed"), None);
    }
    assert_eq!(agent_count(&api).await, 0);
}

#[tokio::test]
async fn an_operation_cannot_carry_its_own_key() {
    let s = TestServer::start().await;
    let api = s.api();
    let mut keyed_op = create("keyed");
    keyed_op["headers"] = json!({ "Idempotency-Key": "op-key" });
    let answer = api
        .post(
            "/v1/batch",
            json!({ "operations": [keyed_op, create("plain")] }),
            200,
        )
        .await;
    assert_eq!(statuses(&answer), [400, 201], "{answer}");
    assert!(
        str_of(&answer["results"][0]["body"], "detail").contains("Idempotency-Key"),
        "{answer}"
    );
    assert_eq!(agent_count(&api).await, 1);
}
