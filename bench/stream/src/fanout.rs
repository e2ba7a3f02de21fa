//! `fanout`: one slow run streamed to N concurrent subscribers, over GraphQL-SSE
//! (`POST /graphql/stream`, `runEvents { seq type createdAt }`, the default) or REST SSE
//! (`GET /v1/runs/:id/events`, `--transport rest`).
//!
//! The run must not start before every subscriber is connected, so it is queued behind a
//! "blocker" run of the same conversation (`session_id`): a worker never starts a run
//! while another run of its conversation is running. Once N subscribers have each
//! received the replayed `run.created` event (so the server holds N live readers), the
//! server's RSS is read, the blocker is cancelled and the measured run starts.
//!
//! - latency: for every event received after the release, client clock − `createdAt`
//!   (the append time, server clock, same machine; `createdAt` is truncated to the
//!   millisecond, so figures are up to 1 ms high). REST events carry no timestamp: their
//!   `createdAt` comes from one GraphQL replay of the finished run;
//! - completeness: every subscriber must see seq 1, 2, ... ending with `run.completed`
//!   (GraphQL: `RUN_COMPLETED`);
//! - memory: (VmRSS with N idle subscribers − VmRSS before) / N;
//! - CPU: the server's and this process's CPU seconds while the run streams.

use crate::api::{words, Api};
use crate::stats::{round, summary, Errors};
use crate::{progress, Res, Target};
use chrono::{DateTime, Utc};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Agent with a slow mock model (`model_settings.token_delay_ms`); created when absent.
    #[arg(long)]
    agent: Option<String>,
    /// Concurrent subscribers.
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Pid of the server, for /proc/<pid>/status VmRSS.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Tokens of the measured run (one per input word).
    #[arg(long, default_value_t = 100)]
    tokens: usize,
    /// `token_delay_ms` of the agent created when --agent is absent.
    #[arg(long, default_value_t = 20)]
    token_delay_ms: u64,
    /// Subscriptions being opened at once.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// Pause between "all connected" and the idle RSS reading, in ms.
    #[arg(long, default_value_t = 1000)]
    settle_ms: u64,
    /// `graphql` (POST /graphql/stream) or `rest` (GET /v1/runs/:id/events).
    #[arg(long, value_enum, default_value = "graphql")]
    transport: Transport,
    /// Longest wait for the whole measurement, in seconds.
    #[arg(long, default_value_t = 180)]
    timeout: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    Graphql,
    Rest,
}

const SUBSCRIPTION: &str =
    "subscription($id: ID!) { runEvents(runId: $id) { seq type createdAt } }";

/// One received event.
struct Received {
    seq: i64,
    kind: String,
    /// Client clock at receipt.
    at: DateTime<Utc>,
    /// Received after the release (a live event, not the replayed `run.created`).
    live: bool,
    /// `createdAt` (GraphQL only).
    created: Option<String>,
}

/// What one subscriber saw.
#[derive(Default)]
struct Seen {
    events: Vec<Received>,
    completed: bool,
    error: Option<String>,
}

/// VmRSS of `pid` in KiB.
fn rss_kib(pid: u32) -> Res<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status"))
}

/// User + system CPU seconds of `pid` ("self" for this process), from /proc/<pid>/stat.
fn cpu_s(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

struct Shared {
    api: Api,
    transport: Transport,
    run: String,
    body: Value,
    connect: Semaphore,
    connected: AtomicUsize,
    all_connected: Notify,
    released: AtomicBool,
    want: usize,
}

async fn subscriber(shared: Arc<Shared>) -> Seen {
    let mut seen = Seen::default();
    let mut permit = shared.connect.acquire().await.ok();
    let mut counted = false;
    let req = match shared.transport {
        Transport::Graphql => shared.api.post_sse("/graphql/stream", &shared.body),
        Transport::Rest => shared
            .api
            .get(&format!("/v1/runs/{}/events", shared.run))
            .header(reqwest::header::ACCEPT, "text/event-stream"),
    };
    let resp = match req.send().await {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            seen.error = Some(format!("HTTP {}", r.status().as_u16()));
            return finish(&shared, seen, counted);
        }
        Err(e) => {
            seen.error = Some(format!("connect: {e}"));
            return finish(&shared, seen, counted);
        }
    };
    let mut stream = resp.bytes_stream().eventsource();
    while let Some(item) = stream.next().await {
        let at = Utc::now();
        let live = shared.released.load(Ordering::Acquire);
        let event = match item {
            Ok(e) => e,
            Err(e) => {
                seen.error = Some(format!("stream: {e}"));
                break;
            }
        };
        let received = match shared.transport {
            Transport::Graphql => {
                match event.event.as_str() {
                    "next" => {}
                    "complete" => break,
                    other => {
                        seen.error = Some(format!("unexpected SSE event `{other}`"));
                        break;
                    }
                }
                let v: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
                if let Some(errors) = v.get("errors") {
                    seen.error = Some(format!("GraphQL errors: {errors}"));
                    break;
                }
                let item = &v["data"]["runEvents"];
                Received {
                    seq: item["seq"].as_i64().unwrap_or(-1),
                    kind: item["type"].as_str().unwrap_or("").to_owned(),
                    at,
                    live,
                    created: item["createdAt"].as_str().map(str::to_owned),
                }
            }
            Transport::Rest => {
                if event.event == "error" {
                    seen.error = Some(format!("error event: {}", event.data));
                    break;
                }
                Received {
                    seq: event.id.parse().unwrap_or(-1),
                    kind: event.event,
                    at,
                    live,
                    created: None,
                }
            }
        };
        // REST spells the kind `run.completed`; GraphQL's `RunEventType` `RUN_COMPLETED`.
        if received.kind == "run.completed" || received.kind == "RUN_COMPLETED" {
            seen.completed = true;
        }
        seen.events.push(received);
        if !counted {
            // The server now holds this subscriber's reader: let the next one connect.
            counted = true;
            permit.take();
            if shared.connected.fetch_add(1, Ordering::AcqRel) + 1 == shared.want {
                shared.all_connected.notify_one();
            }
        }
        if seen.completed && shared.transport == Transport::Rest {
            break;
        }
    }
    finish(&shared, seen, counted)
}

