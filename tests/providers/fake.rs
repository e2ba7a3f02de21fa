//! A fake model provider: a real axum server on 127.0.0.1:0 that answers each request
//! with the next scripted reply (status + body, or a server-sent-event stream that can
//! pause, hang or keep pinging), and records what it was sent.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use orchstack::runtime::providers::{ChatRequest, Provider, ProviderConfig, StreamEvent};
use serde_json::Value;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// One piece of a streamed reply.
#[derive(Clone, Debug)]
pub enum Part {
    /// Raw bytes of the event stream, sent as one chunk.
    Raw(String),
    /// Wait before the next part.
    Sleep(u64),
    /// Never send anything again (the connection stays open).
    Hang,
    /// Send an SSE comment every so many ms, forever.
    PingEvery(u64),
}

/// What the server answers to one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A plain response: status, extra headers, body.
    Plain(u16, Vec<(&'static str, &'static str)>, String),
    /// `200 text/event-stream` with these parts.
    Stream(Vec<Part>),
    /// Never answer at all.
    Silence,
}

/// `data: <json>\n\n`.
pub fn data(json: Value) -> Part {
    Part::Raw(format!("data: {json}\n\n"))
}

/// `event: <name>\ndata: <json>\n\n` (Anthropic's framing).
pub fn event(json: Value) -> Part {
    let name = json["type"].as_str().unwrap_or("message").to_string();
    Part::Raw(format!("event: {name}\ndata: {json}\n\n"))
}

/// What the server saw.
#[derive(Default)]
pub struct Seen {
    /// Requests received.
    pub hits: AtomicUsize,
    /// Their paths.
    pub paths: Mutex<Vec<String>>,
    /// Their headers.
    pub headers: Mutex<Vec<HeaderMap>>,
    /// Their JSON bodies.
    pub bodies: Mutex<Vec<Value>>,
    /// Set when a streamed body was dropped before its end (the client went away).
    pub stream_dropped: AtomicBool,
}

/// A running fake provider.
pub struct Fake {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// What it saw.
    pub seen: Arc<Seen>,
}

impl Fake {
    /// Starts a server that answers request `n` (0-based) with `script(n)`.
    pub async fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Self {
        let seen = Arc::new(Seen::default());
        let script = Arc::new(script);
        let app = Router::new().fallback({
            let seen = seen.clone();
            move |uri: Uri, headers: HeaderMap, body: Bytes| {
                let (seen, script) = (seen.clone(), script.clone());
                async move {
                    let n = seen.hits.fetch_add(1, Ordering::SeqCst);
                    seen.paths.lock().unwrap().push(uri.path().to_string());
                    seen.headers.lock().unwrap().push(headers);
                    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    seen.bodies.lock().unwrap().push(json);
                    respond(script(n), seen).await
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, seen }
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.seen.hits.load(Ordering::SeqCst)
    }

    /// The JSON body of request `n`.
    pub fn body(&self, n: usize) -> Value {
        self.seen.bodies.lock().unwrap()[n].clone()
    }

    /// Header `name` of request `n`.
    pub fn header(&self, n: usize, name: &str) -> Option<String> {
        let headers = self.seen.headers.lock().unwrap();
        headers[n]
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    /// The path of request `n`.
    pub fn path(&self, n: usize) -> String {
        self.seen.paths.lock().unwrap()[n].clone()
    }
}

async fn respond(reply: Reply, seen: Arc<Seen>) -> Response {
    match reply {
        Reply::Silence => std::future::pending().await,
        Reply::Plain(status, headers, body) => {
            let mut resp = Response::builder()
                .status(StatusCode::from_u16(status).unwrap())
                .header("content-type", "application/json");
            for (k, v) in headers {
                resp = resp.header(k, v);
            }
            resp.body(Body::from(body)).unwrap()
        }
        Reply::Stream(parts) => {
            let guard = DropFlag {
                seen,
                finished: false,
            };
            let stream = futures::stream::unfold(
                (VecDeque::from(parts), guard),
                |(mut parts, mut guard)| async move {
                    loop {
                        match parts.front().cloned() {
                            None => {
                                guard.disarm();
                                return None;
                            }
                            Some(Part::Raw(text)) => {
                                parts.pop_front();
                                return Some((
                                    Ok::<_, Infallible>(Bytes::from(text)),
                                    (parts, guard),
                                ));
                            }
                            Some(Part::Sleep(ms)) => {
                                parts.pop_front();
                                tokio::time::sleep(Duration::from_millis(ms)).await;
                            }
                            Some(Part::Hang) => std::future::pending::<()>().await,
                            Some(Part::PingEvery(ms)) => {
                                tokio::time::sleep(Duration::from_millis(ms)).await;
                                let ping = Bytes::from_static(b": ping\n\n");
                                return Some((Ok(ping), (parts, guard)));
                            }
                        }
                    }
                },
            );
            Response::builder()
                .header("content-type", "text/event-stream")
                .header("cache-control", "no-cache")
                .body(Body::from_stream(stream))
                .unwrap()
        }
    }
}

/// Marks [`Seen::stream_dropped`] when a stream is dropped before its end.
struct DropFlag {
    seen: Arc<Seen>,
    finished: bool,
}

impl DropFlag {
    /// The stream reached its end: dropping it now is no disconnect.
    fn disarm(&mut self) {
        self.finished = true;
    }
}

impl Drop for DropFlag {
    fn drop(&mut self) {
        if !self.finished {
            self.seen.stream_dropped.store(true, Ordering::SeqCst);
        }
    }
}

/// A config of `kind` at `base` with test-sized timeouts and backoff.
pub fn config(kind: &str, base: &str) -> ProviderConfig {
    ProviderConfig {
        api_key: Some("sk-test".into()),
        connect_timeout: Duration::from_millis(1_000),
        idle_timeout: Duration::from_millis(2_000),
        max_retries: 2,
        retry_base_delay: Duration::from_millis(1),
        retry_max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_millis(150),
        ..ProviderConfig::new(kind, base)
    }
}

/// Streams `req` through `provider` and collects every event and the result.
pub async fn collect(
    provider: Arc<dyn Provider>,
    req: ChatRequest,
) -> (
    Result<(), orchstack::runtime::providers::ProviderError>,
    Vec<StreamEvent>,
) {
    let (tx, mut rx) = mpsc::channel(64);
    let task = tokio::spawn(async move { provider.stream(req, tx).await });
    let mut events = Vec::new();
    while let Some(event) = rx.recv().await {
        events.push(event);
    }
    (task.await.unwrap(), events)
}

/// The text of all token events, joined.
pub fn text(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Token(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// Polls `cond` until it holds or `within` passes.
pub async fn eventually(within: Duration, cond: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cond()
}
