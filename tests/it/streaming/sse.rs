//! GraphQL over SSE (graphql-sse distinct connections mode at `/graphql/stream`) and
//! the REST SSE route `GET /v1/runs/{id}/events`, replay and 200 concurrent subscribers.

use super::*;
use crate::common::calls::trigger_async as trigger;
use crate::common::*;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// `(event, id, data)` of every event of an SSE body (`event` defaults to `message`).
/// Every block with at least one field is an event, including one without a `data`
/// line: graphql-sse's `complete` is written `event: complete` alone (as the reference
/// implementation's `print` does), which parsers following the HTML rules (browsers'
/// `EventSource`, eventsource-stream) never dispatch. Comment lines (heartbeats) are
/// skipped.
fn parse_sse(body: &str) -> Vec<(String, String, String)> {
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    let mut events = Vec::new();
    for block in body.split("\n\n") {
        let (mut event, mut id, mut data, mut fields) = (None, String::new(), Vec::new(), 0);
        for line in block.lines() {
            if line.is_empty() || line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line, ""),
            };
            match field {
                "event" => event = Some(value.to_owned()),
                "id" => id = value.to_owned(),
                "data" => data.push(value),
                _ => {}
            }
            fields += 1;
        }
        if fields > 0 {
            events.push((
                event.unwrap_or_else(|| "message".into()),
                id,
                data.join("\n"),
            ));
        }
    }
    events
}

/// REST SSE events (`id:` = seq, `event:` = type, `data:` = JSON) as [`Ev`]s. The data
/// is compared as JSON: its key order may differ between an event delivered live and
/// the same event replayed from the log (PostgreSQL's `jsonb` reorders keys).
fn rest_events(events: &[(String, String, String)]) -> Vec<Ev> {
    events
        .iter()
        .map(|(kind, id, data)| Ev {
            seq: id
                .parse()
                .unwrap_or_else(|_| panic!("id is the seq: {id:?}")),
            kind: kind.clone(),
            data: serde_json::from_str(data).unwrap_or_else(|_| panic!("data is not JSON: {data}")),
        })
        .collect()
}

/// The events of an SSE response, read to the end of its body.
async fn sse_events(resp: reqwest::Response) -> Vec<(String, String, String)> {
    let body = tokio::time::timeout(Duration::from_secs(30), resp.text())
        .await
        .expect("the SSE stream did not end within 30 s")
        .expect("SSE body");
    parse_sse(&body)
}

/// POSTs an operation to `/graphql/stream`.
fn graphql_sse(api: &Api, query: &str, variables: Value) -> reqwest::RequestBuilder {
    api.request(reqwest::Method::POST, "/graphql/stream")
        .header(ACCEPT, "text/event-stream")
        .json(&json!({ "query": query, "variables": variables }))
}

fn assert_event_stream(resp: &reqwest::Response) {
    assert_eq!(resp.status(), StatusCode::OK);
    let ct = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(ct.starts_with("text/event-stream"), "content-type {ct}");
}

/// The `runEvents` subscription over graphql-sse: one `next` per event (data = the
/// execution result, `data.runEvents`), then `complete`.
#[tokio::test]
async fn sse_graphql_run_events_next_then_complete() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = echo_agent(&api, "slow echo", 30).await;
    let input = sentence(15);
    let run_id = trigger(&api, &agent, &input).await;

    let resp = graphql_sse(&api, EVENTS_SUB, json!({ "runId": run_id }))
        .send()
        .await
        .expect("sent");
    assert_event_stream(&resp);
    let mut events = sse_events(resp).await;
    let (last, _, _) = events.pop().expect("at least one event");
    assert_eq!(last, "complete", "the stream ends with complete");
    let run_events: Vec<Ev> = events
        .iter()
        .map(|(kind, _, data)| {
            assert_eq!(kind, "next", "only next events before complete");
            let result: Value = serde_json::from_str(data).expect("next data is JSON");
            assert!(result.get("errors").is_none(), "errors: {result}");
            assert_eq!(result["data"]["runEvents"]["runId"], run_id.as_str());
            Ev::from_gql(&result["data"]["runEvents"])
        })
        .collect();
    assert_whole_run(&run_events, &input, "graphql-sse");

    // The same events with `after`.
    let resp = graphql_sse(&api, EVENTS_SUB, json!({ "runId": run_id, "after": 4 }))
        .send()
        .await
        .expect("sent");
    assert_event_stream(&resp);
    let tail = sse_events(resp).await;
    assert_eq!(tail.len(), run_events.len() - 4 + 1, "{tail:?}");
    assert_eq!(tail.last().map(|e| e.0.as_str()), Some("complete"));
    let tail: Vec<Ev> = tail[..tail.len() - 1]
        .iter()
        .map(|(_, _, data)| {
            let result: Value = serde_json::from_str(data).expect("JSON");
            Ev::from_gql(&result["data"]["runEvents"])
        })
        .collect();
    assert_eq!(tail, run_events[4..]);
}

/// A query (not a subscription) over graphql-sse: one `next`, then `complete`.
#[tokio::test]
async fn sse_graphql_query_yields_one_next_then_complete() {
    let s = TestServer::start().await;
    let api = s.api();
    let resp = graphql_sse(&api, "query { __typename }", json!({}))
        .send()
        .await
        .expect("sent");
    assert_event_stream(&resp);
    let events = sse_events(resp).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].0, "next");
    let result: Value = serde_json::from_str(&events[0].2).expect("JSON");
    assert_eq!(result, json!({ "data": { "__typename": "Query" } }));
    assert_eq!(events[1].0, "complete");
}