/// `createdAt` of every event of a finished run, by seq, from one GraphQL replay.
async fn append_times(api: &Api, run: &str) -> Res<HashMap<i64, String>> {
    let body = json!({ "query": SUBSCRIPTION, "variables": { "id": run } });
    let resp = api
        .post_sse("/graphql/stream", &body)
        .send()
        .await
        .map_err(|e| format!("replay: {e}"))?;
    let mut times = HashMap::new();
    let mut stream = resp.bytes_stream().eventsource();
    while let Some(ev) = stream.next().await {
        let ev = ev.map_err(|e| format!("replay: {e}"))?;
        if ev.event != "next" {
            break;
        }
        let v: Value = serde_json::from_str(&ev.data).unwrap_or(Value::Null);
        let item = &v["data"]["runEvents"];
        if let (Some(seq), Some(at)) = (item["seq"].as_i64(), item["createdAt"].as_str()) {
            times.insert(seq, at.to_owned());
        }
    }
    Ok(times)
}

fn finish(shared: &Shared, seen: Seen, counted: bool) -> Seen {
    if !counted && shared.connected.fetch_add(1, Ordering::AcqRel) + 1 == shared.want {
        // A failed subscriber still counts, so the benchmark does not wait for it forever.
        shared.all_connected.notify_one();
    }
    seen
}

pub async fn main(args: Args) -> Res<Value> {
    if args.subscribers == 0 || args.subscribers > 20_000 || args.tokens == 0 {
        return Err("--subscribers must be 1..=20000 and --tokens > 0".into());
    }
    let timeout = Duration::from_secs(args.timeout);
    let deadline = Instant::now() + timeout;
    let api = Api::new(&args.target, timeout + Duration::from_secs(10))?;
    let agent = match &args.agent {
        Some(a) => a.clone(),
        None => {
            let name = format!("bench-fanout-{}", Utc::now().timestamp_millis());
            let settings = json!({ "token_delay_ms": args.token_delay_ms });
            api.create_agent(&name, "mock/echo", settings).await?
        }
    };

    // The blocker runs (slowly) first; the measured run waits behind it in the session.
    let session = format!("bench-fanout-{}", Utc::now().timestamp_millis());
    let blocker = api
        .start_run(
            &agent,
            &json!({ "input": words(5000), "mode": "async", "session_id": session }),
        )
        .await?;
    let result = measure(&api, &args, &agent, &session, &blocker, deadline).await;
    // Whatever happened, do not leave the blocker streaming for minutes.
    let _ = api
        .post(&format!("/v1/runs/{blocker}/cancel"), &json!({}))
        .send()
        .await;
    result
}

