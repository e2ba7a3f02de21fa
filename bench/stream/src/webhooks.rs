//! `webhooks`: the delivery benchmarks of `bench/webhooks.sh` (issue 9).
//!
//! - `produce`: subscribes an endpoint (`POST /v1/webhooks`) on `--port` to
//!   `agent.run.completed`, then queues `--events` async runs and waits until they all
//!   ended. Run with the server's delivery workers off, it leaves that many deliveries
//!   waiting in the outbox. Prints `{"endpoint_id", "secret"}`.
//! - `receive`: a receiver on `--port` that verifies every delivery's Standard Webhooks
//!   signature, fails `--fail-rate` of the attempts at random (HTTP 500), and stops once
//!   `--expect` distinct events were accepted. Reports deliveries/s (first request → last
//!   distinct acceptance), attempts, ids per run (must be 1), bad signatures, and the
//!   latency from each event's `timestamp` (written in the commit that records it) to its
//!   first attempt.
//! - `live`: the receiver in-process (no failures), an endpoint subscribed, async runs
//!   posted for `--duration` s: the same latency figures while runs are being made, and
//!   the runs/s of that load, for comparison with a `runs --mode async` made without an
//!   endpoint. The endpoint is deleted at the end.

use crate::api::Api;
use crate::stats::{round, summary};
use crate::{progress, Res, Target};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

#[derive(clap::Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    target: Target,
    /// Where the receiver will listen (127.0.0.1).
    #[arg(long)]
    port: u16,
    /// Runs to make (one `agent.run.completed` event each).
    #[arg(long, default_value_t = 10_000)]
    events: usize,
    /// Requests in flight while queueing runs.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Longest wait for the runs to end, in seconds.
    #[arg(long, default_value_t = 600.0)]
    drain_timeout: f64,
}

#[derive(clap::Args)]
pub struct ReceiveArgs {
    /// Port to listen on (127.0.0.1).
    #[arg(long)]
    port: u16,
    /// The endpoint's signing secret (`whsec_...`).
    #[arg(long)]
    secret: String,
    /// Distinct events to accept before reporting.
    #[arg(long)]
    expect: usize,
    /// Fraction of attempts answered 500 at random.
    #[arg(long, default_value_t = 0.0)]
    fail_rate: f64,
    /// Longest wait, in seconds.
    #[arg(long, default_value_t = 600.0)]
    timeout: f64,
}

#[derive(clap::Args)]
pub struct LiveArgs {
    #[command(flatten)]
    target: Target,
    /// Port for the in-process receiver (127.0.0.1).
    #[arg(long)]
    port: u16,
    /// Agent to run (mock/echo); created when absent.
    #[arg(long)]
    agent: Option<String>,
    /// Seconds of posting async runs.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Requests in flight.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
}

/// What the receiver saw.
#[derive(Default)]
struct Seen {
    first_request: Option<Instant>,
    last_accept: Option<Instant>,
    attempts: u64,
    failed_on_purpose: u64,
    bad_signatures: u64,
    accepted: HashSet<String>,
    duplicates: u64,
    ids_per_run: HashMap<String, HashSet<String>>,
    first_attempt_ms: HashMap<String, f64>,
    rng: u64,
}

struct Receiver {
    key: Vec<u8>,
    fail_rate: f64,
    expect: usize,
    seen: Mutex<Seen>,
    done: Notify,
}

impl Receiver {
    fn new(secret: &str, fail_rate: f64, expect: usize) -> Res<Arc<Self>> {
        let b64 = secret
            .strip_prefix("whsec_")
            .ok_or("the secret must start with whsec_")?;
        let key = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("secret: {e}"))?;
        let seed = Utc::now().timestamp_nanos_opt().unwrap_or(7) as u64 | 1;
        Ok(Arc::new(Self {
            key,
            fail_rate,
            expect,
            seen: Mutex::new(Seen {
                rng: seed,
                ..Seen::default()
            }),
            done: Notify::new(),
        }))
    }

    /// Whether one of the `v1,` signatures of `headers` signs `body`.
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
        let (id, ts, sigs) = (
            h("webhook-id"),
            h("webhook-timestamp"),
            h("webhook-signature"),
        );
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return false;
        };
        mac.update(format!("{id}.{ts}.").as_bytes());
        mac.update(body);
        let expected =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        sigs.split(' ')
            .filter_map(|s| s.strip_prefix("v1,"))
            .any(|s| s == expected)
    }
}

