//! Triggering a run: the documented example, async and sync modes, and answering
//! a run as server-sent events with replay and `Last-Event-ID`.

use crate::common::calls::trigger;
use crate::common::run_support::*;
use crate::common::*;
use futures::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[tokio::test]
async fn documented_example_answers_the_five_documented_fields_first() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let input = "Book a haircut for tomorrow at 3pm";
    let body = trigger(
        &api,
        &agent,
        json!({ "input": input, "channel": "whatsapp", "user_id": "usr_xyz789" }),
        200,
    )
    .await;
    let keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert!(keys.len() >= 5, "{body}");
    assert_eq!(
        keys[..5],
        ["run_id", "status", "output", "tokens", "duration_ms"],
        "{body}"
    );
    let run_id = str_of(&body, "run_id");
    assert!(run_id.starts_with("run_"), "{body}");
    assert_eq!(body["status"], "completed", "{body}");
    assert_eq!(body["output"], input, "echo answers the input: {body}");
    let tokens = body["tokens"].as_object().expect("tokens object");
    assert_eq!(
        tokens.keys().collect::<Vec<_>>(),
        ["input", "output"],
        "{body}"
    );
    assert!(body["tokens"]["input"].as_u64().unwrap() > 0, "{body}");
    assert!(body["tokens"]["output"].as_u64().unwrap() > 0, "{body}");
    assert!(body["duration_ms"].is_u64(), "{body}");
    // The fields that may follow.
    assert_eq!(body["error"], Value::Null, "{body}");
    assert_eq!(body["agent_id"], agent.as_str());
    assert_eq!(body["agent_version"], 1);
    assert_eq!(body["channel"], "whatsapp");
    assert_eq!(body["user_id"], "usr_xyz789");
    assert_eq!(body["session_id"], Value::Null);
    assert!(
        time(&body["completed_at"]) >= time(&body["created_at"]),
        "{body}"
    );

    // The stored run says the same.
    let run = get_run(&api, run_id).await;
    assert_eq!(run["id"], run_id);
    assert_eq!(run["status"], "completed");
    assert_eq!(run["input"], input);
    assert_eq!(run["output"], input);
    assert_eq!(run["tokens"], body["tokens"]);
    assert_eq!(run["channel"], "whatsapp");
    assert_eq!(run["user_id"], "usr_xyz789");
}

#[tokio::test]
async fn async_mode_answers_202_queued_and_the_run_completes_with_its_trace() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let body = trigger(
        &api,
        &agent,
        json!({ "input": "hello there", "mode": "async" }),
        202,
    )
    .await;
    assert_eq!(body["status"], "queued", "{body}");
    assert_eq!(body["output"], Value::Null, "{body}");
    let id = str_of(&body, "run_id");

    let run = wait_end(&api, id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["output"], "hello there");
    assert!(
        time(&run["started_at"]) >= time(&run["created_at"]),
        "{run}"
    );
    assert!(
        time(&run["completed_at"]) >= time(&run["started_at"]),
        "{run}"
    );
    let steps = run["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 1, "{run}");
    let step = &steps[0];
    assert!(str_of(step, "id").starts_with("stp_"), "{step}");
    assert_eq!(step["position"], 1);
    assert_eq!(step["type"], "llm");
    assert_eq!(step["name"], "mock/echo");
    assert_eq!(step["status"], "completed");
    assert_eq!(step["error"], Value::Null);
    assert_eq!(step["output"]["text"], "hello there", "{step}");
    assert!(step["tokens"]["input"].as_u64().unwrap() > 0, "{step}");
    assert!(step["tokens"]["output"].as_u64().unwrap() > 0, "{step}");
    assert!(step["duration_ms"].is_u64(), "{step}");
    assert_eq!(
        run["tokens"], step["tokens"],
        "one step: its tokens are the run's"
    );
}

#[tokio::test]
async fn sync_run_that_outlasts_the_wait_answers_202_running_and_completes_later() {
    let s = TestServer::start_with(|c| c.runs.wait_timeout = Duration::from_secs(1)).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", slow(150)).await;
    let input = words(12); // ~1.65 s
    let t0 = Instant::now();
    let body = trigger(&api, &agent, json!({ "input": input }), 202).await;
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "answered after {waited:?}"
    );
    assert_eq!(body["status"], "running", "{body}");
    assert_eq!(body["output"], Value::Null, "{body}");
    let run = wait_end(&api, str_of(&body, "run_id")).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["output"], input.as_str());
}

