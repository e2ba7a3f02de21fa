//! `first-token`: the latency the server adds between a model provider's first token and
//! the client's first `token` event.
//!
//! An embedded fake OpenAI-compatible server (axum on 127.0.0.1:`--fake-port`) answers
//! `POST /v1/chat/completions` with a stream: headers and an empty `role` chunk at once,
//! the first content chunk after `--first-delay-ms`, more chunks every `--gap-ms`, then
//! `finish_reason`, usage and `[DONE]`. It records the instant it hands the first content
//! chunk to the connection. The server must be started with
//! `ORCHSTACK_PROVIDERS__FAKE__KIND=openai` and
//! `ORCHSTACK_PROVIDERS__FAKE__BASE_URL=http://127.0.0.1:<fake-port>/v1`; the agent uses
//! model `fake/x`.
//!
//! Each repetition triggers a run with `POST /v1/agents/:id/run {"stream": true}`, which
//! subscribes to the run's events (REST SSE) in the same request that queues it, and
//! measures (client parsed the first `token` event) − (fake wrote the first chunk). Both
//! instants come from this process's monotonic clock.

use crate::api::Api;
use crate::stats::{summary, Errors};
use crate::{progress, Res, Target};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use axum::routing::post;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Port of the embedded fake provider on 127.0.0.1 (the server's FAKE base URL).
    #[arg(long)]
    fake_port: u16,
    /// Measured repetitions.
    #[arg(long, default_value_t = 50)]
    reps: usize,
    /// Unmeasured repetitions first.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Delay between the response headers and the first content chunk, in ms.
    #[arg(long, default_value_t = 20)]
    first_delay_ms: u64,
    /// Content chunks per answer.
    #[arg(long, default_value_t = 8)]
    chunks: usize,
    /// Delay between two content chunks, in ms.
    #[arg(long, default_value_t = 5)]
    gap_ms: u64,
    /// Agent with model `fake/x`; created when absent.
    #[arg(long)]
    agent: Option<String>,
}

/// First-chunk instants by the request's last user message (the run input).
type FirstChunks = Arc<Mutex<HashMap<String, Instant>>>;

#[derive(Clone)]
struct Fake {
    first: FirstChunks,
    first_delay: Duration,
    gap: Duration,
    chunks: usize,
}

fn sse(data: &Value) -> Result<Bytes, Infallible> {
    Ok(Bytes::from(format!("data: {data}\n\n")))
}

fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({
        "id": "chatcmpl-bench", "object": "chat.completion.chunk", "model": "x",
        "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
    })
}

async fn completions(State(fake): State<Fake>, Json(req): Json<Value>) -> Response {
    let key = req["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_owned();
    // 0: role chunk (at once), 1..=chunks: content, then finish, usage, [DONE].
    let steps = fake.chunks + 4;
    let body = futures::stream::unfold(0usize, move |i| {
        let fake = fake.clone();
        let key = key.clone();
        async move {
            if i >= steps {
                return None;
            }
            let item = if i == 0 {
                sse(&chunk(json!({ "role": "assistant", "content": "" }), None))
            } else if i <= fake.chunks {
                let delay = if i == 1 { fake.first_delay } else { fake.gap };
                tokio::time::sleep(delay).await;
                if i == 1 {
                    let mut first = fake.first.lock().unwrap_or_else(|e| e.into_inner());
                    first.insert(key, Instant::now());
                }
                sse(&chunk(json!({ "content": format!("tok{i} ") }), None))
            } else if i == fake.chunks + 1 {
                sse(&chunk(json!({}), Some("stop")))
            } else if i == fake.chunks + 2 {
                sse(&json!({
                    "id": "chatcmpl-bench", "object": "chat.completion.chunk", "model": "x",
                    "choices": [],
                    "usage": { "prompt_tokens": 5, "completion_tokens": fake.chunks, "total_tokens": fake.chunks + 5 },
                }))
            } else {
                Ok(Bytes::from_static(b"data: [DONE]\n\n"))
            };
            Some((item, i + 1))
        }
    });
    Response::builder()
        .header(CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(body))
        .unwrap_or_default()
}

/// Starts the fake provider on 127.0.0.1:`port`.
async fn start_fake(port: u16, fake: Fake) -> Res<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("fake provider: bind 127.0.0.1:{port}: {e}"))?
        // Without TCP_NODELAY, Nagle holds the first content chunk back until the
        // (delayed, up to 40 ms) ACK of the role chunk: a real provider does not do that.
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    let app = Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(fake);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            progress!("fake provider stopped: {e}");
        }
    });
    Ok(())
}