async fn hook(
    State(r): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let now = Instant::now();
    let wall = Utc::now();
    let valid = r.verify(&headers, &body);
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut s = r.seen.lock().expect("receiver lock");
    s.first_request.get_or_insert(now);
    s.attempts += 1;
    if !valid {
        s.bad_signatures += 1;
    }
    if let Some(run) = payload["data"]["run_id"].as_str() {
        s.ids_per_run
            .entry(run.to_owned())
            .or_default()
            .insert(id.clone());
    }
    if !s.first_attempt_ms.contains_key(&id) {
        let at = payload["timestamp"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
        if let Some(at) = at {
            let ms = (wall - at.with_timezone(&Utc))
                .num_microseconds()
                .unwrap_or(0) as f64
                / 1000.0;
            s.first_attempt_ms.insert(id.clone(), ms);
        }
    }
    // xorshift64: a failure pattern no delivery can predict.
    s.rng ^= s.rng << 13;
    s.rng ^= s.rng >> 7;
    s.rng ^= s.rng << 17;
    if (s.rng % 10_000) as f64 / 10_000.0 < r.fail_rate {
        s.failed_on_purpose += 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    if !s.accepted.insert(id) {
        s.duplicates += 1;
    }
    s.last_accept = Some(now);
    if s.accepted.len() >= r.expect {
        r.done.notify_one();
    }
    StatusCode::OK
}

/// Serves the receiver on 127.0.0.1:`port` until the task is dropped.
async fn serve(r: Arc<Receiver>, port: u16) -> Res<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("bind 127.0.0.1:{port}: {e}"))?;
    let app = axum::Router::new().route("/hook", post(hook)).with_state(r);
    Ok(tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    }))
}

/// The receiver's figures.
fn report(r: &Receiver, waited: bool) -> Value {
    let s = r.seen.lock().expect("receiver lock");
    let span = match (s.first_request, s.last_accept) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => f64::NAN,
    };
    let multi = s.ids_per_run.values().filter(|ids| ids.len() > 1).count();
    let mut lat: Vec<f64> = s.first_attempt_ms.values().copied().collect();
    json!({
        "complete": waited,
        "expected": r.expect,
        "accepted": s.accepted.len(),
        "attempts": s.attempts,
        "failed_on_purpose": s.failed_on_purpose,
        "duplicates": s.duplicates,
        "runs": s.ids_per_run.len(),
        "runs_with_two_ids": multi,
        "bad_signatures": s.bad_signatures,
        "span_s": round(span, 3),
        "deliveries_per_s": round(s.accepted.len() as f64 / span, 1),
        "first_attempt_latency_ms": summary(&mut lat),
    })
}

pub async fn receive(args: ReceiveArgs) -> Res<Value> {
    let r = Receiver::new(&args.secret, args.fail_rate, args.expect)?;
    let server = serve(r.clone(), args.port).await?;
    progress!(
        "receiver on 127.0.0.1:{} expecting {} events",
        args.port,
        args.expect
    );
    let waited = tokio::time::timeout(Duration::from_secs_f64(args.timeout), r.done.notified())
        .await
        .is_ok();
    // Late retries of accepted events (at-least-once) still count as attempts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.abort();
    let mut out = report(&r, waited);
    out["bench"] = json!("webhooks-receive");
    out["fail_rate"] = json!(args.fail_rate);
    Ok(out)
}