#[tokio::test]
async fn stream_true_or_accept_event_stream_answers_the_run_as_server_sent_events() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let input = "Book a haircut for tomorrow at 3pm";
    let path = format!("/v1/agents/{agent}/run");
    let by_body = api
        .request(Method::POST, &path)
        .json(&json!({ "input": input, "stream": true }));
    let by_header = api
        .request(Method::POST, &path)
        .header("accept", "text/event-stream")
        .json(&json!({ "input": input }));
    for req in [by_body, by_header] {
        let events = rest(&mut open(req).await).await;
        assert_eq!(kinds(&events), one_step(7), "{events:?}");
        let n = events.len() as i64;
        assert_eq!(ids(&events), (1..=n).collect::<Vec<_>>(), "{events:?}");
        assert_eq!(deltas(&events), input);
        let last = events.last().unwrap();
        assert_eq!(last.data["output"], input, "{last:?}");
        let run_id = str_of(&events[0].data, "run_id");
        let run = get_run(&api, run_id).await;
        assert_eq!(run["status"], "completed", "{run}");
        assert_eq!(run["output"], input);
    }
}

#[tokio::test]
async fn events_of_a_finished_run_replay_in_full_and_end() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let input = "one two three";
    let body = trigger(&api, &agent, json!({ "input": input }), 200).await;
    let id = str_of(&body, "run_id");
    let events = rest(&mut open(events_req(&api, id)).await).await;
    assert_eq!(kinds(&events), one_step(3), "{events:?}");
    assert_eq!(ids(&events), (1..=8).collect::<Vec<_>>());
    assert_eq!(deltas(&events), input);
    assert_eq!(events[0].data["run_id"], id);

    // Resuming replays only what follows the given id.
    let after = rest(&mut open(events_req(&api, id).header("last-event-id", "3")).await).await;
    assert_eq!(ids(&after), (4..=8).collect::<Vec<_>>());
    assert_eq!(kinds(&after), kinds(&events)[3..]);
}

#[tokio::test]
async fn resuming_after_the_last_event_of_a_finished_run_ends_at_once() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let body = trigger(&api, &agent, json!({ "input": "one two" }), 200).await;
    let id = str_of(&body, "run_id");
    let events = rest(&mut open(events_req(&api, id)).await).await;
    let last = events.last().unwrap();
    assert_eq!(last.kind, "run.completed");
    // A client that got the terminal event but lost the connection before it closed
    // reconnects with its id: nothing is left, and the stream must end.
    let mut resumed = open(events_req(&api, id).header("last-event-id", last.id.to_string())).await;
    let more = tokio::time::timeout(Duration::from_secs(3), resumed.next()).await;
    assert!(
        matches!(more, Ok(None)),
        "the stream of a finished run resumed after its last event should end at once; got {:?}",
        more.map(|e| e.map(|e| e.kind))
            .map_err(|_| "still open after 3 s")
    );
}

#[tokio::test]
async fn reconnecting_with_last_event_id_misses_and_repeats_nothing() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", slow(50)).await;
    let input = words(16); // ~0.8 s
    let body = trigger(
        &api,
        &agent,
        json!({ "input": input, "mode": "async" }),
        202,
    )
    .await;
    let id = str_of(&body, "run_id");

    let mut first = open(events_req(&api, id)).await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(next(&mut first).await.expect("an event"));
    }
    drop(first);
    let last = seen.last().unwrap().id;
    // Events happen while the client is away.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let resumed =
        rest(&mut open(events_req(&api, id).header("last-event-id", last.to_string())).await).await;
    assert_eq!(resumed.first().map(|e| e.id), Some(last + 1), "{resumed:?}");
    seen.extend(resumed);

    assert_eq!(kinds(&seen), one_step(16), "{seen:?}");
    let n = seen.len() as i64;
    assert_eq!(
        ids(&seen),
        (1..=n).collect::<Vec<_>>(),
        "each event exactly once, in order"
    );
    assert_eq!(deltas(&seen), input);
    assert_eq!(seen.last().unwrap().data["output"], input.as_str());
}
