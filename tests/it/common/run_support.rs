//! Helpers for the run tests: local HTTP servers (an OpenAI-format model provider, HTTP
//! tools), API shortcuts and a server-sent-events reader.

use crate::common::*;
use axum::body::{Body, Bytes};
use axum::http::Uri;
use axum::response::Response;
use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use orchstack::runtime::providers::ProviderConfig;
use reqwest::Method;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Local HTTP servers: an OpenAI-format model provider and HTTP tools
// ---------------------------------------------------------------------------------------

/// What a local server answers to one request.
#[derive(Clone)]
pub(crate) enum Reply {
    /// A JSON body with this status.
    Json(u16, Value),
    /// `200 text/plain`.
    Text(&'static str),
    /// `200 text/event-stream`, one `data:` event per item, each sent as its own chunk.
    Sse(Vec<String>),
    /// Wait this many ms, then answer.
    After(u64, Box<Reply>),
}

/// A server on 127.0.0.1:0 that answers request `n` with `script(n)` and records every
/// request's path and JSON body.
pub(crate) struct Recorder {
    pub(crate) url: String,
    pub(crate) seen: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Recorder {
    pub(crate) async fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Self {
        let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let script = Arc::new(script);
        let app = axum::Router::new().fallback({
            let seen = seen.clone();
            move |uri: Uri, body: Bytes| {
                let (seen, script) = (seen.clone(), script.clone());
                async move {
                    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let n = {
                        let mut seen = seen.lock().unwrap();
                        seen.push((uri.path().to_owned(), json));
                        seen.len() - 1
                    };
                    respond(script(n)).await
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, seen }
    }

    pub(crate) fn requests(&self) -> Vec<(String, Value)> {
        self.seen.lock().unwrap().clone()
    }

    pub(crate) fn bodies(&self) -> Vec<Value> {
        self.requests().into_iter().map(|(_, b)| b).collect()
    }

    pub(crate) fn hits(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

pub(crate) async fn respond(mut reply: Reply) -> Response {
    while let Reply::After(ms, next) = reply {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        reply = *next;
    }
    let builder = Response::builder();
    match reply {
        Reply::Json(status, body) => builder
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        Reply::Text(text) => builder
            .header("content-type", "text/plain")
            .body(Body::from(text)),
        Reply::Sse(items) => {
            let chunks = items
                .into_iter()
                .map(|item| Ok::<_, Infallible>(Bytes::from(format!("data: {item}\n\n"))));
            builder
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(futures::stream::iter(chunks)))
        }
        Reply::After(..) => unreachable!(),
    }
    .expect("response")
}

/// One Chat Completions chunk.
pub(crate) fn chunk(delta: Value, finish: Option<&str>) -> String {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test",
        "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
    })
    .to_string()
}

/// A streamed answer: these content deltas, then a usage chunk (21 prompt tokens, one
/// completion token per piece) and `[DONE]`.
pub(crate) fn says(pieces: &[&str]) -> Reply {
    let mut items = vec![chunk(json!({ "role": "assistant", "content": "" }), None)];
    items.extend(pieces.iter().map(|p| chunk(json!({ "content": p }), None)));
    items.push(chunk(json!({}), Some("stop")));
    items.push(
        json!({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [],
            "usage": { "prompt_tokens": 21, "completion_tokens": pieces.len(), "total_tokens": 21 + pieces.len() },
        })
        .to_string(),
    );
    items.push("[DONE]".into());
    Reply::Sse(items)
}

/// A streamed answer that calls tools: (id, name, argument pieces) each.
pub(crate) fn calls(calls: &[(&str, &str, &[&str])]) -> Reply {
    let mut items = Vec::new();
    for (i, (id, name, pieces)) in calls.iter().enumerate() {
        items.push(chunk(
            json!({ "role": "assistant", "content": null, "tool_calls": [
                { "index": i, "id": id, "type": "function", "function": { "name": name, "arguments": "" } }
            ]}),
            None,
        ));
        for piece in pieces.iter() {
            items.push(chunk(
                json!({ "tool_calls": [{ "index": i, "function": { "arguments": piece } }] }),
                None,
            ));
        }
    }
    items.push(chunk(json!({}), Some("tool_calls")));
    items.push("[DONE]".into());
    Reply::Sse(items)
}

/// Provider `fake`: the OpenAI format at `url/v1`, with test-sized timeouts and backoff.
pub(crate) fn fake_provider(url: &str) -> ProviderConfig {
    ProviderConfig {
        connect_timeout: Duration::from_millis(1_000),
        idle_timeout: Duration::from_millis(2_000),
        max_retries: 1,
        retry_base_delay: Duration::from_millis(1),
        retry_max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_millis(50),
        ..ProviderConfig::new("openai", &format!("{url}/v1"))
    }
}

/// A URL nothing listens on (a port that was just free).
pub(crate) async fn unreachable_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/v1")
}

// ---------------------------------------------------------------------------------------
// API helpers
// ---------------------------------------------------------------------------------------

pub(crate) const ACTIVE: &[&str] = &["queued", "running", "waiting_for_approval"];

/// Creates agent "Booker" on `model` (plus the fields of `extra`) and returns its id.
pub(crate) async fn agent(api: &Api, model: &str, extra: Value) -> String {
    let mut body =
        json!({ "name": "Booker", "model": model, "instructions": "You book appointments." });
    if let Value::Object(fields) = extra {
        for (k, v) in fields {
            body[k] = v;
        }
    }
    api.post("/v1/agents", body, 201).await["id"]
        .as_str()
        .expect("agent id")
        .to_owned()
}

/// `model_settings` that make the mock wait `ms` between two tokens.
pub(crate) fn slow(ms: u64) -> Value {
    json!({ "model_settings": { "token_delay_ms": ms } })
}

/// `n` words: `"w1 w2 ... wn"` (the mock echoes it as `n` tokens).
pub(crate) fn words(n: usize) -> String {
    (1..=n)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) async fn get_run(api: &Api, id: &str) -> Value {
    api.get(&format!("/v1/runs/{id}"), 200).await
}

pub(crate) fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string `{key}` in {v}"))
}

/// Polls the run until `cond` holds (5 s at most).
pub(crate) async fn wait_until(
    api: &Api,
    id: &str,
    what: &str,
    cond: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let run = get_run(api, id).await;
        if cond(&run) {
            return run;
        }
        assert!(
            Instant::now() < deadline,
            "run {id}: not {what} within 5 s: {run}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) async fn wait_end(api: &Api, id: &str) -> Value {
    wait_until(api, id, "ended", |r| {
        !ACTIVE.contains(&r["status"].as_str().unwrap_or("queued"))
    })
    .await
}

pub(crate) fn time(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    let s = v.as_str().unwrap_or_else(|| panic!("not a timestamp: {v}"));
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// The `pointer`s of a 422 problem.
pub(crate) fn pointers(problem: &Value) -> Vec<String> {
    assert_eq!(problem["code"], "validation_failed", "{problem}");
    problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors[] in {problem}"))
        .iter()
        .map(|e| e["pointer"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Sets `field` in every stored version of an agent without the save-time checks, as
/// if the agent had been saved before a rule existed.
pub(crate) async fn overwrite_snapshot(s: &TestServer, agent: &str, field: &str, value: Value) {
    use entity::agent_versions::{ActiveModel, Column, Entity};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let versions = Entity::find()
        .filter(Column::AgentId.eq(agent))
        .all(&s.state.db)
        .await
        .expect("versions");
    for v in versions {
        let mut snapshot = v.snapshot.clone();
        snapshot[field] = value.clone();
        let mut row: ActiveModel = v.into();
        row.snapshot = sea_orm::Set(snapshot);
        Entity::update(row)
            .exec(&s.state.db)
            .await
            .expect("update version");
    }
}

// ---------------------------------------------------------------------------------------
// Server-sent events
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub(crate) struct Ev {
    pub(crate) id: i64,
    pub(crate) kind: String,
    pub(crate) data: Value,
}

pub(crate) type Events = Pin<Box<dyn Stream<Item = Ev> + Send>>;

/// Sends `req` and reads its answer as an event stream (panics on anything else).
pub(crate) async fn open(req: reqwest::RequestBuilder) -> Events {
    let res = req.send().await.expect("request sent");
    let status = res.status();
    let ctype = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if status != 200 || !ctype.starts_with("text/event-stream") {
        let body = res.text().await.unwrap_or_default();
        panic!("not an event stream: {status} {ctype}: {body}");
    }
    Box::pin(res.bytes_stream().eventsource().map(|e| {
        let e = e.expect("well-formed SSE");
        Ev {
            id: e
                .id
                .parse()
                .unwrap_or_else(|_| panic!("event without a numeric id: {e:?}")),
            kind: e.event.clone(),
            data: serde_json::from_str(&e.data)
                .unwrap_or_else(|_| panic!("data is not JSON: {e:?}")),
        }
    }))
}

/// The next event, `None` at the end of the stream; panics after 5 s of silence.
pub(crate) async fn next(events: &mut Events) -> Option<Ev> {
    tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("an event (or the end of the stream) within 5 s")
}

/// Every remaining event, up to the end of the stream.
pub(crate) async fn rest(events: &mut Events) -> Vec<Ev> {
    let mut all = Vec::new();
    while let Some(e) = next(events).await {
        all.push(e);
    }
    all
}

pub(crate) fn events_req(api: &Api, id: &str) -> reqwest::RequestBuilder {
    api.request(Method::GET, &format!("/v1/runs/{id}/events"))
}

pub(crate) fn kinds(events: &[Ev]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

pub(crate) fn ids(events: &[Ev]) -> Vec<i64> {
    events.iter().map(|e| e.id).collect()
}

pub(crate) fn deltas(events: &[Ev]) -> String {
    events
        .iter()
        .filter(|e| e.kind == "token")
        .map(|e| e.data["delta"].as_str().expect("token delta"))
        .collect()
}

/// The events of a one-step mock run that streamed `tokens` tokens.
pub(crate) fn one_step(tokens: usize) -> Vec<&'static str> {
    let mut kinds = vec!["run.created", "run.started", "step.started"];
    kinds.extend(std::iter::repeat_n("token", tokens));
    kinds.extend(["step.completed", "run.completed"]);
    kinds
}

// ---------------------------------------------------------------------------------------
// Responsiveness under attack
// ---------------------------------------------------------------------------------------

/// Runs `attack` while polling `/healthz` every 10 ms; returns the attack's result and
/// every poll's round trip (see [`crate::common::HealthLatencies::assert_responsive`]).
pub(crate) async fn healthz_during<T>(
    base: &str,
    attack: impl std::future::Future<Output = T>,
) -> (T, crate::common::HealthLatencies) {
    let http = reqwest::Client::new();
    let url = format!("{base}/healthz");
    let mut times = Vec::new();
    let mut attack = std::pin::pin!(attack);
    loop {
        tokio::select! {
            out = &mut attack => {
                assert!(!times.is_empty(), "the attack ended before /healthz was polled");
                return (out, crate::common::HealthLatencies(times));
            }
            _ = tokio::time::sleep(Duration::from_millis(10)) => {
                let t0 = Instant::now();
                let res = http.get(&url).send().await.expect("healthz answers");
                assert_eq!(res.status(), 200);
                times.push(t0.elapsed());
            }
        }
    }
}
