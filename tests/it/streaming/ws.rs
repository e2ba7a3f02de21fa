//! `graphql-transport-ws` driven by hand: subscribe, replay with `after`, complete,
//! errors, and the protocol's close codes; another organisation's run is not delivered.

use super::*;
use crate::common::calls::trigger_async as trigger;
use crate::common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// connection_init → connection_ack; subscribe → next, next, ... → complete; the
/// socket stays usable afterwards (a second subscription on it works).
#[tokio::test]
async fn ws_init_ack_subscribe_next_complete() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = echo_agent(&api, "slow echo", 30).await;
    let input = sentence(20);
    let run_id = trigger(&api, &agent, &input).await;

    let mut ws = Gws::connect(&s).await;
    ws.init(&s.admin_key).await;
    ws.subscribe("live", EVENTS_SUB, json!({ "runId": run_id }))
        .await;
    let live = ws.run_events_until_complete("live").await;
    assert_whole_run(&live, &input, "live subscription");

    // The run is over: a new subscription replays the whole log and completes.
    ws.subscribe("replay", EVENTS_SUB, json!({ "runId": run_id }))
        .await;
    let replay = ws.run_events_until_complete("replay").await;
    assert_eq!(
        replay, live,
        "a replay gives the same events as the live stream"
    );

    // After `complete`, nothing more arrives for either subscription.
    assert_eq!(ws.recv_within(Duration::from_millis(300)).await, None);
}

/// `after: n` gives only the events with seq > n: on a finished run (including
/// `after` = the last seq or beyond it, which completes at once with no events) and on
/// a run still going.
#[tokio::test]
async fn ws_after_replays_only_later_events() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = echo_agent(&api, "slow echo", 40).await;
    let input = sentence(12);
    let run_id = trigger(&api, &agent, &input).await;

    let mut ws = Gws::connect(&s).await;
    ws.init(&s.admin_key).await;

    // Live, from the middle: subscribed while the run is still going.
    ws.subscribe(
        "live-after-2",
        EVENTS_SUB,
        json!({ "runId": run_id, "after": 2 }),
    )
    .await;
    let live_tail = ws.run_events_until_complete("live-after-2").await;

    ws.subscribe("all", EVENTS_SUB, json!({ "runId": run_id }))
        .await;
    let all = ws.run_events_until_complete("all").await;
    assert_whole_run(&all, &input, "full replay");
    assert_eq!(live_tail, all[2..], "after: 2 on a live run");

    ws.subscribe(
        "after-3",
        EVENTS_SUB,
        json!({ "runId": run_id, "after": 3 }),
    )
    .await;
    let tail = ws.run_events_until_complete("after-3").await;
    assert_eq!(tail, all[3..], "after: 3 on a finished run");

    // Nothing after the last event (or beyond it): the subscription completes at once.
    let last = all.last().expect("events").seq;
    for after in [last, last + 100] {
        let id = format!("after-{after}");
        ws.subscribe(&id, EVENTS_SUB, json!({ "runId": run_id, "after": after }))
            .await;
        let msg = ws
            .recv_within(Duration::from_secs(5))
            .await
            .unwrap_or_else(|| {
                panic!(
                    "runEvents(after: {after}) of a finished run whose last seq is {last} \
                 must complete at once with no events (API.md: a finished run's stream \
                 ends after its last event); nothing arrived within 5 s"
                )
            });
        assert_eq!(
            msg,
            json!({ "id": id, "type": "complete" }),
            "after: {after} (last seq {last})"
        );
    }
}

/// A client `complete` stops the subscription: after the server has read it (a ping
/// sent after it is answered), nothing more arrives for it; its id is free again.
#[tokio::test]
async fn ws_client_complete_stops_the_subscription() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = echo_agent(&api, "slow echo", 40).await;
    let input = sentence(40);
    let run_id = trigger(&api, &agent, &input).await;

    let mut ws = Gws::connect(&s).await;
    ws.init(&s.admin_key).await;
    ws.subscribe("s", EVENTS_SUB, json!({ "runId": run_id }))
        .await;
    for _ in 0..5 {
        let msg = ws.recv().await;
        assert_eq!(msg["type"], "next", "{msg}");
    }
    ws.send(json!({ "id": "s", "type": "complete" })).await;
    // Messages already on their way may still come before the pong.
    for msg in ws.until_pong().await {
        assert_eq!(msg["type"], "next", "in flight before the complete: {msg}");
    }
    assert_eq!(
        ws.recv_within(Duration::from_millis(500)).await,
        None,
        "a message arrived for a subscription the client completed"
    );
    // The id can be used again, and the run is still followed to its end.
    ws.subscribe("s", EVENTS_SUB, json!({ "runId": run_id }))
        .await;
    let events = ws.run_events_until_complete("s").await;
    assert_whole_run(&events, &input, "after resubscribing");
}