/// One run: Ok(added ms), or why it could not be measured.
async fn one(api: &Api, agent: &str, input: &str, first: &FirstChunks) -> Res<f64> {
    let path = format!("/v1/agents/{agent}/run");
    let resp = api
        .post_sse(&path, &json!({ "input": input, "stream": true }))
        .send()
        .await
        .map_err(|e| format!("request: {e}"))?;
    if !resp.status().is_success() {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        return Err(format!("POST {path}: {status}: {body}"));
    }
    let mut events = resp.bytes_stream().eventsource();
    let mut client_first = None;
    let mut end = None;
    while let Some(ev) = events.next().await {
        let ev = ev.map_err(|e| format!("stream: {e}"))?;
        if ev.event == "token" && client_first.is_none() {
            client_first = Some(Instant::now());
        }
        if matches!(
            ev.event.as_str(),
            "run.completed" | "run.failed" | "run.cancelled"
        ) {
            end = Some((ev.event, ev.data));
            break;
        }
    }
    match end {
        Some((kind, _)) if kind == "run.completed" => {}
        Some((kind, data)) => return Err(format!("{kind}: {data}")),
        None => return Err("stream ended without a terminal event".into()),
    }
    let client_first = client_first.ok_or("no token event")?;
    let provider_first = first
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(input)
        .ok_or("the fake provider was not called for this run")?;
    Ok(client_first
        .saturating_duration_since(provider_first)
        .as_secs_f64()
        * 1000.0)
}

pub async fn main(args: Args) -> Res<Value> {
    if args.fake_port == 0 || args.chunks == 0 || args.reps == 0 || args.reps > 10_000 {
        return Err("--fake-port must be set, --chunks > 0, --reps in 1..=10000".into());
    }
    let first: FirstChunks = Arc::default();
    let fake = Fake {
        first: first.clone(),
        first_delay: Duration::from_millis(args.first_delay_ms),
        gap: Duration::from_millis(args.gap_ms),
        chunks: args.chunks,
    };
    start_fake(args.fake_port, fake).await?;
    let api = Api::new(&args.target, Duration::from_secs(60))?;
    let agent = match &args.agent {
        Some(a) => a.clone(),
        None => {
            let name = format!(
                "bench-first-token-{}",
                chrono::Utc::now().timestamp_millis()
            );
            api.create_agent(&name, "fake/x", json!({})).await?
        }
    };
    progress!(
        "first-token: {} + {} warm-up runs through fake/x on 127.0.0.1:{}",
        args.reps,
        args.warmup,
        args.fake_port
    );
    let mut added = Vec::with_capacity(args.reps);
    let mut errors = Errors::default();
    let tag = chrono::Utc::now().timestamp_millis();
    for rep in 0..args.warmup + args.reps {
        let input = format!("first-token probe {tag} {rep}");
        match one(&api, &agent, &input, &first).await {
            Ok(ms) if rep >= args.warmup => added.push(ms),
            Ok(_) => {}
            Err(e) if rep >= args.warmup => errors.add(e),
            Err(e) => return Err(format!("warm-up run failed: {e}")),
        }
    }
    let lat = summary(&mut added);
    progress!(
        "first-token: added p50 {} p99 {} max {} ms; {} errors",
        lat["p50"],
        lat["p99"],
        lat["max"],
        errors.total()
    );
    Ok(json!({
        "bench": "first-token",
        "agent": agent,
        "reps": args.reps,
        "first_delay_ms": args.first_delay_ms,
        "errors": errors.total(),
        "error_kinds": errors.to_json(),
        "added_ms": lat,
    }))
}
