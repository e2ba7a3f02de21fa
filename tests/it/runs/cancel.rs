//! Cancellation (running, finished and queued runs, REST and GraphQL) and the run
//! time limit.

use crate::common::calls::trigger;
use crate::common::run_support::*;
use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[tokio::test]
async fn cancelling_a_running_run_stops_it_and_its_stream_ends_with_run_cancelled() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", slow(200)).await;
    let body = trigger(
        &api,
        &agent,
        json!({ "input": words(30), "mode": "async" }),
        202,
    )
    .await;
    let id = str_of(&body, "run_id");
    let mut stream = open(events_req(&api, id)).await;
    let mut events = Vec::new();
    while events.last().is_none_or(|e: &Ev| e.kind != "token") {
        events.push(
            next(&mut stream)
                .await
                .expect("events up to the first token"),
        );
    }
    let t0 = Instant::now();
    let cancelled = api
        .send(
            api.request(Method::POST, &format!("/v1/runs/{id}/cancel")),
            200,
        )
        .await;
    assert_eq!(cancelled["id"], id, "{cancelled}");
    assert!(
        ["running", "cancelled"].contains(&cancelled["status"].as_str().unwrap()),
        "{cancelled}"
    );
    events.extend(rest(&mut stream).await);
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "the stream went on for {:?} after the cancel",
        t0.elapsed()
    );
    let last = events.last().unwrap();
    assert_eq!(last.kind, "run.cancelled", "{events:?}");
    let tokens = events.iter().filter(|e| e.kind == "token").count();
    assert!(tokens < 30, "the run was not stopped: {tokens} tokens");

    let run = wait_end(&api, id).await;
    assert_eq!(run["status"], "cancelled", "{run}");
    assert_eq!(run["output"], Value::Null);
    assert!(run["completed_at"].is_string(), "{run}");
    assert_eq!(run["steps"][0]["status"], "cancelled", "{run}");

    // Nothing was logged after run.cancelled.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let replay = rest(&mut open(events_req(&api, id)).await).await;
    assert_eq!(ids(&replay), ids(&events), "{replay:?}");
    assert_eq!(replay.last().unwrap().kind, "run.cancelled");
}

#[tokio::test]
async fn cancelling_a_finished_run_is_a_conflict() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let body = trigger(&api, &agent, json!({ "input": "done" }), 200).await;
    let id = str_of(&body, "run_id");
    let problem = api
        .send(
            api.request(Method::POST, &format!("/v1/runs/{id}/cancel")),
            409,
        )
        .await;
    assert_eq!(problem["code"], "conflict", "{problem}");
    assert_eq!(get_run(&api, id).await["status"], "completed");

    let res = api
        .gql(
            "mutation($id: ID!) { cancelRun(id: $id) { id status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(res["errors"][0]["extensions"]["code"], "CONFLICT", "{res}");
}

#[tokio::test]
async fn cancelling_a_queued_run_ends_it_at_once_and_cancel_run_works_in_graphql() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", slow(200)).await;
    let convo = json!({ "user_id": "usr_1", "channel": "web", "mode": "async" });
    let mut first = convo.clone();
    first["input"] = json!(words(10));
    let a = trigger(&api, &agent, first, 202).await;
    let a_id = str_of(&a, "run_id").to_owned();
    wait_until(&api, &a_id, "running", |r| r["status"] == "running").await;
    let mut second = convo.clone();
    second["input"] = json!("second");
    second["multitask"] = json!("enqueue");
    let b = trigger(&api, &agent, second, 202).await;
    let b_id = str_of(&b, "run_id");
    assert_eq!(b["status"], "queued");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        get_run(&api, b_id).await["status"],
        "queued",
        "waits behind the first"
    );

    let cancelled = api
        .send(
            api.request(Method::POST, &format!("/v1/runs/{b_id}/cancel")),
            200,
        )
        .await;
    assert_eq!(
        cancelled["status"], "cancelled",
        "a queued run ends at once: {cancelled}"
    );
    assert!(cancelled["completed_at"].is_string(), "{cancelled}");
    let events = rest(&mut open(events_req(&api, b_id)).await).await;
    assert_eq!(kinds(&events), ["run.created", "run.cancelled"]);

    // The running one, through GraphQL.
    let res = api
        .gql(
            "mutation($id: ID!) { cancelRun(id: $id) { id status } }",
            json!({ "id": a_id }),
        )
        .await;
    assert_eq!(res["errors"], Value::Null, "{res}");
    assert_eq!(res["data"]["cancelRun"]["id"], a_id.as_str());
    let a = wait_end(&api, &a_id).await;
    assert_eq!(a["status"], "cancelled", "{a}");

    // The queued one never ran.
    let b = get_run(&api, b_id).await;
    assert_eq!(b["status"], "cancelled", "{b}");
    assert_eq!(b["started_at"], Value::Null, "{b}");
    assert_eq!(b["steps"], json!([]), "{b}");
}

#[tokio::test]
async fn a_run_over_the_time_limit_fails_with_timeout() {
    let s = TestServer::start_with(|c| c.runs.timeout = Duration::from_secs(1)).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", slow(1_000)).await;
    let t0 = Instant::now();
    // ~9 s of tokens, cut at 1 s.
    let body = trigger(&api, &agent, json!({ "input": words(10) }), 200).await;
    assert!(
        t0.elapsed() < Duration::from_secs(4),
        "the run was not cut at 1 s: {:?}",
        t0.elapsed()
    );
    assert_eq!(body["status"], "failed", "{body}");
    assert_eq!(body["output"], Value::Null, "{body}");
    assert_eq!(body["error"]["code"], "timeout", "{body}");
    let id = str_of(&body, "run_id");
    let run = get_run(&api, id).await;
    assert_eq!(run["steps"][0]["status"], "failed", "{run}");
    let events = rest(&mut open(events_req(&api, id)).await).await;
    let last = events.last().unwrap();
    assert_eq!(last.kind, "run.failed", "{events:?}");
    assert_eq!(last.data["error"]["code"], "timeout");
}