/// Errors come as `next` events on an accepted stream (graphql-sse: validation errors
/// MUST be reported that way), followed by `complete`: another organisation's run is
/// NOT_FOUND (with `extensions.code`, as every GraphQL error has), and a query that
/// does not parse has errors.
#[tokio::test]
async fn sse_graphql_errors_are_next_events() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = echo_agent(&api, "echo", 0).await;
    let run_id = trigger(&api, &agent, "private words").await;
    let (_, other_key) = s.new_org("enterprise").await;
    let other = s.api_with(Some(&other_key));

    let mut results = Vec::new();
    for (api, query, variables) in [
        (&other, EVENTS_SUB, json!({ "runId": run_id })),
        (&api, "subscription { runEvents(", json!({})),
    ] {
        let resp = graphql_sse(api, query, variables)
            .send()
            .await
            .expect("sent");
        assert_event_stream(&resp);
        let events = sse_events(resp).await;
        assert_eq!(events.len(), 2, "one next, then complete: {events:?}");
        assert_eq!(events[0].0, "next", "{events:?}");
        assert_eq!(events[1].0, "complete", "{events:?}");
        let result: Value = serde_json::from_str(&events[0].2).expect("JSON");
        assert!(result["data"].is_null(), "no data: {result}");
        assert!(
            result["errors"][0]["message"].is_string(),
            "errors: {result}"
        );
        results.push(result);
    }
    assert_eq!(
        results[0]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "another org's run over graphql-sse: {}",
        results[0]
    );
}

/// No (or a bad) `Authorization` header: 401, no stream.
#[tokio::test]
async fn sse_graphql_without_authorization_is_401() {
    let s = TestServer::start().await;
    for key in [None, Some("os_live_not_a_real_key")] {
        let resp = graphql_sse(&s.api_with(key), "query { __typename }", json!({}))
            .send()
            .await
            .expect("sent");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "key {key:?}");
    }
}

/// `GET /v1/runs/{id}/events` of a finished run with `Last-Event-ID: n` replays the
/// events after n and ends; with n = the last seq (or beyond) it ends at once, empty.
#[tokio::test]
async fn sse_rest_last_event_id_replays_later_events_and_ends() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = echo_agent(&api, "echo", 0).await;
    let input = sentence(6);
    let run_id = trigger(&api, &agent, &input).await;
    let events_of = |last_event_id: Option<i64>| {
        let mut req = api
            .request(reqwest::Method::GET, &format!("/v1/runs/{run_id}/events"))
            .header(ACCEPT, "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id.to_string());
        }
        async move {
            let resp = req.send().await.expect("sent");
            assert_event_stream(&resp);
            let body = tokio::time::timeout(Duration::from_secs(5), resp.text())
                .await
                .map_err(|_| {
                    format!("Last-Event-ID {last_event_id:?}: the stream did not end within 5 s")
                })?
                .expect("body");
            Ok::<_, String>(rest_events(&parse_sse(&body)))
        }
    };
    // Waits for the run to end (the stream ends after its terminal event).
    let all = events_of(None).await.expect("the whole stream ends");
    assert_whole_run(&all, &input, "REST SSE");
    let last = all.last().expect("events").seq;

    let tail = events_of(Some(3)).await.expect("the replay ends");
    assert_eq!(tail, all[3..], "Last-Event-ID: 3");
    for after in [last, last + 100] {
        let rest = events_of(Some(after)).await.unwrap_or_else(|e| {
            panic!(
                "{e}: a finished run whose last event id is {last} has nothing after \
                 Last-Event-ID {after}, so its stream must end at once (API.md: a finished \
                 run's stream ends after its last event)"
            )
        });
        assert_eq!(rest, vec![], "Last-Event-ID: {after}");
    }
}

/// 200 concurrent subscribers of `GET /v1/runs/{id}/events` on one slow run each
/// receive the identical, complete sequence (`id:` = seq, `event:` = type).
#[tokio::test]
async fn sse_rest_200_concurrent_subscribers_get_identical_events() {
    const SUBSCRIBERS: usize = 200;
    // One key holds them all: above the default per-key stream cap (100).
    let s = TestServer::start_with(|c| c.streams.max_per_key = SUBSCRIBERS).await;
    let api = s.api();
    let agent = echo_agent(&api, "slow echo", 40).await;
    let input = sentence(40);
    let run_id = trigger(&api, &agent, &input).await;

    let started = Instant::now();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/runs/{run_id}/events", s.base);
    let tasks: Vec<_> = (0..SUBSCRIBERS)
        .map(|_| {
            let req = http
                .get(&url)
                .bearer_auth(&s.admin_key)
                .header(ACCEPT, "text/event-stream");
            tokio::spawn(async move {
                let resp = req.send().await.expect("sent");
                assert_event_stream(&resp);
                sse_events(resp).await
            })
        })
        .collect();
    let streams: Vec<_> =
        tokio::time::timeout(Duration::from_secs(30), futures::future::join_all(tasks))
            .await
            .expect("the subscribers did not finish within 30 s")
            .into_iter()
            .map(|r| r.expect("subscriber task"))
            .collect();
    let elapsed = started.elapsed();
    println!("{SUBSCRIBERS} subscribers done in {elapsed:?}");

    let first = rest_events(&streams[0]);
    assert_whole_run(&first, &input, "REST SSE");
    for (i, stream) in streams.iter().enumerate() {
        assert_eq!(
            rest_events(stream),
            first,
            "subscriber {i} received a different sequence than subscriber 0"
        );
    }
    assert!(
        elapsed < Duration::from_secs(10),
        "{SUBSCRIBERS} subscribers took {elapsed:?}"
    );
}
