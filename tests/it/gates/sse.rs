//! `gateUpdates` over GraphQL over SSE (`/graphql/stream`, distinct connections mode), as
//! over WebSocket: the organisation's gates as they open and close.

use super::support::*;
use crate::common::run_support::*;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn gate_updates_stream_over_graphql_sse() {
    let g = gated(refund_then_done, None).await;
    let res = g
        .api
        .request(reqwest::Method::POST, "/graphql/stream")
        .header("accept", "text/event-stream")
        .json(&json!({ "query": "subscription { gateUpdates { id runId status comment } }" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 200);
    let mut events = Box::pin(res.bytes_stream().eventsource());
    // The subscription starts when the stream is first read; give it that moment before
    // the gate opens (its events are not replayed). `next` loses nothing when cut short.
    let early = tokio::time::timeout(Duration::from_millis(300), events.next()).await;
    assert!(early.is_err(), "no gate yet: {early:?}");
    let run_id = start(&g.api, &g.agent).await;
    let opened = next_update(&mut events).await;
    assert_eq!(opened["status"], "PENDING", "{opened}");
    assert_eq!(opened["runId"], run_id.as_str());
    let id = opened["id"].as_str().expect("id").to_owned();
    resolve(&g.api, &id, "reject", json!({ "comment": "no" }), 200).await;
    assert_eq!(
        next_update(&mut events).await,
        json!({ "id": id, "runId": run_id, "status": "REJECTED", "comment": "no" })
    );
    assert_eq!(wait_end(&g.api, &run_id).await["status"], "completed");
}

/// The next `gateUpdates` payload of a graphql-sse stream.
async fn next_update<S, E>(events: &mut S) -> Value
where
    S: futures::Stream<Item = Result<eventsource_stream::Event, E>> + Unpin,
    E: std::fmt::Debug,
{
    let e = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("a gate update within 5 s")
        .expect("the stream is open")
        .expect("well-formed SSE");
    assert_eq!(e.event, "next", "{e:?}");
    let result: Value = serde_json::from_str(&e.data).expect("JSON");
    assert!(result.get("errors").is_none(), "{result}");
    result["data"]["gateUpdates"].clone()
}
