//! Streaming: the `runEvents` and `runUpdates` subscriptions over GraphQL over WebSocket
//! (`graphql-transport-ws` at `/graphql/ws`, driven both by the unmodified npm
//! `graphql-ws` client and by hand with tokio-tungstenite, including the protocol's
//! close codes), over GraphQL over SSE (graphql-sse distinct connections mode at
//! `/graphql/stream`), and the REST SSE route `GET /v1/runs/{id}/events` under 200
//! concurrent subscribers.
//!
//! Runs use `mock/echo` agents, which stream their input back token by token;
//! `model_settings.token_delay_ms` keeps a run going long enough to be followed live.

use crate::common::*;
use crate::node::{ensure_node_modules, node_dir, run, show};
use futures::{SinkExt, StreamExt};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::process::Command;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The `runEvents` subscription with every field of `RunEvent`.
const EVENTS_SUB: &str = "subscription RunEvents($runId: ID!, $after: Int) { \
     runEvents(runId: $runId, after: $after) { seq type data runId createdAt } }";

/// The `runUpdates` subscription.
const UPDATES_SUB: &str = "subscription RunUpdates($filter: RunFilter) { \
     runUpdates(filter: $filter) { id status output agentId } }";

/// How long one WebSocket message may take to arrive.
const MESSAGE_WAIT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------------

/// Creates a `mock/echo` agent that sleeps `delay_ms` between two tokens; returns its id.
async fn echo_agent(api: &Api, name: &str, delay_ms: u64) -> String {
    let agent = api
        .post(
            "/v1/agents",
            json!({
                "name": name,
                "model": "mock/echo",
                "instructions": "Echo.",
                "model_settings": { "token_delay_ms": delay_ms },
            }),
            201,
        )
        .await;
    agent["id"]
        .as_str()
        .unwrap_or_else(|| panic!("agent without id: {agent}"))
        .to_owned()
}

/// Triggers an async run and returns its id (`run_id` in the REST answer).
async fn trigger(api: &Api, agent_id: &str, input: &str) -> String {
    let run = api
        .post(
            &format!("/v1/agents/{agent_id}/run"),
            json!({ "input": input, "mode": "async" }),
            202,
        )
        .await;
    run["run_id"]
        .as_str()
        .unwrap_or_else(|| panic!("run without run_id: {run}"))
        .to_owned()
}

/// `words` words separated by single spaces (`mock/echo` streams one token per word).
fn sentence(words: usize) -> String {
    (1..=words)
        .map(|i| format!("word{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One run event as every transport reports it.
#[derive(Debug, Clone, PartialEq)]
struct Ev {
    seq: i64,
    kind: String,
    data: Value,
}

impl Ev {
    /// From a GraphQL `RunEvent` object (`seq type data ...`); its `type` (`RUN_CREATED`)
    /// is compared in REST's spelling (`run.created`).
    fn from_gql(v: &Value) -> Self {
        Self {
            seq: v["seq"]
                .as_i64()
                .unwrap_or_else(|| panic!("event without integer seq: {v}")),
            kind: v["type"]
                .as_str()
                .unwrap_or_else(|| panic!("event without type: {v}"))
                .to_ascii_lowercase()
                .replacen('_', ".", 1),
            data: v["data"].clone(),
        }
    }
}

const TERMINAL: &[&str] = &["run.completed", "run.failed", "run.cancelled"];

/// Asserts `events` is a whole completed run of `input`: seq 1, 2, 3, ... in order,
/// opening with `run.created`, its `token` deltas joined give the input, exactly one
/// terminal event, last, and it is `run.completed`.
fn assert_whole_run(events: &[Ev], input: &str, what: &str) {
    assert!(!events.is_empty(), "{what}: no events");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e.seq,
            i as i64 + 1,
            "{what}: seq must count up from 1 without gaps or repeats; events: {events:#?}"
        );
    }
    assert_eq!(events[0].kind, "run.created", "{what}: first event");
    let tokens: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "token")
        .map(|e| {
            e.data["delta"]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: token without delta: {e:?}"))
        })
        .collect();
    assert_eq!(
        tokens.concat(),
        input,
        "{what}: the token deltas, joined, must give the input back"
    );
    assert_eq!(
        tokens.len(),
        input.split(' ').count(),
        "{what}: one token per word"
    );
    let last = events.last().expect("non-empty");
    assert_eq!(last.kind, "run.completed", "{what}: last event");
    let terminals = events
        .iter()
        .filter(|e| TERMINAL.contains(&e.kind.as_str()))
        .count();
    assert_eq!(terminals, 1, "{what}: exactly one terminal event");
}

