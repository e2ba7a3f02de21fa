//! Retrieval inside runs: an agent that lists knowledge bases searches them with the
//! run's input before its first model call; the model sees the chunks under numbered
//! source markers (`mock/echo` answers with what it saw), the trace has a `retrieval`
//! step, and the run carries its citations in REST and GraphQL.

use super::*;

#[tokio::test]
async fn a_run_retrieves_cites_and_shows_the_model_its_sources() {
    let s = TestServer::start_with(quick).await;
    let api = s.api();
    let kb = create_base(&api, json!({})).await;
    let docs = upload_settled(
        &api,
        &kb,
        json!([
            { "name": "refunds.md", "content": "# Refunds\n\nA full refund is given within 30 days of purchase." },
            { "name": "shipping.md", "content": "# Shipping\n\nParcels arrive in 3 to 5 business days." }
        ]),
    )
    .await;
    let agent = api
        .post(
            "/v1/agents",
            json!({
                "name": "support", "model": "mock/echo", "knowledge_ids": [kb],
                "retrieval": { "top_k": 1, "mode": "keyword" }
            }),
            201,
        )
        .await;
    assert_eq!(
        agent["retrieval"],
        json!({ "top_k": 1, "mode": "keyword", "min_score": 0.0 })
    );
    let agent_id = agent["id"].as_str().unwrap();
    let run = api
        .post(
            &format!("/v1/agents/{agent_id}/run"),
            json!({ "input": "How long do I have for a refund?" }),
            200,
        )
        .await;
    assert_eq!(run["status"], "completed", "{run}");
    let output = run["output"].as_str().unwrap();
    assert!(
        output.starts_with("How long do I have for a refund?"),
        "{output}"
    );
    assert!(
        output.contains("[1] refunds.md: # Refunds\n\nA full refund is given within 30 days"),
        "the model saw the chunk under marker [1]: {output}"
    );
    assert!(!output.contains("shipping.md"), "top_k 1: {output}");

    let id = run["run_id"].as_str().unwrap();
    let got = api.get(&format!("/v1/runs/{id}"), 200).await;
    let citations = got["citations"].as_array().unwrap();
    assert_eq!(citations.len(), 1, "{got}");
    assert_eq!(citations[0]["document_id"], docs[0]["id"]);
    assert_eq!(citations[0]["name"], "refunds.md");
    assert_eq!(citations[0]["knowledge_id"], json!(kb));
    assert!(citations[0]["chunk_id"]
        .as_str()
        .unwrap()
        .starts_with("chk_"));
    assert!(citations[0]["score"].as_f64().unwrap() > 0.0);
    let steps = got["steps"].as_array().unwrap();
    assert_eq!(steps[0]["type"], "retrieval", "{got}");
    assert_eq!(steps[0]["position"], 1);
    assert_eq!(
        steps[0]["input"]["query"],
        "How long do I have for a refund?"
    );
    assert_eq!(steps[0]["output"]["chunks"].as_array().unwrap().len(), 1);
    assert_eq!(steps[1]["type"], "llm");
    assert_eq!(steps[1]["position"], 2);

    // The same through GraphQL.
    let res = api
        .gql(
            "query($id: ID!) { run(id: $id) { citations { documentId name chunkId knowledgeId score } steps { type } } }",
            json!({ "id": id }),
        )
        .await;
    let run = &res["data"]["run"];
    assert_eq!(run["citations"][0]["name"], "refunds.md", "{res}");
    assert_eq!(run["citations"][0]["chunkId"], citations[0]["chunk_id"]);
    assert_eq!(run["steps"][0]["type"], "RETRIEVAL");
}

#[tokio::test]
async fn min_score_and_an_unmatched_question_leave_the_input_alone() {
    let s = TestServer::start_with(quick).await;
    let api = s.api();
    let kb = create_base(&api, json!({})).await;
    upload_settled(
        &api,
        &kb,
        json!([{ "name": "a.md", "content": "alpha beta" }]),
    )
    .await;
    let agent = api
        .post(
            "/v1/agents",
            json!({ "name": "a", "model": "mock/echo", "knowledge_ids": [kb] }),
            201,
        )
        .await;
    let agent_id = agent["id"].as_str().unwrap();
    // Nothing matches: the model gets the input as it was, and the run cites nothing.
    let run = api
        .post(
            &format!("/v1/agents/{agent_id}/run"),
            json!({ "input": "gamma delta" }),
            200,
        )
        .await;
    assert_eq!(run["output"], "gamma delta", "{run}");
    let got = api
        .get(
            &format!("/v1/runs/{}", run["run_id"].as_str().unwrap()),
            200,
        )
        .await;
    assert_eq!(got["citations"], json!([]));
    assert_eq!(got["steps"][0]["type"], "retrieval");
    // A minimum no chunk reaches: same.
    api.patch(
        &format!("/v1/agents/{agent_id}"),
        json!({ "retrieval": { "min_score": 1000.0, "mode": "keyword" } }),
        200,
    )
    .await;
    let run = api
        .post(
            &format!("/v1/agents/{agent_id}/run"),
            json!({ "input": "alpha" }),
            200,
        )
        .await;
    assert_eq!(run["output"], "alpha", "{run}");
    // Out-of-range settings are refused.
    let res = api
        .patch(
            &format!("/v1/agents/{agent_id}"),
            json!({ "retrieval": { "top_k": 0 } }),
            422,
        )
        .await;
    assert_eq!(res["errors"][0]["pointer"], "/retrieval/top_k", "{res}");
}