async fn measure(
    api: &Api,
    args: &Args,
    agent: &str,
    session: &str,
    blocker: &str,
    deadline: Instant,
) -> Res<Value> {
    // Wait for the blocker to hold the conversation.
    loop {
        match api.run_status(blocker).await?.as_str() {
            "running" => break,
            "queued" if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            other => return Err(format!("blocker run {blocker} is {other}, not running")),
        }
    }
    let input = words(args.tokens);
    let run = api
        .start_run(
            agent,
            &json!({ "input": input, "mode": "async", "session_id": session }),
        )
        .await?;
    progress!(
        "fanout: run {run} queued behind {blocker}; opening {} subscriptions",
        args.subscribers
    );
    let rss_before = args.server_pid.map(rss_kib).transpose()?;

    let shared = Arc::new(Shared {
        api: api.clone(),
        transport: args.transport,
        run: run.clone(),
        body: json!({ "query": SUBSCRIPTION, "variables": { "id": run } }),
        connect: Semaphore::new(args.connect_concurrency.max(1)),
        connected: AtomicUsize::new(0),
        all_connected: Notify::new(),
        released: AtomicBool::new(false),
        want: args.subscribers,
    });
    let connect_start = Instant::now();
    let tasks: Vec<_> = (0..args.subscribers)
        .map(|_| tokio::spawn(subscriber(shared.clone())))
        .collect();
    let wait = deadline.saturating_duration_since(Instant::now());
    if tokio::time::timeout(wait, async {
        while shared.connected.load(Ordering::Acquire) < args.subscribers {
            // notify_one stores a permit, so a notification before this await is not lost.
            tokio::select! {
                _ = shared.all_connected.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
    })
    .await
    .is_err()
    {
        for t in &tasks {
            t.abort();
        }
        return Err(format!(
            "only {} of {} subscribers connected in time",
            shared.connected.load(Ordering::Acquire),
            args.subscribers
        ));
    }
    let connect_s = connect_start.elapsed().as_secs_f64();
    progress!(
        "fanout: {} subscribers connected in {connect_s:.2}s",
        args.subscribers
    );
    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    let rss_idle = args.server_pid.map(rss_kib).transpose()?;
    if api.run_status(&run).await? != "queued" {
        return Err(format!(
            "run {run} started before the subscribers were connected"
        ));
    }

    // Release: cancel the blocker; a worker picks the measured run up.
    shared.released.store(true, Ordering::Release);
    let released_at = Instant::now();
    let server_pid = args.server_pid.map(|p| p.to_string());
    let cpu0 = (server_pid.as_deref().and_then(cpu_s), cpu_s("self"));
    let (status, v) =
        Api::send_json(api.post(&format!("/v1/runs/{blocker}/cancel"), &json!({}))).await?;
    if !status.is_success() {
        return Err(format!("cancel {blocker}: {status}: {v}"));
    }

    let mut seen = Vec::with_capacity(tasks.len());
    let mut failures = Errors::default();
    for t in tasks {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, t).await {
            Ok(Ok(s)) => seen.push(s),
            Ok(Err(e)) => failures.add(format!("task: {e}")),
            Err(_) => failures.add("timed out"),
        }
    }
    let run_s = released_at.elapsed().as_secs_f64();
    let server_cpu = server_pid
        .as_deref()
        .and_then(cpu_s)
        .zip(cpu0.0)
        .map(|(b, a)| round(b - a, 2));
    let client_cpu = cpu_s("self").zip(cpu0.1).map(|(b, a)| round(b - a, 2));
    let rss_after = args.server_pid.map(rss_kib).transpose()?;
    let replayed = match args.transport {
        Transport::Graphql => HashMap::new(),
        Transport::Rest => append_times(api, &run).await?,
    };

    // Every subscriber must have the full sequence 1..=last, ending with run.completed.
    let expected = seen
        .iter()
        .filter(|s| s.completed)
        .map(|s| s.events.len())
        .max()
        .unwrap_or(0);
    let mut complete = 0usize;
    let (mut min_events, mut max_events) = (usize::MAX, 0usize);
    let mut latencies = Vec::new();
    for s in &seen {
        min_events = min_events.min(s.events.len());
        max_events = max_events.max(s.events.len());
        let in_order = s
            .events
            .iter()
            .enumerate()
            .all(|(i, e)| e.seq == i as i64 + 1);
        if let Some(e) = &s.error {
            failures.add(e.clone());
        } else if !(s.completed && in_order && s.events.len() == expected) {
            failures.add("incomplete or out-of-order sequence");
        } else {
            complete += 1;
        }
        for e in s.events.iter().filter(|e| e.live) {
            let created = e.created.as_ref().or_else(|| replayed.get(&e.seq));
            if let Some(c) = created.and_then(|c| DateTime::parse_from_rfc3339(c).ok()) {
                let us = (e.at - c.with_timezone(&Utc))
                    .num_microseconds()
                    .unwrap_or(0);
                latencies.push(us as f64 / 1000.0);
            }
        }
    }
    let per_sub = match (rss_before, rss_idle) {
        (Some(b), Some(i)) => Some(round((i as f64 - b as f64) / args.subscribers as f64, 2)),
        _ => None,
    };
    let lat = summary(&mut latencies);
    progress!(
        "fanout: {complete}/{} complete ({expected} events each), append→client p50 {} p99 {} max {} ms; {} KiB per idle subscriber",
        args.subscribers,
        lat["p50"],
        lat["p99"],
        lat["max"],
        per_sub.map_or("?".into(), |v| v.to_string())
    );
    Ok(json!({
        "bench": "fanout",
        "agent": agent,
        "run": run,
        "transport": match args.transport { Transport::Graphql => "graphql", Transport::Rest => "rest" },
        "subscribers": args.subscribers,
        "tokens": args.tokens,
        "connect_s": round(connect_s, 3),
        "run_s": round(run_s, 3),
        "events_expected": expected,
        "events_min": if seen.is_empty() { 0 } else { min_events },
        "events_max": max_events,
        "complete_subscribers": complete,
        "errors": failures.total(),
        "error_kinds": failures.to_json(),
        "latency_ms": lat,
        "cpu_s_while_streaming": { "server": server_cpu, "client": client_cpu },
        "rss_kib": { "before": rss_before, "idle": rss_idle, "after_run": rss_after },
        "kib_per_idle_subscriber": per_sub,
    }))
}
