//! `webhooks-receiver`: a webhook receiver for `bench/webhooks.sh` (issue 9). It answers
//! at once, 2xx, or 500 for a random `--fail` fraction of attempts, and reports:
//!
//! - deliveries/s: distinct events answered 2xx / (last first-2xx − first request);
//! - whether every expected event arrived, and that no event came under two ids (the
//!   event is named by its `data.run_id`, or `data.n` for events the script inserts);
//! - commit → first attempt latency: arrival − the payload's `timestamp` (the time the
//!   outbox row was written, in its commit's transaction; same machine, same clock).
//!
//! It stops after `--expect` distinct events succeeded, or after `--duration` seconds
//! without that, or at `--timeout`.

use crate::stats::{round, summary};
use crate::{progress, Res};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// Where to listen (a 127.0.0.1 address).
    #[arg(long, default_value = "127.0.0.1:8094")]
    listen: String,
    /// Fraction of attempts answered 500 (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    fail: f64,
    /// Stop once this many distinct events were answered 2xx (0: run for `--duration`).
    #[arg(long, default_value_t = 0)]
    expect: usize,
    /// With `--expect 0`: seconds to run.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 600.0)]
    timeout: f64,
    /// With `--expect 0`: also stop once no request came for this many seconds (after
    /// the first one; 0: never).
    #[arg(long, default_value_t = 0.0)]
    idle: f64,
}

#[derive(Default)]
struct Seen {
    first: Option<Instant>,
    last: Option<Instant>,
    last_ok: Option<Instant>,
    requests: u64,
    failed_on_purpose: u64,
    /// Event key → ids it came under.
    ids: HashMap<String, HashSet<String>>,
    /// Ids answered 2xx (and how often).
    ok: HashMap<String, u32>,
    /// Ids already attempted (for the first-attempt latency).
    attempted: HashSet<String>,
    latency_ms: Vec<f64>,
}

pub async fn main(args: Args) -> Res<Value> {
    if !args.listen.starts_with("127.0.0.1:") {
        return Err("--listen must be a 127.0.0.1 address".into());
    }
    let seen = Arc::new(Mutex::new(Seen::default()));
    let fail = args.fail;
    let app = axum::Router::new().fallback({
        let seen = seen.clone();
        move |headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move { receive(&seen, &headers, &body, fail) }
        }
    });
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("bind {}: {e}", args.listen))?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    progress!("receiving on {} (fail {:.0}%)", args.listen, fail * 100.0);
    let started = Instant::now();
    let timeout = Duration::from_secs_f64(args.timeout);
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let s = seen.lock().unwrap();
        let idle = args.idle > 0.0
            && s.last
                .is_some_and(|t| t.elapsed() >= Duration::from_secs_f64(args.idle));
        let done = if args.expect > 0 {
            s.ok.len() >= args.expect
        } else {
            idle || started.elapsed() >= Duration::from_secs_f64(args.duration)
        };
        if done || started.elapsed() >= timeout {
            break;
        }
    }
    // Late duplicates (at-least-once) still count for the id check.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut s = seen.lock().unwrap();
    let events = s.ok.len();
    let elapsed = match (s.first, s.last_ok) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => 0.0,
    };
    let two_ids = s.ids.values().filter(|ids| ids.len() > 1).count();
    let repeats = s.ok.values().filter(|n| **n > 1).count();
    let mut latency = std::mem::take(&mut s.latency_ms);
    Ok(json!({
        "events_delivered": events,
        "expected": args.expect,
        "all_delivered": args.expect == 0 || events >= args.expect,
        "requests": s.requests,
        "failed_on_purpose": s.failed_on_purpose,
        "events_with_two_ids": two_ids,
        "events_delivered_twice": repeats,
        "seconds": round(elapsed, 3),
        "deliveries_per_s": if elapsed > 0.0 { round(events as f64 / elapsed, 1) } else { 0.0 },
        "commit_to_first_attempt_ms": summary(&mut latency),
    }))
}

fn receive(seen: &Mutex<Seen>, headers: &HeaderMap, body: &[u8], fail: f64) -> StatusCode {
    let now = Instant::now();
    let arrived = Utc::now();
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let payload: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let key = match (&payload["data"]["run_id"], &payload["data"]["n"]) {
        (Value::String(run), _) => run.clone(),
        (_, n) => n.to_string(),
    };
    let sent_at = payload["timestamp"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    let failing = fail > 0.0 && rand_fraction() < fail;
    let mut s = seen.lock().unwrap();
    s.first.get_or_insert(now);
    s.last = Some(now);
    s.requests += 1;
    s.ids.entry(key).or_default().insert(id.clone());
    if s.attempted.insert(id.clone()) {
        if let Some(t) = sent_at {
            let ms = (arrived - t.with_timezone(&Utc))
                .num_microseconds()
                .unwrap_or(0) as f64
                / 1000.0;
            s.latency_ms.push(ms);
        }
    }
    if failing {
        s.failed_on_purpose += 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    *s.ok.entry(id).or_default() += 1;
    s.last_ok = Some(now);
    StatusCode::OK
}

/// A uniform fraction in [0, 1) from the standard library's per-process random hasher
/// keys (no extra crate for the benchmark).
fn rand_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}