/// Subscribes an endpoint on 127.0.0.1:`port` to `agent.run.completed`.
async fn subscribe(api: &Api, port: u16) -> Res<(String, String)> {
    let body = json!({
        "url": format!("http://127.0.0.1:{port}/hook"),
        "events": ["agent.run.completed"],
        "description": "bench",
    });
    let (status, v) = Api::send_json(api.post("/v1/webhooks", &body)).await?;
    if status.as_u16() != 201 {
        return Err(format!("POST /v1/webhooks: {status}: {v}"));
    }
    let id = v["id"].as_str().ok_or("no endpoint id")?.to_owned();
    let secret = v["secret"].as_str().ok_or("no secret")?.to_owned();
    Ok((id, secret))
}

/// Queues `n` async runs of `agent` with `conc` requests in flight.
async fn queue_runs(api: &Api, agent: &str, n: usize, conc: usize) -> Res<()> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let body = json!({ "input": "hello webhook", "mode": "async" });
    let tasks: Vec<_> = (0..conc.max(1))
        .map(|_| {
            let (api, next, body, agent) =
                (api.clone(), next.clone(), body.clone(), agent.to_owned());
            tokio::spawn(async move {
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                    api.start_run(&agent, &body).await?;
                }
                Res::Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await.map_err(|e| format!("poster: {e}"))??;
    }
    Ok(())
}

/// Waits until `agent` has no queued or running run.
async fn drain(api: &Api, agent: &str, timeout: f64) -> Res<()> {
    let active = format!("/v1/runs?status=queued,running&limit=1&agent_id={agent}");
    let deadline = Instant::now() + Duration::from_secs_f64(timeout);
    loop {
        let (status, v) = Api::send_json(api.get(&active)).await?;
        if status.as_u16() != 200 {
            return Err(format!("GET {active}: {status}: {v}"));
        }
        if v["data"].as_array().is_some_and(Vec::is_empty) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("runs still going after {timeout}s"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn produce(args: ProduceArgs) -> Res<Value> {
    let api = Api::new(&args.target, Duration::from_secs(120))?;
    let (endpoint, secret) = subscribe(&api, args.port).await?;
    let agent = api
        .create_agent(
            &format!("bench-wh-{}", Utc::now().timestamp_millis()),
            "mock/echo",
            json!({}),
        )
        .await?;
    let t0 = Instant::now();
    progress!("queueing {} runs", args.events);
    queue_runs(&api, &agent, args.events, args.concurrency).await?;
    drain(&api, &agent, args.drain_timeout).await?;
    progress!(
        "{} runs ended in {:.1}s",
        args.events,
        t0.elapsed().as_secs_f64()
    );
    Ok(
        json!({ "bench": "webhooks-produce", "endpoint_id": endpoint, "secret": secret, "agent": agent, "events": args.events }),
    )
}

pub async fn live(args: LiveArgs) -> Res<Value> {
    let api = Api::new(&args.target, Duration::from_secs(120))?;
    let agent = match &args.agent {
        Some(a) => a.clone(),
        None => {
            api.create_agent(
                &format!("bench-wh-live-{}", Utc::now().timestamp_millis()),
                "mock/echo",
                json!({}),
            )
            .await?
        }
    };
    let (endpoint, secret) = subscribe(&api, args.port).await?;
    let r = Receiver::new(&secret, 0.0, usize::MAX)?;
    let server = serve(r.clone(), args.port).await?;
    let runs =
        crate::runs::Args::for_async(args.target.clone(), agent, args.concurrency, args.duration);
    let measured = crate::runs::main(runs).await;
    // Every completed run's event should reach the receiver shortly after the drain.
    let expected = measured
        .as_ref()
        .ok()
        .and_then(|m| m["completed"].as_u64())
        .unwrap_or(0) as usize;
    let deadline = Instant::now() + Duration::from_secs(60);
    while r.seen.lock().expect("receiver lock").accepted.len() < expected
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.abort();
    let (status, v) = Api::send_json(api.delete(&format!("/v1/webhooks/{endpoint}"))).await?;
    if !status.is_success() {
        progress!("could not delete the endpoint: {status} {v}");
    }
    let mut out = report(&r, true);
    out["bench"] = json!("webhooks-live");
    out["runs"] = measured?;
    Ok(out)
}
