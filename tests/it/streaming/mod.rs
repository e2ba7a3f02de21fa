//! Streaming: the `runEvents` and `runUpdates` subscriptions over GraphQL over WebSocket
//! (`graphql-transport-ws` at `/graphql/ws`, driven both by the unmodified npm
//! `graphql-ws` client and by hand with tokio-tungstenite, including the protocol's
//! close codes), over GraphQL over SSE (graphql-sse distinct connections mode at
//! `/graphql/stream`), and the REST SSE route `GET /v1/runs/{id}/events` under 200
//! concurrent subscribers.
//!
//! Runs use `mock/echo` agents, which stream their input back token by token;
//! `model_settings.token_delay_ms` keeps a run going long enough to be followed live.

mod npm_client;
mod run_updates;
mod sse;
mod ws;

use crate::common::*;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
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
