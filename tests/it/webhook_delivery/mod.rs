//! Webhook delivery (issue 9): run endings leave the server as signed Standard Webhooks
//! deliveries, retried on a schedule, never lost, never with two ids. Receivers are real
//! local HTTP servers; every signature is checked with the unmodified reference library
//! (npm `standardwebhooks`, tests/webhooks/verify.mjs). Endpoints are written into the
//! database directly until the endpoints API lands (`common::webhooks_db`).

mod endings;
mod failures;
mod instances;
mod load;
mod restart;
mod through_the_api;

use crate::node::{run, show};
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::Response;
use orchstack::config::Config;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::process::Command;
use tokio::sync::Notify;

/// Test-sized retries: 50 ms apart, no jitter, eight waits; quick polling.
pub(crate) fn quick(c: &mut Config) {
    c.webhooks.schedule = vec![Duration::from_millis(50); 8];
    c.webhooks.jitter = 0.0;
    c.webhooks.poll_interval = Duration::from_millis(20);
    c.webhooks.timeout = Duration::from_secs(5);
}

/// One request a receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Got {
    pub(crate) headers: Value,
    pub(crate) body: String,
    pub(crate) at: Instant,
}

impl Got {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers[name].as_str().unwrap_or("")
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

/// How a receiver answers one request.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) wait_ms: u64,
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl Answer {
    pub(crate) fn status(status: u16) -> Self {
        Self {
            status,
            wait_ms: 0,
            headers: Vec::new(),
        }
    }
}

type Script = Arc<dyn Fn(usize) -> Answer + Send + Sync>;

/// A receiver on 127.0.0.1 that answers request `n` (from 0) with `script(n)` and records
/// every request (also the ones answered with a failure).
pub(crate) struct Receiver {
    pub(crate) url: String,
    got: Arc<Mutex<Vec<Got>>>,
    arrived: Arc<Notify>,
    pub(crate) max_in_flight: Arc<AtomicUsize>,
}

impl Receiver {
    pub(crate) async fn start(script: impl Fn(usize) -> Answer + Send + Sync + 'static) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        Self::on(listener, script)
    }

    /// A receiver on a listener the test bound (a port that refused connections until now).
    pub(crate) fn on(
        listener: tokio::net::TcpListener,
        script: impl Fn(usize) -> Answer + Send + Sync + 'static,
    ) -> Self {
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let got: Arc<Mutex<Vec<Got>>> = Arc::default();
        let arrived = Arc::new(Notify::new());
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let script: Script = Arc::new(script);
        let app = axum::Router::new().fallback({
            let (got, arrived) = (got.clone(), arrived.clone());
            let (in_flight, max_in_flight) = (in_flight.clone(), max_in_flight.clone());
            move |headers: HeaderMap, body: Bytes| {
                let (got, arrived, script) = (got.clone(), arrived.clone(), script.clone());
                let (in_flight, max_in_flight) = (in_flight.clone(), max_in_flight.clone());
                async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    max_in_flight.fetch_max(now, Ordering::SeqCst);
                    let mut h = serde_json::Map::new();
                    for (k, v) in &headers {
                        h.insert(k.to_string(), json!(v.to_str().unwrap_or("")));
                    }
                    let n = {
                        let mut got = got.lock().unwrap();
                        got.push(Got {
                            headers: Value::Object(h),
                            body: String::from_utf8_lossy(&body).into_owned(),
                            at: Instant::now(),
                        });
                        got.len() - 1
                    };
                    arrived.notify_waiters();
                    let answer = script(n);
                    tokio::time::sleep(Duration::from_millis(answer.wait_ms)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    let mut res = Response::builder().status(answer.status);
                    for (k, v) in answer.headers {
                        res = res.header(k, v);
                    }
                    res.body(axum::body::Body::from("received")).unwrap()
                }
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            got,
            arrived,
            max_in_flight,
        }
    }

    pub(crate) fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived (`secs` at most); returns them all.
    pub(crate) async fn wait_for(&self, n: usize, secs: u64) -> Vec<Got> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let wake = self.arrived.notified();
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "the receiver got {} requests, not {n}, within {secs} s",
                got.len()
            );
            let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), wake).await;
        }
    }
}

/// Polls `check` until it returns `Some` (`secs` at most).
pub(crate) async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "not {what} within {secs} s");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn verifier_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/webhooks")
}

/// Installs the verifier's npm package when missing (node_modules is gitignored; CI
/// runs `npm ci` there first).
async fn ensure_verifier() {
    let dir = verifier_dir();
    let installed = dir.join("node_modules/standardwebhooks/package.json");
    if installed.exists() {
        return;
    }
    let output = run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir),
        "npm ci in tests/webhooks",
        Duration::from_secs(300),
    )
    .await;
    assert!(output.status.success(), "npm ci failed\n{}", show(&output));
}

/// Verifies each (secret, request) with the Standard Webhooks reference library; the
/// library's verdict per request (`ok` or `fail: ...`).
pub(crate) async fn verify(items: &[(&str, &Got)]) -> Vec<String> {
    ensure_verifier().await;
    let input: String = items
        .iter()
        .map(|(secret, got)| {
            json!({ "secret": secret, "headers": got.headers, "body": got.body }).to_string() + "\n"
        })
        .collect();
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), input).expect("write the verifier's input");
    let stdin = std::fs::File::open(file.path()).expect("open the input");
    let output = run(
        Command::new("node")
            .arg(verifier_dir().join("verify.mjs"))
            .stdin(stdin)
            .current_dir(verifier_dir()),
        "node tests/webhooks/verify.mjs (Node.js is required)",
        Duration::from_secs(60),
    )
    .await;
    assert!(output.status.success(), "{}", show(&output));
    let verdicts: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(verdicts.len(), items.len(), "{}", show(&output));
    verdicts
}

/// Asserts that the reference library accepts every request with `secret`.
pub(crate) async fn assert_signed(secret: &str, got: &[Got]) {
    let items: Vec<(&str, &Got)> = got.iter().map(|g| (secret, g)).collect();
    let verdicts = verify(&items).await;
    for (v, g) in verdicts.iter().zip(got) {
        assert_eq!(v, "ok", "signature rejected: {:?} {}", g.headers, g.body);
    }
}