// ---------------------------------------------------------------------------------
// graphql-transport-ws by hand
// ---------------------------------------------------------------------------------

/// The server's GraphQL WebSocket URL.
fn ws_url(s: &TestServer) -> String {
    format!("{}/graphql/ws", s.base.replacen("http://", "ws://", 1))
}

/// How a socket the test expected the server to close actually ended.
#[derive(Debug)]
enum Ending {
    /// The server sent a close frame with this code and reason.
    Closed(u16, String),
    /// Anything else (still open, dropped without a close frame, an error), described
    /// (read through `Debug` in failure messages).
    Other(#[allow(dead_code)] String),
}

impl Ending {
    fn code(&self) -> Option<u16> {
        match self {
            Ending::Closed(code, _) => Some(*code),
            Ending::Other(_) => None,
        }
    }
}

/// A `graphql-transport-ws` connection.
struct Gws {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Gws {
    /// Connects asking for the `graphql-transport-ws` subprotocol and checks the server
    /// picked it.
    async fn connect(s: &TestServer) -> Self {
        let mut req = ws_url(s).into_client_request().expect("ws request");
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (ws, resp) = tokio_tungstenite::connect_async(req)
            .await
            .expect("WebSocket upgrade at /graphql/ws");
        assert_eq!(
            resp.headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok()),
            Some("graphql-transport-ws"),
            "the server must select the graphql-transport-ws subprotocol"
        );
        Self { ws }
    }

    async fn send_text(&mut self, text: String) {
        self.ws
            .send(Message::text(text))
            .await
            .expect("WebSocket send");
    }

    async fn send(&mut self, msg: Value) {
        self.send_text(msg.to_string()).await;
    }

    /// The next protocol message (WebSocket ping/pong frames skipped); panics on a close,
    /// the end of the stream, or `MESSAGE_WAIT` of silence.
    async fn recv(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(MESSAGE_WAIT, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("no message within {MESSAGE_WAIT:?}"));
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(text.as_str())
                        .unwrap_or_else(|_| panic!("message is not JSON: {text}"))
                }
                Some(Ok(Message::Close(frame))) => {
                    panic!("the server closed the socket: {frame:?}")
                }
                Some(Ok(Message::Binary(b))) => panic!("unexpected binary message: {b:?}"),
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("WebSocket error: {e}"),
                None => panic!("the socket ended"),
            }
        }
    }

    /// Like `recv`, but `None` after `wait` of silence.
    async fn recv_within(&mut self, wait: Duration) -> Option<Value> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = tokio::time::timeout(left, self.ws.next()).await.ok()?;
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Some(
                        serde_json::from_str(text.as_str())
                            .unwrap_or_else(|_| panic!("message is not JSON: {text}")),
                    )
                }
                Some(Ok(Message::Close(frame))) => {
                    panic!("the server closed the socket: {frame:?}")
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("WebSocket error: {e}"),
                None => panic!("the socket ended"),
            }
        }
    }

    /// `connection_init` with this key; asserts `connection_ack`.
    async fn init(&mut self, key: &str) {
        self.send(json!({
            "type": "connection_init",
            "payload": { "authorization": format!("Bearer {key}") },
        }))
        .await;
        let ack = self.recv().await;
        assert_eq!(
            ack["type"], "connection_ack",
            "expected connection_ack: {ack}"
        );
    }

    async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({
            "id": id,
            "type": "subscribe",
            "payload": { "query": query, "variables": variables },
        }))
        .await;
    }

    /// A ping/pong round trip, then a short pause: the subscriptions sent before are
    /// registered on the server by then.
    async fn settle(&mut self) {
        self.send(json!({ "type": "ping" })).await;
        let pong = self.recv().await;
        assert_eq!(pong["type"], "pong", "expected pong: {pong}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    /// Sends a ping and returns the messages that arrived before its pong.
    async fn until_pong(&mut self) -> Vec<Value> {
        self.send(json!({ "type": "ping" })).await;
        let mut before = Vec::new();
        loop {
            let msg = self.recv().await;
            if msg["type"] == "pong" {
                return before;
            }
            before.push(msg);
        }
    }

    /// Reads subscription `id`'s `next` payloads until its `complete`; panics on an
    /// `error` message, GraphQL errors or messages of other subscriptions.
    async fn run_events_until_complete(&mut self, id: &str) -> Vec<Ev> {
        let mut events = Vec::new();
        loop {
            let msg = self.recv().await;
            assert_eq!(msg["id"], id, "message of another subscription: {msg}");
            match msg["type"].as_str() {
                Some("next") => {
                    let payload = &msg["payload"];
                    assert!(
                        payload.get("errors").is_none(),
                        "next with errors: {payload}"
                    );
                    events.push(Ev::from_gql(&payload["data"]["runEvents"]));
                }
                Some("complete") => return events,
                _ => panic!("unexpected message for subscription {id}: {msg}"),
            }
        }
    }

    /// Reads until the server closes the socket (or `wait` passes) and says how it ended,
    /// with the messages received on the way.
    async fn ending(mut self, wait: Duration) -> Ending {
        let deadline = Instant::now() + wait;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.ws.next()).await {
                Err(_) => {
                    return Ending::Other(format!(
                        "the socket was still open after {wait:?}; messages: {seen:?}"
                    ))
                }
                Ok(Some(Ok(Message::Close(Some(frame))))) => {
                    return Ending::Closed(u16::from(frame.code), frame.reason.to_string())
                }
                Ok(Some(Ok(Message::Close(None)))) => {
                    return Ending::Other(format!(
                        "a close frame without a code; messages: {seen:?}"
                    ))
                }
                Ok(Some(Ok(Message::Text(text)))) => seen.push(text.to_string()),
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => {
                    return Ending::Other(format!(
                        "a WebSocket error without a close frame: {e}; messages: {seen:?}"
                    ))
                }
                Ok(None) => {
                    return Ending::Other(format!(
                        "the socket ended without a close frame; messages: {seen:?}"
                    ))
                }
            }
        }
    }
}