/// The id of a completed operation can be reused at once (the protocol frees an id with
/// its `complete`): 100 queries in a row on one id, each sent right after the previous
/// `complete`, all answered (no 4409).
#[tokio::test]
async fn ws_id_is_reusable_right_after_complete() {
    let s = TestServer::start().await;
    let mut ws = Gws::connect(&s).await;
    ws.init(&s.admin_key).await;
    for i in 0..100 {
        ws.subscribe("q", "query { __typename }", json!({})).await;
        let next = ws.recv().await;
        assert_eq!(
            next,
            json!({ "id": "q", "type": "next", "payload": { "data": { "__typename": "Query" } } }),
            "query {i}"
        );
        let done = ws.recv().await;
        assert_eq!(done, json!({ "id": "q", "type": "complete" }), "query {i}");
    }
}

/// An operation that fails validation gets one `error` message (a list of GraphQL
/// errors) and no `complete`; the socket stays open.
#[tokio::test]
async fn ws_invalid_operation_gets_an_error_message() {
    let s = TestServer::start().await;
    let mut ws = Gws::connect(&s).await;
    ws.init(&s.admin_key).await;
    for (id, query) in [
        ("syntax", "subscription { runEvents("),
        ("unknown-field", "subscription { noSuchField }"),
        ("missing-arg", "subscription { runEvents { seq } }"),
    ] {
        ws.subscribe(id, query, json!({})).await;
        let msg = ws.recv().await;
        assert_eq!(msg["id"], id, "{msg}");
        assert_eq!(msg["type"], "error", "{id}: {msg}");
        let errors = msg["payload"].as_array().expect("payload is a list");
        assert!(
            !errors.is_empty() && errors.iter().all(|e| e["message"].is_string()),
            "{id}: {msg}"
        );
        assert_eq!(
            ws.until_pong().await,
            Vec::<Value>::new(),
            "{id}: nothing follows the error (no complete)"
        );
    }
}

/// A bad key in `connection_init` closes the socket with 4403 Forbidden (the protocol's
/// recommendation) or 4401 Unauthorized; so does a `connection_init` without payload.
#[tokio::test]
async fn ws_bad_key_in_connection_init_closes_the_socket() {
    let s = TestServer::start().await;
    let mut endings = Vec::new();
    for payload in [
        json!({ "authorization": "Bearer os_live_not_a_real_key" }),
        json!({ "authorization": "os_live_not_a_real_key" }),
        json!({}),
    ] {
        let mut ws = Gws::connect(&s).await;
        ws.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        endings.push((payload, ws.ending(Duration::from_secs(5)).await));
    }
    let mut ws = Gws::connect(&s).await;
    ws.send(json!({ "type": "connection_init" })).await;
    endings.push((Value::Null, ws.ending(Duration::from_secs(5)).await));

    for (payload, ending) in &endings {
        println!("connection_init payload {payload}: {ending:?}");
    }
    for (payload, ending) in &endings {
        assert!(
            matches!(ending.code(), Some(4401 | 4403)),
            "graphql-transport-ws: a rejected connection_init (payload {payload}) must \
             close the socket with 4403 Forbidden (or 4401 Unauthorized); the server: \
             {ending:?}"
        );
    }
}

/// `subscribe` before `connection_ack` closes the socket with 4401 Unauthorized.
#[tokio::test]
async fn ws_subscribe_before_ack_closes_4401() {
    let s = TestServer::start().await;
    let mut ws = Gws::connect(&s).await;
    ws.subscribe("1", "subscription { runUpdates { id } }", json!({}))
        .await;
    let ending = ws.ending(Duration::from_secs(5)).await;
    println!("subscribe before connection_ack: {ending:?}");
    assert_closed_with(&ending, 4401, "a subscribe before connection_ack");
}

