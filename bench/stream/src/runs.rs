//! `runs`: completed runs per second with the mock provider.
//!
//! - sync: `concurrency` workers POST `mode: sync` runs back to back for `duration`
//!   seconds; a run counts when the answer is 200 with `status: completed`.
//!   runs/s = completed / (end of the last request − start).
//! - async: `concurrency` workers POST `mode: async` runs as fast as they can for
//!   `duration` seconds, then the benchmark waits until the agent has no queued or
//!   running run left. runs/s = completed / (last `completed_at` − start), both on the
//!   server's clock (same machine).

use crate::api::Api;
use crate::stats::{round, summary, Errors};
use crate::{progress, Res, Target};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Sync,
    Async,
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Agent to run (a `mock/...` model without token delay); created when absent.
    #[arg(long)]
    agent: Option<String>,
    #[arg(long, value_enum)]
    mode: Mode,
    /// Requests in flight.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Sync only: unmeasured seconds of the same load first (0 to skip).
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// The run input (the mock echoes it: one token per word).
    #[arg(long, default_value = "hello benchmark world")]
    input: String,
    /// Async only: longest wait for the queue to drain, in seconds.
    #[arg(long, default_value_t = 300.0)]
    drain_timeout: f64,
}

pub async fn main(args: Args) -> Res<Value> {
    if args.concurrency == 0 || args.duration <= 0.0 || args.duration > 3600.0 {
        return Err("--concurrency must be > 0 and --duration in (0, 3600]".into());
    }
    let api = Api::new(&args.target, Duration::from_secs(120))?;
    let agent = match &args.agent {
        Some(a) => a.clone(),
        None => {
            let name = format!("bench-runs-{}", Utc::now().timestamp_millis());
            api.create_agent(&name, "mock/echo", json!({})).await?
        }
    };
    match args.mode {
        Mode::Sync => sync(&api, &agent, &args).await,
        Mode::Async => asynchronous(&api, &agent, &args).await,
    }
}

/// One worker's tally.
#[derive(Default)]
struct Tally {
    completed: u64,
    latencies_ms: Vec<f64>,
    errors: Errors,
}

async fn sync_worker(api: Api, path: String, body: Value, until: Instant) -> Tally {
    let mut t = Tally::default();
    while Instant::now() < until {
        let t0 = Instant::now();
        match Api::send_json(api.post(&path, &body)).await {
            Ok((status, v)) if status.as_u16() == 200 && v["status"] == "completed" => {
                t.completed += 1;
                t.latencies_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            Ok((status, v)) => t.errors.add(format!(
                "{} status={}",
                status.as_u16(),
                v["status"].as_str().unwrap_or("-")
            )),
            Err(e) => t.errors.add(e),
        }
    }
    t
}

async fn sync_phase(api: &Api, agent: &str, args: &Args, secs: f64) -> (Tally, Duration) {
    let path = format!("/v1/agents/{agent}/run");
    let body = json!({ "input": args.input, "mode": "sync" });
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(secs);
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| tokio::spawn(sync_worker(api.clone(), path.clone(), body.clone(), until)))
        .collect();
    let mut total = Tally::default();
    for w in workers {
        match w.await {
            Ok(t) => {
                total.completed += t.completed;
                total.latencies_ms.extend(t.latencies_ms);
                total.errors.merge(t.errors);
            }
            Err(e) => total.errors.add(format!("worker panicked: {e}")),
        }
    }
    (total, start.elapsed())
}

async fn sync(api: &Api, agent: &str, args: &Args) -> Res<Value> {
    if args.warmup > 0.0 {
        progress!(
            "sync warm-up {}s, {} workers",
            args.warmup,
            args.concurrency
        );
        let (t, _) = sync_phase(api, agent, args, args.warmup.min(60.0)).await;
        if t.completed == 0 {
            return Err(format!(
                "warm-up completed no run; errors: {}",
                t.errors.to_json()
            ));
        }
    }
    progress!("sync {}s, {} workers", args.duration, args.concurrency);
    let (mut t, elapsed) = sync_phase(api, agent, args, args.duration).await;
    let secs = elapsed.as_secs_f64();
    let rate = t.completed as f64 / secs;
    progress!(
        "sync: {} completed in {:.2}s = {:.1} runs/s, {} errors",
        t.completed,
        secs,
        rate,
        t.errors.total()
    );
    Ok(json!({
        "bench": "runs",
        "mode": "sync",
        "agent": agent,
        "concurrency": args.concurrency,
        "duration_s": round(secs, 3),
        "completed": t.completed,
        "errors": t.errors.total(),
        "error_kinds": t.errors.to_json(),
        "runs_per_s": round(rate, 1),
        "latency_ms": summary(&mut t.latencies_ms),
    }))
}