/// Asserts the socket was closed with `code` (what the graphql-transport-ws protocol
/// requires for `case`).
fn assert_closed_with(ending: &Ending, code: u16, case: &str) {
    assert_eq!(
        ending.code(),
        Some(code),
        "graphql-transport-ws: {case} must close the socket with {code}; the server: {ending:?}"
    );
}

// ---------------------------------------------------------------------------------
// 1. The npm graphql-ws client
// ---------------------------------------------------------------------------------

/// The unmodified `graphql-ws` client follows a slow run live: every event in order,
/// seq from 1, tokens giving the input back, and the subscription completes after
/// `run.completed`.
#[tokio::test]
async fn npm_graphql_ws_client_follows_a_run_to_completion() {
    let version = run(
        Command::new("node").arg("--version"),
        "node (Node.js is required for this test)",
        Duration::from_secs(30),
    )
    .await;
    assert!(
        version.status.success(),
        "`node --version` failed\n{}",
        show(&version)
    );
    let dir = node_dir();
    ensure_node_modules().await;

    let s = TestServer::start().await;
    let api = s.api();
    let agent = echo_agent(&api, "slow echo", 30).await;
    let input = sentence(40);
    let run_id = trigger(&api, &agent, &input).await;

    let output = run(
        Command::new("node")
            .arg(dir.join("ws-client.mjs"))
            .arg(ws_url(&s))
            .arg(&s.admin_key)
            .arg(&run_id)
            .current_dir(&dir),
        "node tests/graphql-http/ws-client.mjs",
        Duration::from_secs(60),
    )
    .await;
    let report = show(&output);
    assert!(
        output.status.success(),
        "the graphql-ws client did not complete the subscription\n{report}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}\n{report}")))
        .collect();
    for line in &lines {
        assert_eq!(line["runId"], run_id.as_str(), "runId of {line}");
        assert!(line["createdAt"].is_string(), "createdAt of {line}");
    }
    let events: Vec<Ev> = lines.iter().map(Ev::from_gql).collect();
    assert_whole_run(&events, &input, "graphql-ws client");
}

// ---------------------------------------------------------------------------------
// 2. graphql-transport-ws by hand
// ---------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------
// 3. runUpdates
// ---------------------------------------------------------------------------------

/// `(run id, status, output)` of the `runUpdates` payloads of subscription `id` read so
/// far, appended to `into`; returns once `until` says so.
async fn read_updates(
    ws: &mut Gws,
    into: &mut Vec<(String, Value)>,
    until: impl Fn(&[(String, Value)]) -> bool,
) {
    while !until(into) {
        let msg = ws.recv().await;
        assert_eq!(msg["type"], "next", "unexpected message: {msg}");
        let payload = &msg["payload"];
        assert!(payload.get("errors").is_none(), "errors: {payload}");
        into.push((
            msg["id"].as_str().expect("id").to_owned(),
            payload["data"]["runUpdates"].clone(),
        ));
    }
}

fn has_completed(updates: &[(String, Value)], sub: &str, run_id: &str) -> bool {
    updates
        .iter()
        .any(|(id, run)| id == sub && run["id"] == run_id && run["status"] == "COMPLETED")
}