/// A message the protocol does not define (not JSON, an unknown type, a subscribe
/// without id) closes the socket with 4400.
#[tokio::test]
async fn ws_malformed_messages_close_4400() {
    let s = TestServer::start().await;
    let mut endings = Vec::new();
    // Before connection_init.
    let mut ws = Gws::connect(&s).await;
    ws.send_text("this is not JSON".into()).await;
    endings.push((
        "invalid JSON before init",
        ws.ending(Duration::from_secs(5)).await,
    ));
    let mut ws = Gws::connect(&s).await;
    ws.send(json!({ "type": "bogus" })).await;
    endings.push((
        "unknown type before init",
        ws.ending(Duration::from_secs(5)).await,
    ));
    // After connection_ack.
    for (case, msg) in [
        ("invalid JSON after ack", "{\"type\": ".to_owned()),
        (
            "unknown type after ack",
            json!({ "type": "bogus" }).to_string(),
        ),
        (
            "subscribe without id after ack",
            json!({ "type": "subscribe", "payload": { "query": "{ __typename }" } }).to_string(),
        ),
    ] {
        let mut ws = Gws::connect(&s).await;
        ws.init(&s.admin_key).await;
        ws.send_text(msg).await;
        endings.push((case, ws.ending(Duration::from_secs(5)).await));
    }
    for (case, ending) in &endings {
        println!("{case}: {ending:?}");
    }
    for (case, ending) in &endings {
        assert_closed_with(ending, 4400, case);
    }
}

/// A socket that never sends `connection_init` is closed with 4408 once the server's
/// init wait runs out (graphql-ws's default is 3 s, this server's 10 s; allowed here:
/// 15 s).
#[tokio::test]
async fn ws_missing_connection_init_closes_4408() {
    let s = TestServer::start().await;
    let ws = Gws::connect(&s).await;
    let started = Instant::now();
    let ending = ws.ending(Duration::from_secs(15)).await;
    println!(
        "no connection_init: {ending:?} after {:?}",
        started.elapsed()
    );
    assert_closed_with(&ending, 4408, "no connection_init within the init timeout");
}

/// A `subscribe` reusing the id of a subscription still going closes the socket with
/// 4409 `Subscriber for <id> already exists`.
#[tokio::test]
async fn ws_duplicate_subscriber_id_closes_4409() {
    let s = TestServer::start().await;
    let mut ws = Gws::connect(&s).await;
    ws.init(&s.admin_key).await;
    // runUpdates never completes on its own, so "dup" is still going.
    ws.subscribe("dup", UPDATES_SUB, json!({})).await;
    ws.settle().await;
    ws.subscribe("dup", UPDATES_SUB, json!({})).await;
    let ending = ws.ending(Duration::from_secs(5)).await;
    println!("duplicate subscriber id: {ending:?}");
    assert_closed_with(&ending, 4409, "a second subscribe with an id in use");
    if let Ending::Closed(_, reason) = &ending {
        assert!(reason.contains("dup"), "the reason names the id: {reason}");
    }
}

/// A second `connection_init` closes the socket with 4429.
#[tokio::test]
async fn ws_second_connection_init_closes_4429() {
    let s = TestServer::start().await;
    let mut ws = Gws::connect(&s).await;
    ws.init(&s.admin_key).await;
    ws.send(json!({
        "type": "connection_init",
        "payload": { "authorization": format!("Bearer {}", s.admin_key) },
    }))
    .await;
    let ending = ws.ending(Duration::from_secs(5)).await;
    println!("second connection_init: {ending:?}");
    assert_closed_with(&ending, 4429, "a second connection_init");
}

/// Another organisation's run cannot be followed: the subscription errors with
/// NOT_FOUND (as a `next` with errors then `complete`, or an `error` message) and no
/// event of the run is delivered.
#[tokio::test]
async fn ws_run_events_of_another_orgs_run_are_not_delivered() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = echo_agent(&api, "echo", 0).await;
    let run_id = trigger(&api, &agent, "private words").await;
    let (_, other_key) = s.new_org("enterprise").await;

    let mut ws = Gws::connect(&s).await;
    ws.init(&other_key).await;
    ws.subscribe("x", EVENTS_SUB, json!({ "runId": run_id }))
        .await;
    let msg = ws.recv().await;
    assert_eq!(msg["id"], "x", "{msg}");
    let errors = match msg["type"].as_str() {
        Some("error") => msg["payload"].clone(),
        Some("next") => {
            assert!(
                msg["payload"]["data"].is_null(),
                "another org's run must not be delivered: {msg}"
            );
            let done = ws.recv().await;
            assert_eq!(done, json!({ "id": "x", "type": "complete" }));
            msg["payload"]["errors"].clone()
        }
        _ => panic!("expected an error for another org's run: {msg}"),
    };
    assert_eq!(
        errors[0]["extensions"]["code"], "NOT_FOUND",
        "errors: {errors}"
    );
}