async fn async_poster(api: Api, path: String, body: Value, until: Instant) -> (u64, Errors) {
    let (mut accepted, mut errors) = (0, Errors::default());
    while Instant::now() < until {
        match Api::send_json(api.post(&path, &body)).await {
            Ok((status, _)) if status.as_u16() == 202 || status.as_u16() == 200 => accepted += 1,
            Ok((status, v)) => errors.add(format!(
                "{} {}",
                status.as_u16(),
                v["code"].as_str().unwrap_or("")
            )),
            Err(e) => errors.add(e),
        }
    }
    (accepted, errors)
}

const RUNS_PAGE: &str = "query($after: String, $filter: RunFilter) { \
    runs(first: 100, after: $after, filter: $filter) { \
      nodes { status completedAt } pageInfo { hasNextPage endCursor } } }";

async fn asynchronous(api: &Api, agent: &str, args: &Args) -> Res<Value> {
    let path = format!("/v1/agents/{agent}/run");
    let body = json!({ "input": args.input, "mode": "async" });
    // Server timestamps have millisecond precision: start on a whole millisecond.
    let start_wall = Utc::now();
    let start_ms =
        DateTime::from_timestamp_millis(start_wall.timestamp_millis()).unwrap_or(start_wall);
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(args.duration);
    progress!(
        "async: posting for {}s, {} workers",
        args.duration,
        args.concurrency
    );
    let posters: Vec<_> = (0..args.concurrency)
        .map(|_| tokio::spawn(async_poster(api.clone(), path.clone(), body.clone(), until)))
        .collect();
    let (mut accepted, mut errors) = (0u64, Errors::default());
    for p in posters {
        match p.await {
            Ok((n, e)) => {
                accepted += n;
                errors.merge(e);
            }
            Err(e) => errors.add(format!("poster panicked: {e}")),
        }
    }
    let posting = start.elapsed().as_secs_f64();
    progress!(
        "async: {accepted} accepted in {posting:.2}s ({:.0}/s), {} errors; waiting for the queue to drain",
        accepted as f64 / posting,
        errors.total()
    );

    // Drain: until the agent has no queued or running run.
    let active = format!("/v1/runs?status=queued,running&limit=1&agent_id={agent}");
    let drain_deadline = Instant::now() + Duration::from_secs_f64(args.drain_timeout);
    let mut polls = 0u64;
    let drained = loop {
        polls += 1;
        let (status, v) = Api::send_json(api.get(&active)).await?;
        if status.as_u16() != 200 {
            return Err(format!("GET {active}: {status}: {v}"));
        }
        if v["data"].as_array().is_some_and(Vec::is_empty) {
            break true;
        }
        if Instant::now() >= drain_deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let drain_end = start.elapsed().as_secs_f64();
    if !drained {
        progress!(
            "async: runs still queued/running after {}s",
            args.drain_timeout
        );
    }

    // Count this benchmark's runs by status and find the last completion.
    let filter = json!({
        "agentId": agent,
        "createdAfter": start_ms.to_rfc3339_opts(SecondsFormat::Millis, true),
    });
    let (mut completed, mut other, mut last) = (0u64, Errors::default(), None::<DateTime<Utc>>);
    let mut after = Value::Null;
    for _ in 0..100_000 {
        let data = api
            .graphql(RUNS_PAGE, json!({ "after": after, "filter": filter }))
            .await?;
        let page = &data["runs"];
        for node in page["nodes"].as_array().into_iter().flatten() {
            let status = node["status"].as_str().unwrap_or("").to_ascii_lowercase();
            if status == "completed" {
                completed += 1;
                if let Some(at) = node["completedAt"]
                    .as_str()
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                {
                    let at = at.with_timezone(&Utc);
                    last = Some(last.map_or(at, |l| l.max(at)));
                }
            } else {
                other.add(status);
            }
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let span = last
        .map(|l| (l - start_ms).num_milliseconds() as f64 / 1000.0)
        .unwrap_or(f64::NAN);
    let rate = if span > 0.0 {
        completed as f64 / span
    } else {
        0.0
    };
    progress!(
        "async: {completed} completed, last at +{span:.2}s = {rate:.1} runs/s; not completed: {}",
        other.to_json()
    );
    Ok(json!({
        "bench": "runs",
        "mode": "async",
        "agent": agent,
        "concurrency": args.concurrency,
        "duration_s": round(posting, 3),
        "accepted": accepted,
        "post_errors": errors.to_json(),
        "post_per_s": round(accepted as f64 / posting, 1),
        "drained": drained,
        "drain_end_s": round(drain_end, 3),
        "drain_polls": polls,
        "completed": completed,
        "not_completed": other.to_json(),
        "errors": errors.total() + other.total() + u64::from(!drained),
        "last_completion_s": round(span, 3),
        "runs_per_s": round(rate, 1),
    }))
}