/// `runUpdates` delivers the organisation's own run going through `running` to
/// `completed` (with its output), honours `filter`, and never delivers another
/// organisation's runs.
#[tokio::test]
async fn ws_run_updates_streams_own_org_status_changes_only() {
    let s = TestServer::start().await;
    let api = s.api();
    let reader_key = s.key(&s.org_id, &["runs:read"], false).await;
    let (_, other_key) = s.new_org("enterprise").await;
    let other = s.api_with(Some(&other_key));
    let agent = echo_agent(&api, "mine", 30).await;
    let other_agent = echo_agent(&other, "theirs", 0).await;

    let mut mine = Gws::connect(&s).await;
    mine.init(&reader_key).await;
    mine.subscribe("all", UPDATES_SUB, json!({})).await;
    mine.subscribe(
        "completed",
        UPDATES_SUB,
        json!({ "filter": { "status": ["COMPLETED"] } }),
    )
    .await;
    mine.settle().await;
    let mut theirs = Gws::connect(&s).await;
    theirs.init(&other_key).await;
    theirs.subscribe("all", UPDATES_SUB, json!({})).await;
    theirs.settle().await;

    // The other organisation's run, followed to its end on its own socket.
    let their_run = trigger(&other, &other_agent, "not for you").await;
    let mut their_updates = Vec::new();
    read_updates(&mut theirs, &mut their_updates, |u| {
        has_completed(u, "all", &their_run)
    })
    .await;

    // Our run.
    let input = sentence(8);
    let my_run = trigger(&api, &agent, &input).await;
    let mut my_updates = Vec::new();
    read_updates(&mut mine, &mut my_updates, |u| {
        has_completed(u, "all", &my_run) && has_completed(u, "completed", &my_run)
    })
    .await;
    // Anything late would show up here.
    while let Some(msg) = mine.recv_within(Duration::from_millis(300)).await {
        my_updates.push((
            msg["id"].as_str().unwrap_or_default().to_owned(),
            msg["payload"]["data"]["runUpdates"].clone(),
        ));
    }
    while let Some(msg) = theirs.recv_within(Duration::from_millis(300)).await {
        their_updates.push((
            msg["id"].as_str().unwrap_or_default().to_owned(),
            msg["payload"]["data"]["runUpdates"].clone(),
        ));
    }
    println!("my updates: {my_updates:?}\ntheir updates: {their_updates:?}");

    assert!(
        my_updates
            .iter()
            .all(|(_, run)| run["id"] != their_run.as_str()),
        "another organisation's run was delivered: {my_updates:?}"
    );
    assert!(
        their_updates
            .iter()
            .all(|(_, run)| run["id"] != my_run.as_str()),
        "another organisation's run was delivered: {their_updates:?}"
    );
    let statuses: Vec<&str> = my_updates
        .iter()
        .filter(|(sub, run)| sub == "all" && run["id"] == my_run.as_str())
        .map(|(_, run)| run["status"].as_str().expect("status"))
        .collect();
    assert!(
        statuses.contains(&"RUNNING"),
        "statuses of the run: {statuses:?}"
    );
    assert_eq!(
        statuses.last(),
        Some(&"COMPLETED"),
        "statuses of the run: {statuses:?}"
    );
    let running = statuses
        .iter()
        .position(|s| *s == "RUNNING")
        .expect("running");
    let completed = statuses
        .iter()
        .position(|s| *s == "COMPLETED")
        .expect("completed");
    assert!(
        running < completed,
        "running before completed: {statuses:?}"
    );
    let completed_run = my_updates
        .iter()
        .find(|(sub, run)| {
            sub == "all" && run["id"] == my_run.as_str() && run["status"] == "COMPLETED"
        })
        .map(|(_, run)| run)
        .expect("completed update");
    assert_eq!(completed_run["output"], input.as_str(), "{completed_run}");
    assert_eq!(completed_run["agentId"], agent.as_str(), "{completed_run}");
    let filtered: Vec<&Value> = my_updates
        .iter()
        .filter(|(sub, _)| sub == "completed")
        .map(|(_, run)| run)
        .collect();
    assert!(
        filtered.iter().all(|run| run["status"] == "COMPLETED"),
        "filter status [completed] let other statuses through: {filtered:?}"
    );
    assert_eq!(filtered.len(), 1, "one completed update: {filtered:?}");
}

// ---------------------------------------------------------------------------------
// 4. graphql-sse
// ---------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------
// 5. REST SSE fan-out
// ---------------------------------------------------------------------------------

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
